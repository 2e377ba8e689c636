// Nested lexer steps run on the heap instead of the call stack.

/**
 * One step of the lexer: a generator that yields each nested step it needs (its value comes back
 * as the yield's result, or its error is thrown at the yield) and returns its own value.
 */
export type Step<T> = Generator<Step<unknown>, T, unknown>;

/** Runs `step` as a nested step of the calling one: `const value = yield* call(step)`. */
export function* call<T>(step: Step<T>): Generator<Step<unknown>, T, unknown> {
  return (yield step) as T;
}

/**
 * Runs a step and the steps it asks for on an explicit stack, so that deeply nested `${…}` words
 * never overflow the call stack; errors propagate through the steps' own try/catch/finally.
 */
export function runSteps<T>(root: Step<T>): T {
  const stack: Step<unknown>[] = [root];
  let value: unknown;
  let error: { thrown: unknown } | undefined;
  for (;;) {
    const top = stack[stack.length - 1] ?? root;
    let next: IteratorResult<Step<unknown>, unknown>;
    try {
      next = error === undefined ? top.next(value) : top.throw(error.thrown);
    } catch (thrown) {
      stack.pop();
      if (stack.length === 0) throw thrown;
      value = undefined;
      error = { thrown };
      continue;
    }
    error = undefined;
    if (next.done === true) {
      stack.pop();
      if (stack.length === 0) return next.value as T;
      value = next.value;
    } else {
      stack.push(next.value);
      value = undefined;
    }
  }
}

/** A step that needs no nested step: its value, already computed. */
// eslint-disable-next-line require-yield
export function* done<T>(value: T): Step<T> {
  return value;
}

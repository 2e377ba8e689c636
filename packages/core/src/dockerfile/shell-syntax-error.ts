// The shell lexer's own errors, and the limits that keep a hostile word's cost bounded.

/** An inner lexer error; wrapped with the word by expandShellWord, like BuildKit's errors.Wrapf. */
export class ShellSyntaxError extends Error {}

/** A guard against hostile input: thrown past every handler, reported like a syntax error. */
export class LimitError extends ShellSyntaxError {}

/**
 * How deep `${…}` words and double quotes may nest. BuildKit recurses without a limit (until Go's
 * 1 GB stack gives out); here the nesting lives on the heap (see runSteps), and the cap keeps the
 * memory (about 1 KB a level) and the time of a hostile word bounded. Real Dockerfiles nest a few.
 */
export const MAX_NESTING = 10_000;

/**
 * The longest text an expansion may produce (`${X//?/…}` nested, or ARG defaults doubling each
 * other, grow exponentially); past it V8 would throw a RangeError or run out of memory.
 */
export const MAX_EXPANSION_LENGTH = 2 ** 25;

export function checkLength(text: string): void {
  if (text.length > MAX_EXPANSION_LENGTH) {
    throw new LimitError(`expansion longer than ${MAX_EXPANSION_LENGTH} characters`);
  }
}

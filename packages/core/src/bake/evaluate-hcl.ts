import { BakeError } from "../errors.js";
import { UNSUPPORTED_BAKE_FUNCTIONS, callBakeFunction, isBakeFunction } from "./bake-functions.js";
import type { HclExpression, HclValue } from "./parse-hcl.js";

/** What an expression can see: variables by name and user-defined functions. */
export interface HclScope {
  /** A variable's value, or undefined when there is none (the evaluator reports it). */
  lookup(name: string): HclValue | undefined;
  /** A user-defined `function` block, called with evaluated arguments. */
  callUser?: ((name: string, args: HclValue[], line: number) => HclValue | undefined) | undefined;
  readonly file: string;
}

/** The type name bake uses in its messages. */
export function typeName(value: HclValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** Converts a value to a string as cty does: numbers and bools convert, the rest is an error. */
export function toHclString(value: HclValue, what: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  throw new Error(`${what}: a ${typeName(value)} cannot be used as a string`);
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toFixed(0) : String(value);
}

function toNumber(value: HclValue, what: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) {
    return Number(value);
  }
  throw new Error(`${what}: ${JSON.stringify(value)} is not a number`);
}

function toBool(value: HclValue, what: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new Error(`${what}: a ${typeName(value)} is not a bool`);
}

/** Deep equality of HCL values, as `==` compares them. */
export function hclEqual(a: HclValue, b: HclValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => hclEqual(item, b[i] ?? null));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    if (Array.isArray(a) || Array.isArray(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => key in b && hclEqual(a[key] ?? null, b[key] ?? null))
    );
  }
  return false;
}

/** Evaluates an HCL expression; errors are BakeErrors naming the file and line. */
export function evaluateHcl(expression: HclExpression, scope: HclScope): HclValue {
  try {
    return evaluate(expression, scope);
  } catch (error) {
    if (error instanceof BakeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BakeError("BAKE_INVALID", message, { file: scope.file, line: expression.line });
  }
}

function child(scope: HclScope, bindings: Record<string, HclValue>): HclScope {
  return {
    file: scope.file,
    callUser: scope.callUser,
    lookup: (name) => (name in bindings ? bindings[name] : scope.lookup(name)),
  };
}

function evaluate(expression: HclExpression, scope: HclScope): HclValue {
  switch (expression.kind) {
    case "literal":
      return expression.value;
    case "template": {
      const only = expression.parts[0];
      if (expression.parts.length === 1 && only !== undefined && typeof only !== "string") {
        return evaluate(only, scope);
      }
      let text = "";
      for (const part of expression.parts) {
        if (typeof part === "string") {
          text += part;
          continue;
        }
        const value = evaluate(part, scope);
        if (value === null) throw new Error("a null value cannot be used in a template");
        text += toHclString(value, "template");
      }
      return text;
    }
    case "variable": {
      const value = scope.lookup(expression.name);
      if (value === undefined) {
        throw new BakeError("BAKE_UNDEFINED", `variable "${expression.name}" does not exist`, {
          file: scope.file,
          line: expression.line,
          hint: `Declare it with \`variable "${expression.name}" { default = "..." }\`.`,
        });
      }
      return value;
    }
    case "tuple":
      return expression.items.map((item) => evaluate(item, scope));
    case "object": {
      const result: Record<string, HclValue> = {};
      for (const entry of expression.entries) {
        const key = evaluate(entry.key, scope);
        result[toHclString(key, "object key")] = evaluate(entry.value, scope);
      }
      return result;
    }
    case "call":
      return evaluateCall(expression, scope);
    case "index": {
      const target = evaluate(expression.target, scope);
      const key = evaluate(expression.key, scope);
      return indexValue(target, key);
    }
    case "attribute": {
      const target = evaluate(expression.target, scope);
      if (target === null || typeof target !== "object" || Array.isArray(target)) {
        throw new Error(`cannot read attribute "${expression.name}" of a ${typeName(target)}`);
      }
      const value = target[expression.name];
      if (value === undefined) throw new Error(`this object has no attribute "${expression.name}"`);
      return value;
    }
    case "splat": {
      const target = evaluate(expression.target, scope);
      const items = target === null ? [] : Array.isArray(target) ? target : [target];
      return items.map((item) => evaluate(expression.each, child(scope, { "": item })));
    }
    case "unary": {
      const value = evaluate(expression.operand, scope);
      return expression.op === "!" ? !toBool(value, "!") : -toNumber(value, "-");
    }
    case "binary":
      return evaluateBinary(expression, scope);
    case "conditional": {
      const condition = toBool(evaluate(expression.condition, scope), "condition");
      return evaluate(condition ? expression.then : expression.otherwise, scope);
    }
    case "for":
      return evaluateFor(expression, scope);
    default:
      return expression satisfies never;
  }
}

function indexValue(target: HclValue, key: HclValue): HclValue {
  if (Array.isArray(target)) {
    const index = toNumber(key, "index");
    const value = target[index];
    if (value === undefined) {
      throw new Error(`index ${index} is out of range for a list of ${target.length}`);
    }
    return value;
  }
  if (target !== null && typeof target === "object") {
    const name = toHclString(key, "key");
    const value = target[name];
    if (value === undefined) throw new Error(`this map has no element "${name}"`);
    return value;
  }
  throw new Error(`a ${typeName(target)} cannot be indexed`);
}

function evaluateBinary(
  expression: Extract<HclExpression, { kind: "binary" }>,
  scope: HclScope,
): HclValue {
  const { op } = expression;
  if (op === "&&" || op === "||") {
    const left = toBool(evaluate(expression.left, scope), op);
    if (op === "&&" && !left) return false;
    if (op === "||" && left) return true;
    return toBool(evaluate(expression.right, scope), op);
  }
  const left = evaluate(expression.left, scope);
  const right = evaluate(expression.right, scope);
  switch (op) {
    case "==":
      return hclEqual(left, right);
    case "!=":
      return !hclEqual(left, right);
    case "+":
      return toNumber(left, op) + toNumber(right, op);
    case "-":
      return toNumber(left, op) - toNumber(right, op);
    case "*":
      return toNumber(left, op) * toNumber(right, op);
    case "/": {
      const divisor = toNumber(right, op);
      if (divisor === 0) throw new Error("division by zero");
      return toNumber(left, op) / divisor;
    }
    case "%":
      return toNumber(left, op) % toNumber(right, op);
    case ">":
      return toNumber(left, op) > toNumber(right, op);
    case ">=":
      return toNumber(left, op) >= toNumber(right, op);
    case "<":
      return toNumber(left, op) < toNumber(right, op);
    case "<=":
      return toNumber(left, op) <= toNumber(right, op);
    default:
      return op satisfies never;
  }
}

function evaluateFor(
  expression: Extract<HclExpression, { kind: "for" }>,
  scope: HclScope,
): HclValue {
  const collection = evaluate(expression.collection, scope);
  let pairs: [HclValue, HclValue][];
  if (Array.isArray(collection)) pairs = collection.map((item, i) => [i, item]);
  else if (collection !== null && typeof collection === "object") {
    pairs = Object.keys(collection)
      .sort()
      .map((key) => [key, collection[key] ?? null]);
  } else throw new Error(`a for expression cannot iterate over a ${typeName(collection)}`);

  const list: HclValue[] = [];
  const object: Record<string, HclValue> = {};
  const groups: Record<string, HclValue[]> = {};
  for (const [key, value] of pairs) {
    const bindings: Record<string, HclValue> = { [expression.valueVar]: value };
    if (expression.keyVar !== undefined) bindings[expression.keyVar] = key;
    const inner = child(scope, bindings);
    if (expression.condition !== undefined) {
      if (!toBool(evaluate(expression.condition, inner), "for condition")) continue;
    }
    const result = evaluate(expression.valueExpr, inner);
    if (expression.keyExpr === undefined) {
      list.push(result);
      continue;
    }
    const name = toHclString(evaluate(expression.keyExpr, inner), "for key");
    if (expression.grouped) (groups[name] ??= []).push(result);
    else if (name in object) throw new Error(`duplicate key "${name}" in the for expression`);
    else object[name] = result;
  }
  if (expression.keyExpr === undefined) return list;
  return expression.grouped ? groups : object;
}

function evaluateCall(
  expression: Extract<HclExpression, { kind: "call" }>,
  scope: HclScope,
): HclValue {
  const { name } = expression;
  // try() and can() see their arguments' errors, so they evaluate lazily.
  if (name === "try") {
    for (const arg of expression.args) {
      try {
        return evaluate(arg, scope);
      } catch {
        continue;
      }
    }
    throw new Error("try(): no expression succeeded");
  }
  if (name === "can") {
    const [arg] = expression.args;
    if (arg === undefined) throw new Error("can() takes one argument");
    try {
      evaluate(arg, scope);
      return true;
    } catch {
      return false;
    }
  }
  let args = expression.args.map((arg) => evaluate(arg, scope));
  if (expression.expand) {
    const last = args.at(-1);
    if (!Array.isArray(last)) throw new Error(`${name}(...): only a list can be expanded with ...`);
    args = [...args.slice(0, -1), ...last];
  }
  const user = scope.callUser?.(name, args, expression.line);
  if (user !== undefined) return user;
  if (isBakeFunction(name)) return callBakeFunction(name, args);
  if (UNSUPPORTED_BAKE_FUNCTIONS.includes(name)) {
    throw new BakeError(
      "BAKE_UNSUPPORTED",
      `function "${name}" is not supported by stagecraft yet`,
      {
        file: scope.file,
        line: expression.line,
        hint: "docs/bake.md lists the functions stagecraft supports; a `function` block can stand in.",
      },
    );
  }
  throw new BakeError("BAKE_UNDEFINED", `there is no function named "${name}"`, {
    file: scope.file,
    line: expression.line,
  });
}

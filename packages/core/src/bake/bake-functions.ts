import { createHash, randomUUID } from "node:crypto";
import type { HclValue } from "./parse-hcl.js";
import { hclEqual, toHclString, typeName } from "./evaluate-hcl.js";

type BakeFunction = (args: HclValue[]) => HclValue;

function str(args: HclValue[], i: number, fn: string): string {
  const value = args[i];
  if (value === undefined) throw new Error(`${fn}() needs at least ${i + 1} arguments`);
  return toHclString(value, `${fn}()`);
}

function num(args: HclValue[], i: number, fn: string): number {
  const value = args[i];
  if (typeof value === "number") return value;
  const n = Number(value);
  if (typeof value === "string" && value !== "" && !Number.isNaN(n)) return n;
  throw new Error(`${fn}(): argument ${i + 1} must be a number`);
}

function list(args: HclValue[], i: number, fn: string): HclValue[] {
  const value = args[i];
  if (!Array.isArray(value)) {
    throw new Error(`${fn}(): argument ${i + 1} must be a list, not a ${typeName(value ?? null)}`);
  }
  return value;
}

function map(args: HclValue[], i: number, fn: string): Record<string, HclValue> {
  const value = args[i];
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${fn}(): argument ${i + 1} must be a map`);
  }
  return value;
}

function distinct(values: HclValue[]): HclValue[] {
  const out: HclValue[] = [];
  for (const value of values) if (!out.some((seen) => hclEqual(seen, value))) out.push(value);
  return out;
}

function flattenDeep(values: HclValue[]): HclValue[] {
  return values.flatMap((value) => (Array.isArray(value) ? flattenDeep(value) : [value]));
}

function hash(algorithm: string): BakeFunction {
  return (args) =>
    createHash(algorithm)
      .update(str(args, 0, algorithm))
      .digest("hex");
}

/** Go's fmt verbs as HCL's format() knows them: %s %d %v %q %f %t %%. */
function format(args: HclValue[]): string {
  const spec = str(args, 0, "format");
  let next = 1;
  const pattern = /%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdvqftx%])/g;
  return spec.replace(
    pattern,
    (_m, flags: string, width: string, precision: string | undefined, verb: string) => {
      if (verb === "%") return "%";
      const value = args[next++];
      if (value === undefined) throw new Error("format(): too few arguments");
      let text: string;
      switch (verb) {
        case "d":
          text = Math.trunc(num([value], 0, "format")).toFixed(0);
          break;
        case "f":
          text = num([value], 0, "format").toFixed(precision === undefined ? 6 : Number(precision));
          break;
        case "q":
          text = JSON.stringify(toHclString(value, "format()"));
          break;
        case "x":
          text = Math.trunc(num([value], 0, "format")).toString(16);
          break;
        case "v":
          text =
            typeof value === "object" && value !== null
              ? JSON.stringify(value)
              : toHclString(value, "format()");
          break;
        default:
          text = toHclString(value, "format()");
      }
      const size = width === "" ? 0 : Number(width);
      if (flags.includes("-")) return text.padEnd(size);
      return flags.includes("0") && verb !== "s" ? text.padStart(size, "0") : text.padStart(size);
    },
  );
}

function toRegExp(pattern: string, flags = ""): RegExp {
  // RE2's (?P<name>...) is JavaScript's (?<name>...).
  return new RegExp(pattern.replace(/\(\?P</g, "(?<"), flags);
}

function regexResult(match: RegExpMatchArray): HclValue {
  if (match.groups !== undefined) return { ...match.groups };
  if (match.length > 1) return match.slice(1).map((group) => group || "");
  return match[0];
}

const FUNCTIONS: Record<string, BakeFunction> = {
  absolute: (a) => Math.abs(num(a, 0, "absolute")),
  add: (a) => num(a, 0, "add") + num(a, 1, "add"),
  and: (a) => a.every((value) => value === true),
  base64decode: (a) => Buffer.from(str(a, 0, "base64decode"), "base64").toString("utf8"),
  base64encode: (a) => Buffer.from(str(a, 0, "base64encode"), "utf8").toString("base64"),
  ceil: (a) => Math.ceil(num(a, 0, "ceil")),
  chomp: (a) => str(a, 0, "chomp").replace(/(\r\n|\n|\r)+$/, ""),
  chunklist: (a) => {
    const items = list(a, 0, "chunklist");
    const size = num(a, 1, "chunklist");
    if (size <= 0) return [items];
    const out: HclValue[] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
  },
  coalesce: (a) => {
    // cty's coalesce skips nulls only (Terraform's also skips ""; bake's does not).
    const found = a.find((value) => value !== null);
    if (found === undefined) throw new Error("coalesce(): no non-null argument");
    return found;
  },
  coalescelist: (a) => a.find((value) => Array.isArray(value) && value.length > 0) ?? [],
  compact: (a) => list(a, 0, "compact").filter((value) => value !== null && value !== ""),
  concat: (a) => a.flatMap((_value, i) => list(a, i, "concat")),
  contains: (a) => list(a, 0, "contains").some((value) => hclEqual(value, a[1] ?? null)),
  distinct: (a) => distinct(list(a, 0, "distinct")),
  divide: (a) => num(a, 0, "divide") / num(a, 1, "divide"),
  element: (a) => {
    const items = list(a, 0, "element");
    if (items.length === 0) throw new Error("element(): the list is empty");
    return items[num(a, 1, "element") % items.length] ?? null;
  },
  equal: (a) => hclEqual(a[0] ?? null, a[1] ?? null),
  flatten: (a) => flattenDeep(list(a, 0, "flatten")),
  floor: (a) => Math.floor(num(a, 0, "floor")),
  format: (a) => format(a),
  formatlist: (a) => {
    const lengths = a
      .slice(1)
      .filter(Array.isArray)
      .map((value) => value.length);
    const count = lengths.length === 0 ? 1 : Math.min(...lengths);
    return Array.from({ length: count }, (_v, i) =>
      format([
        a[0] ?? "",
        ...a.slice(1).map((value) => (Array.isArray(value) ? (value[i] ?? null) : value)),
      ]),
    );
  },
  greaterthan: (a) => num(a, 0, "greaterthan") > num(a, 1, "greaterthan"),
  greaterthanorequalto: (a) =>
    num(a, 0, "greaterthanorequalto") >= num(a, 1, "greaterthanorequalto"),
  hasindex: (a) => {
    const target = a[0];
    if (Array.isArray(target)) return num(a, 1, "hasindex") < target.length;
    return target !== null && typeof target === "object" && str(a, 1, "hasindex") in target;
  },
  indent: (a) => {
    const pad = " ".repeat(num(a, 0, "indent"));
    return str(a, 1, "indent").replace(/\n/g, `\n${pad}`);
  },
  index: (a) => {
    const found = list(a, 0, "index").findIndex((value) => hclEqual(value, a[1] ?? null));
    if (found === -1) throw new Error("index(): the value is not in the list");
    return found;
  },
  int: (a) => Math.trunc(num(a, 0, "int")),
  join: (a) => {
    const sep = str(a, 0, "join");
    return a
      .slice(1)
      .flatMap((_v, i) => list(a, i + 1, "join"))
      .map((value) => toHclString(value, "join()"))
      .join(sep);
  },
  jsondecode: (a) => JSON.parse(str(a, 0, "jsondecode")) as HclValue,
  jsonencode: (a) => JSON.stringify(a[0] ?? null),
  keys: (a) => Object.keys(map(a, 0, "keys")).sort(),
  length: (a) => {
    const value = a[0] ?? null;
    if (typeof value === "string") return Array.from(value).length;
    if (Array.isArray(value)) return value.length;
    if (value !== null && typeof value === "object") return Object.keys(value).length;
    throw new Error(`length(): a ${typeName(value)} has no length`);
  },
  lessthan: (a) => num(a, 0, "lessthan") < num(a, 1, "lessthan"),
  lessthanorequalto: (a) => num(a, 0, "lessthanorequalto") <= num(a, 1, "lessthanorequalto"),
  log: (a) => Math.log(num(a, 0, "log")) / Math.log(num(a, 1, "log")),
  lookup: (a) => {
    const value = map(a, 0, "lookup")[str(a, 1, "lookup")];
    if (value !== undefined) return value;
    if (a.length > 2) return a[2] ?? null;
    throw new Error(`lookup(): no key "${str(a, 1, "lookup")}" and no default`);
  },
  lower: (a) => str(a, 0, "lower").toLowerCase(),
  max: (a) => Math.max(...a.map((_v, i) => num(a, i, "max"))),
  md5: hash("md5"),
  merge: (a) =>
    Object.assign({}, ...a.map((_v, i) => map(a, i, "merge"))) as Record<string, HclValue>,
  min: (a) => Math.min(...a.map((_v, i) => num(a, i, "min"))),
  modulo: (a) => num(a, 0, "modulo") % num(a, 1, "modulo"),
  multiply: (a) => num(a, 0, "multiply") * num(a, 1, "multiply"),
  negate: (a) => -num(a, 0, "negate"),
  not: (a) => a[0] !== true,
  notequal: (a) => !hclEqual(a[0] ?? null, a[1] ?? null),
  or: (a) => a.some((value) => value === true),
  parseint: (a) => {
    const parsed = parseInt(str(a, 0, "parseint"), num(a, 1, "parseint"));
    if (Number.isNaN(parsed)) throw new Error("parseint(): not a number in that base");
    return parsed;
  },
  pow: (a) => num(a, 0, "pow") ** num(a, 1, "pow"),
  range: (a) => {
    const [start, end, step] =
      a.length === 1
        ? [0, num(a, 0, "range"), 1]
        : [num(a, 0, "range"), num(a, 1, "range"), a.length > 2 ? num(a, 2, "range") : 1];
    const out: number[] = [];
    if (step === 0) throw new Error("range(): the step cannot be zero");
    for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
    return out;
  },
  regex: (a) => {
    const match = toRegExp(str(a, 0, "regex")).exec(str(a, 1, "regex"));
    if (match === null) throw new Error("regex(): the pattern did not match");
    return regexResult(match);
  },
  regexall: (a) =>
    [...str(a, 1, "regexall").matchAll(toRegExp(str(a, 0, "regexall"), "g"))].map(regexResult),
  regex_replace: (a) =>
    str(a, 0, "regex_replace").replace(
      toRegExp(str(a, 1, "regex_replace"), "g"),
      str(a, 2, "regex_replace").replace(/\$\{(\w+)\}/g, "$<$1>"),
    ),
  replace: (a) => {
    const search = str(a, 1, "replace");
    const replacement = str(a, 2, "replace");
    if (search.length > 1 && search.startsWith("/") && search.endsWith("/")) {
      return str(a, 0, "replace").replace(toRegExp(search.slice(1, -1), "g"), replacement);
    }
    return str(a, 0, "replace").split(search).join(replacement);
  },
  reverse: (a) => [...list(a, 0, "reverse")].reverse(),
  reverselist: (a) => [...list(a, 0, "reverselist")].reverse(),
  sethaselement: (a) => list(a, 0, "sethaselement").some((value) => hclEqual(value, a[1] ?? null)),
  setintersection: (a) =>
    distinct(list(a, 0, "setintersection")).filter((value) =>
      a
        .slice(1)
        .every((_v, i) => list(a, i + 1, "setintersection").some((o) => hclEqual(o, value))),
    ),
  setproduct: (a) =>
    a.reduce<HclValue[][]>(
      (product, _v, i) =>
        product.flatMap((row) => list(a, i, "setproduct").map((item) => [...row, item])),
      [[]],
    ),
  setsubtract: (a) =>
    distinct(list(a, 0, "setsubtract")).filter(
      (value) => !list(a, 1, "setsubtract").some((o) => hclEqual(o, value)),
    ),
  setunion: (a) => distinct(a.flatMap((_v, i) => list(a, i, "setunion"))),
  sha1: hash("sha1"),
  sha256: hash("sha256"),
  sha512: hash("sha512"),
  signum: (a) => Math.sign(num(a, 0, "signum")),
  slice: (a) => list(a, 0, "slice").slice(num(a, 1, "slice"), num(a, 2, "slice")),
  sort: (a) =>
    list(a, 0, "sort")
      .map((value) => toHclString(value, "sort()"))
      .sort(),
  split: (a) => str(a, 1, "split").split(str(a, 0, "split")),
  strlen: (a) => Array.from(str(a, 0, "strlen")).length,
  substr: (a) => {
    const chars = Array.from(str(a, 0, "substr"));
    let offset = num(a, 1, "substr");
    if (offset < 0) offset += chars.length;
    const length = num(a, 2, "substr");
    return chars.slice(offset, length < 0 ? undefined : offset + length).join("");
  },
  subtract: (a) => num(a, 0, "subtract") - num(a, 1, "subtract"),
  timestamp: () => new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  title: (a) => str(a, 0, "title").replace(/\b\w/g, (c) => c.toUpperCase()),
  trim: (a) => {
    const cut = Array.from(str(a, 1, "trim"));
    const chars = Array.from(str(a, 0, "trim"));
    while (chars.length > 0 && cut.includes(chars[0] ?? "")) chars.shift();
    while (chars.length > 0 && cut.includes(chars.at(-1) ?? "")) chars.pop();
    return chars.join("");
  },
  trimprefix: (a) => {
    const s = str(a, 0, "trimprefix");
    const prefix = str(a, 1, "trimprefix");
    return s.startsWith(prefix) ? s.slice(prefix.length) : s;
  },
  trimspace: (a) => str(a, 0, "trimspace").trim(),
  trimsuffix: (a) => {
    const s = str(a, 0, "trimsuffix");
    const suffix = str(a, 1, "trimsuffix");
    return suffix !== "" && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
  },
  upper: (a) => str(a, 0, "upper").toUpperCase(),
  urlencode: (a) => encodeURIComponent(str(a, 0, "urlencode")).replace(/%20/g, "+"),
  uuidv4: () => randomUUID(),
  values: (a) => {
    const m = map(a, 0, "values");
    return Object.keys(m)
      .sort()
      .map((key) => m[key] ?? null);
  },
  zipmap: (a) => {
    const keys = list(a, 0, "zipmap");
    const values = list(a, 1, "zipmap");
    return Object.fromEntries(
      keys.map((key, i) => [toHclString(key, "zipmap()"), values[i] ?? null]),
    );
  },
};

/**
 * Functions of bake's standard library (buildx v0.13 `bake/hclparser/stdlib.go`) that stagecraft
 * does not implement yet; naming one is an error that says so.
 */
export const UNSUPPORTED_BAKE_FUNCTIONS: readonly string[] = [
  "bcrypt",
  "byteslen",
  "bytesslice",
  "cidrhost",
  "cidrnetmask",
  "cidrsubnet",
  "cidrsubnets",
  "convert",
  "csvdecode",
  "formatdate",
  "rsadecrypt",
  "timeadd",
  "uuidv5",
];

/** The functions stagecraft's bake evaluator implements (plus `try` and `can`). */
export const SUPPORTED_BAKE_FUNCTIONS: readonly string[] = [
  ...Object.keys(FUNCTIONS),
  "can",
  "try",
].sort();

/** True for a standard function stagecraft implements. */
export function isBakeFunction(name: string): boolean {
  return Object.hasOwn(FUNCTIONS, name);
}

/** Calls a standard function with evaluated arguments. */
export function callBakeFunction(name: string, args: HclValue[]): HclValue {
  const fn = FUNCTIONS[name];
  if (fn === undefined) throw new Error(`function "${name}" is not supported`);
  return fn(args);
}

import { toLowerGo } from "./go/strings.js";

/** How a flag takes its value, as BuildKit's `BFlags` declares it. */
export type FlagKind =
  /** `--link`, `--link=true`, `--link=FALSE`; a bare flag means true. */
  | "bool"
  /** `--from=x`; given at most once. */
  | "string"
  /** `--mount=…`; repeatable, values kept in order. */
  | "strings";

/** The flags an instruction accepts, in BuildKit's declaration order, with string defaults. */
export type FlagSpec = Readonly<Record<string, FlagKind | { kind: "string"; default: string }>>;

/** The flags an instruction was given, by name (without `--`). */
export interface ParsedFlags {
  /** Names given at least once. */
  readonly used: ReadonlySet<string>;
  /** A bool flag's value (false when absent). */
  bool(name: string): boolean;
  /** A string flag's value (its default, `""` unless declared otherwise, when absent). */
  string(name: string): string;
  /** A repeatable flag's values in order. */
  strings(name: string): readonly string[];
}

/** The outcome of {@link parseFlags}: the flags, or BuildKit's error text and the word at fault. */
export type FlagParseResult =
  | { readonly ok: true; readonly flags: ParsedFlags }
  | { readonly ok: false; readonly message: string; readonly word: string };

/**
 * Validates an instruction's `--flag` words like BuildKit's `BFlags.Parse`: unknown flags (with a
 * `did you mean` suggestion), repeated flags, missing values and bad booleans, in BuildKit's words.
 *
 * @example
 * parseFlags(["--form=build"], { from: "string" });
 * // { ok: false, message: "unknown flag: --form (did you mean from?)", word: "--form=build" }
 */
export function parseFlags(words: readonly string[], spec: FlagSpec): FlagParseResult {
  // Most instructions have no flags: nothing to validate, and no maps to make.
  if (words.length === 0) return { ok: true, flags: new GivenFlags(spec, NO_NAMES) };
  const used = new Set<string>();
  const bools = new Map<string, boolean>();
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const fail = (message: string, word: string): FlagParseResult => ({ ok: false, message, word });

  for (const word of words) {
    // POSIX: `--` ends the options; the parser normally drops it already.
    if (word === "--") break;
    if (!word.startsWith("--")) return fail(`arg should start with -- : ${word}`, word);
    const equals = word.indexOf("=");
    const flagName = equals < 0 ? word : word.slice(0, equals);
    const hasValue = equals >= 0;
    const value = hasValue ? word.slice(equals + 1) : "";
    const name = flagName.slice(2);
    const kind = kindOf(spec, name);
    if (kind === undefined) {
      const suggestion = suggestClosest(name, Object.keys(spec), true);
      return fail(withSuggestion(`unknown flag: ${flagName}`, suggestion), word);
    }
    if (used.has(name) && kind !== "strings") {
      return fail(`duplicate flag specified: ${flagName}`, word);
    }
    used.add(name);
    switch (kind) {
      case "bool": {
        // An empty value is only fine when no `=` was written.
        if (hasValue && value === "") return fail(`missing a value on flag: ${flagName}`, word);
        const lower = value.toLowerCase();
        if (lower === "true" || lower === "") bools.set(name, true);
        else if (lower === "false") bools.set(name, false);
        else return fail(`expecting boolean value for flag ${flagName}, not: ${value}`, word);
        break;
      }
      case "string":
        if (!hasValue) return fail(`missing a value on flag: ${flagName}`, word);
        strings.set(name, value);
        break;
      case "strings": {
        if (!hasValue) return fail(`missing a value on flag: ${flagName}`, word);
        const list = lists.get(name) ?? [];
        list.push(value);
        lists.set(name, list);
        break;
      }
    }
  }

  return { ok: true, flags: new GivenFlags(spec, used, bools, strings, lists) };
}

const NO_NAMES: ReadonlySet<string> = new Set();
const NO_VALUES: readonly string[] = [];

function kindOf(spec: FlagSpec, name: string): FlagKind | undefined {
  if (!Object.hasOwn(spec, name)) return undefined;
  const declared = spec[name];
  return typeof declared === "object" ? declared.kind : declared;
}

/** The flags of one instruction; one object, not a closure per accessor. */
class GivenFlags implements ParsedFlags {
  constructor(
    private readonly spec: FlagSpec,
    readonly used: ReadonlySet<string>,
    private readonly bools?: ReadonlyMap<string, boolean>,
    private readonly strings_?: ReadonlyMap<string, string>,
    private readonly lists?: ReadonlyMap<string, readonly string[]>,
  ) {}

  bool(name: string): boolean {
    return this.bools?.get(name) ?? false;
  }

  string(name: string): string {
    const given = this.strings_?.get(name);
    if (given !== undefined) return given;
    const declared = this.spec[name];
    return typeof declared === "object" ? declared.default : "";
  }

  strings(name: string): readonly string[] {
    return this.lists?.get(name) ?? NO_VALUES;
  }
}

/** Appends BuildKit's ` (did you mean x?)` when there is a suggestion. */
export function withSuggestion(message: string, suggestion: string | undefined): string {
  return suggestion === undefined ? message : `${message} (did you mean ${suggestion}?)`;
}

/**
 * BuildKit's `util/suggest.Search`: the option at the smallest Levenshtein distance below 3, none
 * when `value` equals an option. Case-insensitive search answers in the user's case (all-lower or
 * all-upper input), else lower-cased. Ties go to the earlier option (BuildKit's map order is random).
 */
export function suggestClosest(
  value: string,
  options: readonly string[],
  caseSensitive: boolean,
): string | undefined {
  const needle = caseSensitive ? value : toLowerGo(value);
  let match: string | undefined;
  let best = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : toLowerGo(option);
    if (candidate === needle) return undefined;
    const distance = levenshtein(needle, candidate);
    if (distance < best) {
      best = distance;
      match = caseSensitive ? candidate : matchCase(candidate, value);
    }
  }
  return match;
}

function matchCase(candidate: string, original: string): string {
  if (original === toLowerGo(original)) return toLowerGo(candidate);
  if (original === original.toUpperCase()) return candidate.toUpperCase();
  return candidate;
}

/** Edit distance over code points, unit costs (agext/levenshtein with default parameters). */
function levenshtein(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (left[i - 1] === right[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}

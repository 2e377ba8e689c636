import { cleanGoPath } from "../dockerfile/go/path.js";

import { isValidPathPattern } from "./match-path-pattern.js";

/** One pattern of a `PatternMatcher`, as moby/patternmatcher compiles it. */
export interface PathPattern {
  /** The pattern cleaned like Go's `filepath.Clean`, without its `!`. */
  readonly text: string;
  /** True for an exception (`!pattern`). */
  readonly exclusion: boolean;
  /** True when the pattern matches this path itself (no parent directories considered). */
  matches(path: string): boolean;
}

/** Whether a path matched, and per pattern whether it matched there (its children inherit that). */
export interface PathMatch {
  matched: boolean;
  /** One entry per pattern; pass it as the parent result when matching the path's children. */
  info: readonly boolean[];
}

/** moby/patternmatcher's `PatternMatcher`: ordered patterns where the last one that matches wins. */
export interface PatternMatcher {
  readonly patterns: readonly PathPattern[];
  /** True when some pattern is an exception (`Exclusions()`). */
  readonly hasExclusions: boolean;
  /**
   * `MatchesUsingParentResults`: matches a slash-separated context path, given the result of its
   * parent directory (undefined for a top-level path: then the parent directories are matched too).
   */
  match(path: string, parent?: PathMatch): PathMatch;
}

/** A pattern moby/patternmatcher `New` rejects, in its words. */
export class InvalidPatternError extends Error {
  readonly pattern: string;

  constructor(pattern: string, message: string) {
    super(message);
    this.name = "InvalidPatternError";
    this.pattern = pattern;
  }
}

/**
 * Compiles patterns the way moby/patternmatcher `New` does (BuildKit and the docker CLI use it for
 * `.dockerignore` and FileSync's include and exclude patterns): each is trimmed and cleaned, `!` makes
 * an exception, and a pattern `filepath.Match` finds malformed throws `InvalidPatternError`. A pattern
 * matches a whole path: `*` and `?` do not cross `/`, `**` crosses any number of directories, a pattern
 * that is a plain name or ends in `/**` compares as a string, and one that starts with `**` as a suffix.
 *
 * @example
 * const matcher = createPatternMatcher(["*", "!**\/*.log"]);
 * matcher.match("a").matched; // true
 * matcher.match("a/x.log", matcher.match("a")).matched; // false
 */
export function createPatternMatcher(patterns: readonly string[]): PatternMatcher {
  const compiled: PathPattern[] = [];
  let hasExclusions = false;
  for (const raw of patterns) {
    let text = raw.trim();
    if (text === "") continue;
    text = cleanGoPath(text);
    let exclusion = false;
    if (text.startsWith("!")) {
      if (text.length === 1) throw new InvalidPatternError(raw, 'illegal exclusion pattern: "!"');
      exclusion = true;
      hasExclusions = true;
      text = text.slice(1);
    }
    if (!isValidPathPattern(text)) throw new InvalidPatternError(raw, "syntax error in pattern");
    compiled.push({ text, exclusion, matches: compilePattern(raw, text) });
  }

  return {
    patterns: compiled,
    hasExclusions,
    match(path, parent) {
      const inherited = parent !== undefined && parent.info.length > 0 ? parent.info : undefined;
      const info = new Array<boolean>(compiled.length).fill(false);
      let matched = false;
      for (const [index, pattern] of compiled.entries()) {
        let match = inherited?.[index] === true;
        if (!match) {
          // An inclusion cannot change a path that already matched, nor an exception one that did not.
          if (pattern.exclusion !== matched) continue;
          match = pattern.matches(path);
          if (!match && inherited === undefined) match = matchesAParent(pattern, path);
        }
        info[index] = match;
        if (match) matched = !pattern.exclusion;
      }
      return { matched, info };
    },
  };
}

/** Without the parent's result, a pattern also matches a path when it matches one of its parents. */
function matchesAParent(pattern: PathPattern, path: string): boolean {
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
    if (pattern.matches(path.slice(0, slash))) return true;
  }
  return false;
}

// Characters patternmatcher escapes in its regular expression: they mean nothing in filepath.Match.
const ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

/**
 * moby/patternmatcher `Pattern.compile`: decides how the pattern compares (exactly, as a prefix, as a
 * suffix, or as a regular expression) and builds the expression. Go's `regexp` reads that expression;
 * here it becomes the JavaScript one that accepts the same paths (the `u` flag, so that `?` is one
 * character, as in Go). The few RE2 escapes with no JavaScript equal that a `\` could make in a
 * pattern (`\x41`, `\pL`, `\Q…\E`, octal, POSIX classes inside `[…]`) throw `InvalidPatternError`.
 */
function compilePattern(raw: string, text: string): (path: string) => boolean {
  const chars = Array.from(text);
  let kind: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  let source = "^";
  let inClass = false;
  let classStart = false;
  const unsupported = (what: string): InvalidPatternError =>
    new InvalidPatternError(
      raw,
      `${what} in a pattern is a regular expression to Go, which stagecraft does not read`,
    );

  for (let at = 0, step = 0; at < chars.length; at++, step++) {
    const char = chars[at] ?? "";
    const afterClassStart = classStart;
    classStart = false;
    if (char === "*") {
      if (chars[at + 1] === "*") {
        at++;
        if (chars[at + 1] === "/") at++;
        const atEnd = at + 1 >= chars.length;
        if (inClass) {
          // Inside a class Go reads the expression's characters one by one.
          source += literalInClass(atEnd ? ".*" : "(.*/)?");
        } else if (atEnd) {
          if (kind === "exact") kind = "prefix";
          else {
            source += "[^\\n]*";
            kind = "regexp";
          }
        } else {
          source += "(?:[^\\n]*/)?";
          kind = "regexp";
        }
        if (step === 0) kind = "suffix";
      } else {
        source += inClass ? `${literalInClass("[^/")}]*` : "[^/]*";
        inClass = false;
        kind = "regexp";
      }
    } else if (char === "?") {
      source += inClass ? `${literalInClass("[^/")}]` : "[^/]";
      inClass = false;
      kind = "regexp";
    } else if (ESCAPED.has(char)) {
      source += inClass ? literalInClass(char) : literal(char);
    } else if (char === "\\") {
      const next = chars[at + 1];
      if (next === undefined) {
        source += inClass ? literalInClass("\\") : literal("\\");
      } else {
        at++;
        source += escapeSequence(next, inClass, unsupported);
        kind = "regexp";
      }
    } else if (char === "[") {
      if (inClass) {
        if (chars[at + 1] === ":") throw unsupported("a POSIX class [:…:]");
        source += literalInClass("[");
      } else {
        source += "[";
        inClass = true;
        classStart = true;
      }
      kind = "regexp";
    } else if (char === "]") {
      // Go's class may start with "]" (after "[" or "[^"); elsewhere a "]" outside one is itself.
      if (inClass && !afterClassStart) {
        source += "]";
        inClass = false;
      } else {
        source += inClass ? literalInClass("]") : literal("]");
      }
      kind = "regexp";
    } else if (char === "^" && (!inClass || afterClassStart)) {
      // Go leaves "^" as it is: an anchor outside a class, a negation at its start.
      source += "^";
      if (inClass) classStart = true;
    } else if (char === "-" && inClass) {
      source += "-";
    } else {
      source += inClass ? literalInClass(char) : literal(char);
    }
  }

  switch (kind) {
    case "exact":
      return (path) => path === text;
    case "prefix": {
      const prefix = text.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = text.slice(2);
      const bare = suffix.startsWith("/") ? suffix.slice(1) : undefined;
      return (path) => path.endsWith(suffix) || path === bare;
    }
    case "regexp": {
      let expression: RegExp;
      try {
        expression = new RegExp(`${source}$`, "u");
      } catch {
        throw new InvalidPatternError(raw, "syntax error in pattern");
      }
      return (path) => expression.test(path);
    }
    default:
      return kind satisfies never;
  }
}

/** A character outside a class, as a JavaScript `u` expression reads it literally. */
function literal(char: string): string {
  return /^[\p{L}\p{N}_ /]$/u.test(char) && !isEscapedByte(char) ? char : codePointEscape(char);
}

/** Characters inside a class, each taken literally. */
function literalInClass(chars: string): string {
  return Array.from(chars, (char) =>
    /^[\p{L}\p{N}_ ]$/u.test(char) && !isEscapedByte(char) ? char : codePointEscape(char),
  ).join("");
}

function codePointEscape(char: string): string {
  return `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`;
}

function isEscapedByte(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code >= 0xdc80 && code <= 0xdcff;
}

// RE2's ASCII classes (Go `regexp/syntax` perl groups) and control escapes.
const CLASS_ESCAPES: Record<string, { outside: string; inside: string }> = {
  d: { outside: "[0-9]", inside: "0-9" },
  D: { outside: "[^0-9]", inside: "" },
  s: { outside: "[\\t\\n\\f\\r ]", inside: "\\t\\n\\f\\r " },
  S: { outside: "[^\\t\\n\\f\\r ]", inside: "" },
  w: { outside: "[0-9A-Za-z_]", inside: "0-9A-Za-z_" },
  W: { outside: "[^0-9A-Za-z_]", inside: "" },
};
const CONTROL_ESCAPES: Record<string, string> = {
  a: "\\u{7}",
  f: "\\f",
  n: "\\n",
  r: "\\r",
  t: "\\t",
  v: "\\v",
};

/** What `\` + `char` means to Go's regexp, written for JavaScript. */
function escapeSequence(
  char: string,
  inClass: boolean,
  unsupported: (what: string) => InvalidPatternError,
): string {
  const code = char.codePointAt(0) ?? 0;
  // Go: a backslash before ASCII punctuation is that character.
  if (code < 0x80 && !/[0-9A-Za-z]/.test(char)) {
    return inClass ? literalInClass(char) : codePointEscape(char);
  }
  const control = CONTROL_ESCAPES[char];
  if (control !== undefined) return control;
  const group = CLASS_ESCAPES[char];
  if (group !== undefined) {
    if (!inClass) return group.outside;
    if (group.inside === "") throw unsupported(`\\${char} inside [...]`);
    return group.inside;
  }
  if (!inClass) {
    if (char === "b") return "\\b";
    if (char === "B") return "\\B";
    if (char === "A") return "^";
    if (char === "z") return "$";
  }
  throw unsupported(`\\${char}`);
}

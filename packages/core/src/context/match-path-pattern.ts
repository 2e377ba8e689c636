/**
 * Go's `filepath.Match` on Linux, which moby/patternmatcher uses to check a pattern's syntax and
 * fsutil to expand a wildcard in a followed path: `*` any run of characters but `/`, `?` one
 * character but `/`, `[…]` a class (`[^…]` negated, `a-z` ranges), `\` escapes the next character.
 * Paths are context paths (see `context-path.ts`); an escaped byte is one character, as Go reads an
 * invalid byte as one `RuneError`.
 */

/** Thrown for a malformed pattern, with Go's `filepath.ErrBadPattern` text. */
export class BadPatternError extends Error {
  constructor() {
    super("syntax error in pattern");
    this.name = "BadPatternError";
  }
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;

/**
 * True when `name` matches `pattern` as a whole; throws `BadPatternError` for a malformed pattern,
 * even when the name already failed to match (Go checks the rest of the pattern too).
 *
 * @example
 * matchPathPattern("*.log", "debug.log"); // true
 */
export function matchPathPattern(pattern: string, name: string): boolean {
  let rest = toCodePoints(pattern);
  let text = toCodePoints(name);
  scan: while (rest.length > 0) {
    const { star, chunk, after } = scanChunk(rest);
    rest = after;
    if (star && chunk.length === 0) return !text.includes(SLASH);
    const here = matchChunk(chunk, text);
    if (here !== undefined && (here.length === 0 || rest.length > 0)) {
      text = here;
      continue;
    }
    if (star) {
      for (let skip = 0; skip < text.length && text[skip] !== SLASH; skip++) {
        const later = matchChunk(chunk, text.slice(skip + 1));
        if (later !== undefined) {
          if (rest.length === 0 && later.length > 0) continue;
          text = later;
          continue scan;
        }
      }
    }
    while (rest.length > 0) {
      const next = scanChunk(rest);
      rest = next.after;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return text.length === 0;
}

/** True when `pattern` is well formed for `filepath.Match`. */
export function isValidPathPattern(pattern: string): boolean {
  try {
    matchPathPattern(pattern, ".");
    return true;
  } catch (error) {
    if (error instanceof BadPatternError) return false;
    throw error;
  }
}

function toCodePoints(text: string): number[] {
  return Array.from(text, (char) => char.codePointAt(0) ?? 0);
}

/** Go's `scanChunk`: leading stars, then everything up to the next star outside a class. */
function scanChunk(pattern: number[]): { star: boolean; chunk: number[]; after: number[] } {
  let start = 0;
  while (start < pattern.length && pattern[start] === STAR) start++;
  let inRange = false;
  let end = start;
  for (; end < pattern.length; end++) {
    const char = pattern[end];
    if (char === BACKSLASH) {
      if (end + 1 < pattern.length) end++;
    } else if (char === OPEN) {
      inRange = true;
    } else if (char === CLOSE) {
      inRange = false;
    } else if (char === STAR && !inRange) {
      break;
    }
  }
  return { star: start > 0, chunk: pattern.slice(start, end), after: pattern.slice(end) };
}

/**
 * Go's `matchChunk`: what is left of `text` after `chunk` matched its start, or undefined. Once the
 * match has failed the chunk is still read to the end, so a malformed one always throws.
 */
function matchChunk(chunk: number[], text: number[]): number[] | undefined {
  let failed = false;
  let at = 0;
  let rest = text;
  while (at < chunk.length) {
    if (!failed && rest.length === 0) failed = true;
    const char = chunk[at] ?? 0;
    if (char === OPEN) {
      const subject = failed ? -1 : (rest[0] ?? -1);
      if (!failed) rest = rest.slice(1);
      at++;
      let negated = false;
      if (chunk[at] === CARET) {
        negated = true;
        at++;
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (chunk[at] === CLOSE && ranges > 0) {
          at++;
          break;
        }
        const low = readClassChar(chunk, at);
        at = low.next;
        let high = low.char;
        if (chunk[at] === DASH) {
          const upper = readClassChar(chunk, at + 1);
          at = upper.next;
          high = upper.char;
        }
        if (low.char <= subject && subject <= high) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (char === QUESTION) {
      if (!failed) {
        if (rest[0] === SLASH) failed = true;
        rest = rest.slice(1);
      }
      at++;
    } else {
      let literal = char;
      if (char === BACKSLASH) {
        at++;
        if (at >= chunk.length) throw new BadPatternError();
        literal = chunk[at] ?? 0;
      }
      if (!failed) {
        if (literal !== rest[0]) failed = true;
        rest = rest.slice(1);
      }
      at++;
    }
  }
  return failed ? undefined : rest;
}

/** Go's `getEsc`: one (possibly escaped) character of a class, which must not end the pattern. */
function readClassChar(chunk: number[], at: number): { char: number; next: number } {
  let index = at;
  const first = chunk[index];
  if (first === undefined || first === DASH || first === CLOSE) throw new BadPatternError();
  if (first === BACKSLASH) {
    index++;
    if (index >= chunk.length) throw new BadPatternError();
  }
  const char = chunk[index] ?? 0;
  // An invalid UTF-8 byte in a class is a bad pattern (Go: `RuneError` of width 1).
  if (char >= 0xdc80 && char <= 0xdcff) throw new BadPatternError();
  index++;
  if (index >= chunk.length) throw new BadPatternError();
  return { char, next: index };
}

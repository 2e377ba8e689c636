// Go's `unicode` classes as BuildKit's parser and shell lexer test them. JavaScript's `\s` and
// trim() disagree with Go on U+0085 and U+FEFF.

/** Go `unicode.IsSpace` for one UTF-16 code unit (every Go space is in the BMP). */
export function isGoSpaceCode(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  if (code === 0x85 || code === 0xa0 || code === 0x1680 || code === 0x3000) return true;
  if (code >= 0x2000 && code <= 0x200a) return true;
  return code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f;
}

/** Runs of the characters {@link isGoSpaceCode} accepts. */
export const goSpaceRuns =
  /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/g;

/** {@link goSpaceRuns} without the global flag, to `split` on (a global regexp is stateful). */
const goSpaceRun = new RegExp(goSpaceRuns.source);

/**
 * The runs of characters that are not Go spaces, in one native split: what a character-by-character
 * scan that only breaks words at blanks gives.
 */
export function splitOnGoSpaces(text: string): string[] {
  const words = text.split(goSpaceRun);
  return words.includes("") ? words.filter((word) => word !== "") : words;
}

/** The bytes Go's `unicode.IsSpace(rune(b))` accepts when BuildKit scans a string byte by byte. */
export function isGoSpaceByte(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0x85 || byte === 0xa0;
}

/** Go regexp's `\s`: `[\t\n\f\r ]` (no `\v`). */
export function isRegexpSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/** Go `unicode.IsDigit` for one code point. */
export function isGoDigit(ch: string): boolean {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return code >= 0x30 && code <= 0x39;
  return /^\p{Nd}$/u.test(ch);
}

/** Go `unicode.IsLetter` for one code point. */
export function isGoLetter(ch: string): boolean {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  return /^\p{L}$/u.test(ch);
}

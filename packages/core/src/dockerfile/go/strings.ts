// Go's `strings` functions as BuildKit's parser calls them; JavaScript's trim() and toLowerCase()
// disagree with them on U+0085, U+FEFF, U+0130 and final sigma.
import { isGoSpaceCode } from "./unicode.js";

/** Go `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
export function trimLeftGoSpace(text: string): string {
  let start = 0;
  while (start < text.length && isGoSpaceCode(text.charCodeAt(start))) start++;
  return start === 0 ? text : text.slice(start);
}

/** Go `strings.TrimSpace`. */
export function trimGoSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpaceCode(text.charCodeAt(start))) start++;
  while (end > start && isGoSpaceCode(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Go `strings.ToLower`: one code point at a time (no final sigma, `İ` becomes a plain `i`). */
export function toLowerGo(text: string): string {
  if (isAscii(text)) return text.toLowerCase();
  let out = "";
  for (const ch of text) out += ch === "\u0130" ? "i" : ch.toLowerCase();
  return out;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

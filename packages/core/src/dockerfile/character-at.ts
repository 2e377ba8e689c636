/** The code point at `index` as a string (two code units for a surrogate pair), as Array.from. */
export function characterAt(text: string, index: number): string {
  const code = text.charCodeAt(index);
  if (code >= 0xd800 && code <= 0xdbff) {
    const low = text.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return text.slice(index, index + 2);
  }
  return text.charAt(index);
}

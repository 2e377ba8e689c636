// Go's `text/scanner`, as BuildKit's shell lexer reads a word.

/** Code points as Go's text/scanner yields them: a byte-order mark at the very start is skipped. */
export function scannerChars(text: string): string[] {
  const chars = Array.from(text);
  if (chars[0] === "\uFEFF") chars.shift();
  return chars;
}

/** Go prints `string(scanner.EOF)` as U+FFFD; EOF is `undefined` or `""` here. */
export function runeText(ch: string | undefined): string {
  return ch === undefined || ch === "" ? "\uFFFD" : ch;
}

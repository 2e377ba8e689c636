// Go's `strconv` as BuildKit's messages and flag checks use it.

/** Go's `strconv.Quote`, which BuildKit's `%q` uses in its messages. */
export function quoteGo(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (ch === " " || printablePattern.test(ch)) out += ch;
    else if (code < 0x80) out += "\\x" + code.toString(16).padStart(2, "0");
    else if (code >= 0xd800 && code <= 0xdfff) out += "\\ufffd";
    else if (code < 0x10000) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += "\\U" + code.toString(16).padStart(8, "0");
  }
  return out + '"';
}

const printablePattern = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go `strconv.ParseBool`. */
export function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

/**
 * Go `strconv.ParseInt(text, 10, bits)`: the value, or Go's error text
 * (`strconv.ParseInt: parsing "x": invalid syntax` / `value out of range`).
 */
export function parseGoInt(text: string, bits: 32 | 64): bigint | string {
  if (!/^[+-]?[0-9]+$/.test(text))
    return `strconv.ParseInt: parsing ${quoteGo(text)}: invalid syntax`;
  const value = BigInt(text);
  const limit = 1n << BigInt(bits - 1);
  if (value >= limit || value < -limit) {
    return `strconv.ParseInt: parsing ${quoteGo(text)}: value out of range`;
  }
  return value;
}

/** Go `strconv.ParseUint(value, base, 32)` succeeds. */
export function isGoUint32(value: string, base: 8 | 10): boolean {
  const digits = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(value)) return false;
  return BigInt(base === 8 ? `0o${value}` : value) <= 0xffffffffn;
}

// Go's `time.ParseDuration`, for HEALTHCHECK's durations, with the `time` package's error texts.

const durationUnits = new Map<string, bigint>([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n],
  ["\u03bcs", 1_000n],
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

/** Go's `time.ParseDuration`: nanoseconds, or its error text. */
export function parseGoDuration(original: string): bigint | string {
  // Only on an error: quoting encodes the text, which cost ~0.1 ms a call while the code is cold.
  const invalid = (): string => `time: invalid duration ${quoteTime(original)}`;
  const limit = 1n << 63n;
  let text = original;
  let negative = false;
  if (text.startsWith("-") || text.startsWith("+")) {
    negative = text.startsWith("-");
    text = text.slice(1);
  }
  if (text === "0") return 0n;
  if (text === "") return invalid();
  let total = 0n;
  while (text !== "") {
    if (!/^[0-9.]/.test(text)) return invalid();
    const whole = /^[0-9]*/.exec(text)?.[0] ?? "";
    text = text.slice(whole.length);
    let value = whole === "" ? 0n : BigInt(whole);
    if (value > limit) return invalid();
    let fraction = "";
    if (text.startsWith(".")) {
      fraction = /^\.[0-9]*/.exec(text)?.[0].slice(1) ?? "";
      text = text.slice(fraction.length + 1);
    }
    if (whole === "" && fraction === "") return invalid();
    const unitText = /^[^0-9.]*/.exec(text)?.[0] ?? "";
    if (unitText === "") return `time: missing unit in duration ${quoteTime(original)}`;
    text = text.slice(unitText.length);
    const unit = durationUnits.get(unitText);
    if (unit === undefined) {
      return `time: unknown unit ${quoteTime(unitText)} in duration ${quoteTime(original)}`;
    }
    if (value > limit / unit) return invalid();
    value *= unit;
    if (fraction !== "") {
      // Go keeps at most the digits that fit; the scaled fraction is truncated toward zero.
      const digits = fraction.slice(0, 18);
      value += (BigInt(digits === "" ? "0" : digits) * unit) / 10n ** BigInt(digits.length);
      if (value > limit) return invalid();
    }
    total += value;
    if (total > limit) return invalid();
  }
  if (negative) return -total;
  if (total > limit - 1n) return invalid();
  return total;
}

/** The `time` package's own quoting: non-ASCII and control bytes as `\xNN`. */
function quoteTime(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    if (byte >= 0x80 || byte < 0x20) out += "\\x" + byte.toString(16).padStart(2, "0");
    else {
      const ch = String.fromCharCode(byte);
      out += ch === '"' || ch === "\\" ? "\\" + ch : ch;
    }
  }
  return out + '"';
}

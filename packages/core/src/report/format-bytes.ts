const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"] as const;

/**
 * A byte count in decimal units, as `docker images` shows sizes: `512 B`, `48.2 MB`, `1.1 GB`.
 *
 * @example
 * formatBytes(48_213_000); // "48.2 MB"
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "? B";
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  if (value < 1000) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  // Move up while the value would print as 1000.0 or more, so 999 960 B is "1.0 MB", not "1000.0 kB".
  while (unit < UNITS.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    unit += 1;
  }
  return `${sign}${value.toFixed(1)} ${UNITS[unit] ?? "B"}`;
}

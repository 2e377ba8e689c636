/**
 * A duration in milliseconds as a person reads it: `450 ms`, `1.3 s`, `2 min 05 s`, `1 h 02 min`.
 *
 * @example
 * formatDuration(125_000); // "2 min 05 s"
 */
export function formatDuration(ms: number): string {
  const value = Number.isFinite(ms) && ms > 0 ? ms : 0;
  // Round at each unit's own precision first, so 59.96 s becomes "1 min 00 s" and not "60.0 s".
  const wholeMs = Math.round(value);
  if (wholeMs < 1000) return `${wholeMs} ms`;
  const tenths = Math.round(value / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(value / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${pad2(seconds % 60)} s`;
  const minutes = Math.round(value / 60_000);
  return `${Math.floor(minutes / 60)} h ${pad2(minutes % 60)} min`;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Replaces secret values in text with `***`. */
export type Redactor = (text: string) => string;

/** The mask secret values are replaced with. */
export const REDACTED = "***";

/**
 * Makes a redactor for these secret values (build args marked secret). Longer values are replaced
 * first, so a secret that contains another is masked whole. Empty values are ignored.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.filter((secret) => secret !== ""))].sort(
    (a, b) => b.length - a.length,
  );
  if (values.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const value of values) {
      if (result.includes(value)) result = result.split(value).join(REDACTED);
    }
    return result;
  };
}

/** Applies a redactor to every string inside a JSON-like value (events, reports), returning a copy. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, redact);
    return copy as T;
  }
  return value;
}

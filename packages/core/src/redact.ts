/** Replaces secret values in text with `***`. */
export type Redactor = (text: string) => string;

/** The mask secret values are replaced with. */
export const REDACTED = "***";

/**
 * Makes a redactor for these secret values (build args marked secret, secret files). Output is
 * shown line by line, so a value of several lines is masked whole and line by line too (every line
 * that is not blank, with and without its surrounding spaces), as GitHub's `add-mask` does. Longer
 * values are replaced first, so a secret that contains another is masked whole. Empty values are
 * ignored.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.flatMap(maskedTexts))].sort((a, b) => b.length - a.length);
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

/** The texts one secret value is masked as: the value, without its final line break, and each line. */
function maskedTexts(secret: string): string[] {
  if (secret === "") return [];
  const texts = [secret, secret.replace(/\r?\n$/, "")];
  if (/[\r\n]/.test(secret)) {
    for (const line of secret.split(/\r?\n|\r/)) {
      const trimmed = line.trim();
      if (trimmed === "") continue;
      texts.push(line, trimmed);
    }
  }
  return texts.filter((text) => text !== "");
}

// tonistiigi/go-csvvalue, which BuildKit uses to read `--mount` and `--device` values.
import { utf8Length } from "./utf8.js";

/**
 * One CSV line as tonistiigi/go-csvvalue reads it (encoding/csv rules, no lazy quotes): its fields,
 * or the library's error text (`EOF`, `parse error on line 1, column N: …`, columns 1-based bytes).
 */
export function readCsvRecord(line: string): string[] | { readonly error: string } {
  const fail = (byteOffset: number, reason: string) => ({
    error: `parse error on line 1, column ${byteOffset + 1}: ${reason}`,
  });
  let text = line;
  if (text.endsWith("\n")) text = text.slice(0, text.endsWith("\r\n") ? -2 : -1);
  if (text === "") return { error: "EOF" };
  const fields: string[] = [];
  let pos = 0;
  for (;;) {
    if (!text.startsWith('"', pos)) {
      const comma = text.indexOf(",", pos);
      const field = comma < 0 ? text.slice(pos) : text.slice(pos, comma);
      const quote = field.indexOf('"');
      if (quote >= 0)
        return fail(utf8Length(text.slice(0, pos + quote)), 'bare " in non-quoted-field');
      fields.push(field);
      if (comma < 0) return fields;
      pos = comma + 1;
      continue;
    }
    pos++;
    let field = "";
    for (;;) {
      const quote = text.indexOf('"', pos);
      if (quote < 0)
        return fail(utf8Length(text.slice(0, pos)), 'extraneous or missing " in quoted-field');
      field += text.slice(pos, quote);
      pos = quote + 1;
      const next = text[pos];
      if (next === '"') {
        field += '"';
        pos++;
      } else if (next === ",") {
        fields.push(field);
        pos++;
        break;
      } else if (next === undefined) {
        fields.push(field);
        return fields;
      } else {
        return fail(utf8Length(text.slice(0, pos - 1)), 'extraneous or missing " in quoted-field');
      }
    }
  }
}

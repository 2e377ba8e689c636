// Build output carries colour codes, cursor moves and carriage-return progress bars; none may reach
// our own output as control codes, or a log line could move the cursor inside the live view.
/* eslint-disable no-control-regex -- matching control characters is what these are for */
const ESCAPE_SEQUENCE =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[@-Z\\-_]/g;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/* eslint-enable no-control-regex */

/** A line of build output made safe to print: what a terminal would show, without control codes. */
export function sanitizeLine(line: string): string {
  // `\r` redraws a line in place (progress bars): keep what was drawn last.
  const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
  const shown = trimmed.slice(trimmed.lastIndexOf("\r") + 1);
  return shown
    .replace(ESCAPE_SEQUENCE, "")
    .replace(/\t/g, "    ")
    .replace(/\n/g, " ")
    .replace(CONTROL, "");
}

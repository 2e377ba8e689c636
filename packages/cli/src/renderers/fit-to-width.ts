// Width arithmetic for lines that may carry SGR colour codes (which take no columns).
/* eslint-disable no-control-regex -- matching the escape character is what these are for */
const SGR = /\x1b\[[0-9;]*m/g;
const SGR_AT_START = /^\x1b\[[0-9;]*m/;
/* eslint-enable no-control-regex */

/** The columns `text` takes: its code points, colour codes not counted. */
export function visibleWidth(text: string): number {
  let width = 0;
  for (const _ of text.replace(SGR, "")) width += 1;
  return width;
}

/** Cuts `text` to `width` columns, ending it with `…` when it was cut; never wraps. */
export function fitToWidth(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  let styled = false;
  for (let i = 0; i < text.length;) {
    const rest = text.slice(i);
    const code = SGR_AT_START.exec(rest);
    if (code !== null) {
      out += code[0];
      styled = true;
      i += code[0].length;
      continue;
    }
    if (used === width - 1) break;
    const char = String.fromCodePoint(rest.codePointAt(0) ?? 0x20);
    out += char;
    used += 1;
    i += char.length;
  }
  // Close any style left open by the cut, so the ellipsis and the next line start unstyled.
  return `${out}${styled ? "\x1b[0m" : ""}…`;
}

/**
 * The terminal's width in columns, or undefined when it is not known: a pseudo-terminal that was
 * never given a size (`script` outside a terminal, some CI runners' ptys) reports 0 columns, which
 * would cut every line to nothing.
 */
export function terminalWidth(columns: number | undefined): number | undefined {
  return columns !== undefined && columns > 0 ? columns : undefined;
}

/** Pads `text` with spaces to `width` columns. */
export function padVisible(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - visibleWidth(text)));
}

import type { Output } from "../io.js";

/** Styles text for a terminal; every style is the identity when colour is off. */
export interface Colors {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  gray(text: string): string;
}

function style(open: number, close: number): (text: string) => string {
  return (text) => (text === "" ? "" : `\x1b[${open}m${text}\x1b[${close}m`);
}

const identity = (text: string): string => text;

/** ANSI styles when `enabled`, plain text otherwise. */
export function createColors(enabled: boolean): Colors {
  if (!enabled) {
    return {
      enabled,
      bold: identity,
      dim: identity,
      red: identity,
      green: identity,
      yellow: identity,
      cyan: identity,
      gray: identity,
    };
  }
  return {
    enabled,
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    cyan: style(36, 39),
    gray: style(90, 39),
  };
}

/**
 * Whether to colour what goes to `output`: `NO_COLOR` (any non-empty value) turns colour off,
 * `FORCE_COLOR` (non-empty) turns it on unless it is `0` or `false`, which turn it off; otherwise
 * colour only on a terminal that is not `TERM=dumb`.
 */
export function shouldUseColor(
  output: Pick<Output, "isTTY">,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return output.isTTY && env.TERM !== "dumb";
}

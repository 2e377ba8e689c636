import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "@stagecraft/core/errors";

/** The option table of one command, in node:util parseArgs' shape. */
export type OptionTable = NonNullable<ParseArgsConfig["options"]>;

/** Parsed options: strings, booleans and string lists, by option name. */
export type ParsedOptions = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Parses a command's arguments strictly; an unknown option or a missing value becomes a UsageError
 * that names the command's --help.
 */
export function parseCommandLine(
  command: string,
  argv: readonly string[],
  options: OptionTable,
): { values: ParsedOptions; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, ""), {
      hint: `Run \`stagecraft ${command} --help\` for the options.`,
    });
  }
}

/** A string option's value, or undefined. */
export function stringOption(values: ParsedOptions, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A repeatable string option's values, each also split on commas when `splitCommas` is set. */
export function listOption(values: ParsedOptions, name: string, splitCommas = false): string[] {
  const value = values[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const strings = list.filter((item): item is string => typeof item === "string");
  return splitCommas
    ? strings
        .flatMap((item) => item.split(",").map((part) => part.trim()))
        .filter((part) => part !== "")
    : strings;
}

/** A string option limited to a set of choices. */
export function choiceOption<T extends string>(
  values: ParsedOptions,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = stringOption(values, name);
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${choices.join(", ")} (got "${value}")`);
}

/**
 * `KEY=VALUE` pairs, as `--build-arg` and `--label` take them. A bare `KEY` takes its value from the
 * environment, as docker does for build args (and is dropped when the variable is unset).
 */
export function keyValueOption(
  values: ParsedOptions,
  name: string,
  env: Readonly<Record<string, string | undefined>> | undefined,
): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of listOption(values, name)) {
    const equals = item.indexOf("=");
    if (equals === 0) {
      throw new UsageError(`--${name} "${item}" has no name before "="`, {
        code: name.startsWith("build-arg") ? "INVALID_BUILD_ARG" : "USAGE",
        hint: `Write --${name} NAME=VALUE.`,
      });
    }
    if (equals === -1) {
      if (env === undefined) {
        throw new UsageError(`--${name} "${item}" needs a value`, {
          hint: `Write --${name} ${item}=VALUE.`,
        });
      }
      const fromEnv = env[item];
      if (fromEnv !== undefined) pairs[item] = fromEnv;
      continue;
    }
    pairs[item.slice(0, equals)] = item.slice(equals + 1);
  }
  return pairs;
}

/** A positive integer option. */
export function positiveIntegerOption(values: ParsedOptions, name: string): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`--${name} must be a positive whole number (got "${value}")`);
  }
  return number;
}

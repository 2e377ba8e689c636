import type { Logger } from "@stagecraft/core/engine";
import { UsageError } from "@stagecraft/core";

/** What `--log-level` takes. */
export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const;
/** `--log-level` values. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The CLI's diagnostics logger (pino): off unless `--log-level` or `--log-file` is given, written to
 * the log file or to stderr, never to stdout.
 */
export async function createLogger(
  level: string | undefined,
  file: string | undefined,
): Promise<Logger | undefined> {
  if (level === undefined && file === undefined) return undefined;
  const chosen = level ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")} (got "${chosen}")`);
  }
  if (chosen === "silent") return undefined;
  // Loaded only when asked for: pino costs ~40 ms of start-up.
  // `default` is module.exports both in Node and in the bundle (bundle.mjs); named CJS exports are not.
  const { default: pino } = await import("pino");
  let destination: ReturnType<typeof pino.destination>;
  try {
    destination = pino.destination({ dest: file ?? 2, sync: true, mkdir: file !== undefined });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--log-file: cannot open ${file ?? "stderr"} (${reason})`, {
      hint: "Write the log into a directory you can write to.",
      cause: error,
    });
  }
  const logger: Logger = pino({ level: chosen, base: { name: "stagecraft" } }, destination);
  return logger;
}

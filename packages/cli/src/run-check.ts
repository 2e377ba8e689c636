import type { ExitCode, Io } from "./io.js";
import { checkCommand } from "./commands/check.js";

/**
 * `runCli` of the bundle the launcher runs for `stagecraft check` (scripts/bundle.mjs puts it in
 * place of run-cli.ts): the check command alone, so that the bundle holds only what a check runs.
 */
export async function runCli(argv: readonly string[], io: Io): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command !== "check") {
    throw new Error(`the check bundle runs only "stagecraft check", not "${command ?? ""}"`);
  }
  return await checkCommand(rest, io);
}

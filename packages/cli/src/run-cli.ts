import type { ExitCode, Io } from "./io.js";

export const VERSION = "0.1.0";

const HELP = `stagecraft ${VERSION}: build several targets of a multi-stage Dockerfile at once on a Docker Engine.

Usage: stagecraft <command> [options]

Commands:
  build [CONTEXT]   build one or more targets in parallel, with live progress and a report
  plan [CONTEXT]    show which stages each target builds, in what order, from which images
  graph             draw the stage graph (mermaid, dot or json)

Run \`stagecraft <command> --help\` for a command's options.
`;

/** Runs the CLI with the given arguments; returns the exit code (never calls process.exit). */
export function runCli(argv: readonly string[], io: Io): Promise<ExitCode> {
  const [command] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.stdout.write(HELP);
      return Promise.resolve(command === undefined ? 2 : 0);
    case "--version":
    case "-V":
      io.stdout.write(`${VERSION}\n`);
      return Promise.resolve(0);
    default:
      io.stderr.write(`stagecraft: unknown command "${command}"\n\n${HELP}`);
      return Promise.resolve(2);
  }
}

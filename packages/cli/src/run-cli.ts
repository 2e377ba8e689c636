import type { ExitCode, Io } from "./io.js";
import { VERSION } from "./version.js";

export { VERSION };

const HELP = `stagecraft ${VERSION}: build several targets of a multi-stage Dockerfile at once on a Docker Engine.

Usage: stagecraft <command> [options]

Commands:
  build [CONTEXT]        build one or more targets in parallel, with live progress and a report
  plan [CONTEXT]         show which stages each target builds, in what order, from which images
  check [CONTEXT]        check the Dockerfile for the targets: BuildKit's checks and ours
  graph [CONTEXT]        draw the stage graph (mermaid, dot or json)
  engine                 show what the engine can do: image store, cache backends, sessions
  report FILE.json       turn a saved report into a self-contained HTML page (--html FILE)
  bake [FILE...] [T...]  build or --print the targets of docker-bake.hcl/.json or compose.yaml files

Run \`stagecraft <command> --help\` for a command's options.
The engine is found as the docker CLI finds it: DOCKER_HOST (unix://, tcp://, ssh:// through
your ssh), DOCKER_CONTEXT, the current docker context, then /var/run/docker.sock.
STAGECRAFT_CODE_CACHE=0 starts without V8's code cache (kept beside the bundle by the first run).
`;

/** Runs the CLI with the given arguments; returns the exit code (never calls process.exit). */
export async function runCli(argv: readonly string[], io: Io): Promise<ExitCode> {
  const [command, ...rest] = argv;
  switch (command) {
    // Each command is imported when it runs, so that a run evaluates only the modules its command
    // needs: `plan` never loads the bake reader's YAML parser or the HTML report's graph layout
    // (docs/decisions/cli-start-up.md has the numbers).
    case "build":
      return await (await import("./commands/build.js")).buildCommand(rest, io);
    case "plan":
      return await (await import("./commands/plan.js")).planCommand(rest, io);
    case "graph":
      return await (await import("./commands/graph.js")).graphCommand(rest, io);
    case "check":
      return await (await import("./commands/check.js")).checkCommand(rest, io);
    case "engine":
      return await (await import("./commands/engine.js")).engineCommand(rest, io);
    case "report":
      return await (await import("./commands/report.js")).reportCommand(rest, io);
    case "bake":
      return await (await import("./commands/bake.js")).bakeCommand(rest, io);
    case "help":
    case "--help":
    case "-h":
      io.stdout.write(HELP);
      return 0;
    case undefined:
      io.stderr.write(HELP);
      return 2;
    case "--version":
    case "-V":
      io.stdout.write(`${VERSION}\n`);
      return 0;
    default:
      io.stderr.write(
        `stagecraft: unknown command "${command}"\nhint: the commands are build, plan, check, graph, engine, report and bake; run \`stagecraft --help\`.\n`,
      );
      return 2;
  }
}

#!/usr/bin/env node
import { runCli } from "./run-cli.js";
import type { Io, Output } from "./io.js";

/**
 * A closed stdout (`stagecraft build … | head -3`) ends the run as a cancel does, and the process
 * then exits 141, 128 + SIGPIPE: what the shell reports for any other program whose reader went
 * away (`seq 1000000 | head -1` under `set -o pipefail`), so a wrapper that tolerates a closed pipe
 * treats stagecraft the same, and 130 keeps meaning "interrupted".
 */
const STDOUT_CLOSED_EXIT = 141;
/**
 * How long the process may stay after the command has returned (its report is written). A frozen
 * engine can hold a cancel request or a socket open for as long as it is frozen; nothing of the
 * run is left to wait for by then.
 */
const LINGER_MS = 1000;

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupts += 1;
  if (interrupts > 1) {
    // A second Ctrl-C means "now": leave without waiting for the daemon to confirm.
    process.exit(130);
  }
  controller.abort(new Error(`received ${signal}`));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

let stdoutClosed = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (stdoutClosed) return;
  stdoutClosed = true;
  const why = error.code === "EPIPE" ? "was closed" : `failed (${error.code ?? error.message})`;
  writeQuietly(process.stderr, `stagecraft: stdout ${why}; cancelling the builds\n`);
  controller.abort(new Error(`stdout ${why}`));
});
// Nowhere left to say anything: stay quiet rather than die of an unhandled 'error' event.
process.stderr.on("error", () => undefined);

function writeQuietly(stream: NodeJS.WriteStream, text: string): void {
  if (stream.destroyed || stream.writableEnded) return;
  stream.write(text);
}

function output(stream: NodeJS.WriteStream, isClosed: () => boolean): Output {
  return {
    write: (text) => {
      if (!isClosed()) writeQuietly(stream, text);
    },
    isTTY: stream.isTTY,
    get columns() {
      return stream.columns;
    },
  };
}

const io: Io = {
  stdout: output(process.stdout, () => stdoutClosed),
  stderr: output(process.stderr, () => false),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
};

// No top-level await: the bin is bundled as CommonJS (see launcher.cts).
void runCli(process.argv.slice(2), io).then((code) => {
  const exitCode = stdoutClosed && code === 130 ? STDOUT_CLOSED_EXIT : code;
  process.exitCode = exitCode;
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  // Unref'd: it only fires when something (a request to a frozen engine) still holds the process.
  setTimeout(() => {
    if (exitCode !== 0) {
      writeQuietly(
        process.stderr,
        "stagecraft: exiting without waiting for the engine: it has not answered the last requests (it may be frozen); builds may still be running on it\n",
      );
    }
    process.exit(exitCode);
  }, LINGER_MS).unref();
});

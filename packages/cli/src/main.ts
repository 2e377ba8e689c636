#!/usr/bin/env node
import { runCli } from "./run-cli.js";
import type { Io } from "./io.js";

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

const io: Io = {
  stdout: {
    write: (text) => void process.stdout.write(text),
    isTTY: process.stdout.isTTY,
    get columns() {
      return process.stdout.columns;
    },
  },
  stderr: {
    write: (text) => void process.stderr.write(text),
    isTTY: process.stderr.isTTY,
    get columns() {
      return process.stderr.columns;
    },
  },
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
};

// No top-level await: the bin is bundled as CommonJS (see launcher.cts).
void runCli(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
});

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built CLI: integration tests run what users run. */
export const CLI = fileURLToPath(
  new URL("../../packages/cli/dist/bin/stagecraft.cjs", import.meta.url),
);

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether SIGINT was sent (`interruptWhen` was seen on stdout). */
  interrupted: boolean;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Sends SIGINT once stdout contains this text. */
  interruptWhen?: string;
}

/** Runs `stagecraft ARGS` as a child process and collects what it printed and how it ended. */
export function runStagecraft(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", GITHUB_ACTIONS: "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (
        options.interruptWhen !== undefined &&
        !interrupted &&
        stdout.includes(options.interruptWhen)
      ) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, stdout, stderr, interrupted });
    });
  });
}

/** The JSON lines of `--progress json` output. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
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
  /** Peak resident memory of the CLI process in bytes (VmHWM, polled while it ran). */
  peakRss: number;
  /** Milliseconds from the interrupt (when one was sent) to the process's exit. */
  exitAfterInterruptMs: number | null;
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
    let peakRss = 0;
    let interruptedAt: number | null = null;
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm?.[1] !== undefined) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
      } catch {
        // The process has ended.
      }
    }, 25);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (
        options.interruptWhen !== undefined &&
        interruptedAt === null &&
        stdout.includes(options.interruptWhen)
      ) {
        interruptedAt = Date.now();
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearInterval(poll);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        peakRss,
        exitAfterInterruptMs: interruptedAt === null ? null : Date.now() - interruptedAt,
      });
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

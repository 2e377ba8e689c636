// Runs one command, times it from spawn to exit, and samples its peak resident set size.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const RSS_POLL_MS = 10;

/** VmHWM (peak RSS) of a live process in bytes, or undefined once it has gone. */
function readPeakRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `command args` and resolves with its wall time (ms, spawn to exit) and the highest VmHWM
 * seen while polling every 10 ms (VmHWM only grows, so the last sample before exit is close to
 * the true peak). Rejects when the command exits non-zero or outlives `timeoutMs` (then its
 * process group is killed).
 */
export function runCommand(command, args, { cwd, env, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let peakRssBytes = 0;
    const poll = setInterval(() => {
      peakRssBytes = Math.max(peakRssBytes, readPeakRss(child.pid) ?? 0);
    }, RSS_POLL_MS);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // It has just exited.
      }
    }, timeoutMs);
    child.on("error", (error) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(error);
    });
    let wallMs = 0;
    child.on("exit", () => {
      wallMs = performance.now() - started;
      clearInterval(poll);
      clearTimeout(timer);
    });
    // "close" comes after "exit" once stdout and stderr have ended, so the output is complete.
    child.on("close", (code, signal) => {
      if (timedOut) {
        reject(new Error(`${command} timed out after ${timeoutMs} ms\n${output}`));
      } else if (code !== 0) {
        reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}\n${output}`));
      } else {
        resolve({ wallMs, peakRssBytes, output });
      }
    });
  });
}

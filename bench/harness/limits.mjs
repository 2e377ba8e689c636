// The `limits` scenario: the wall-clock and memory limits the tests used to assert, measured here so
// the tests can hold the behaviour and the numbers are recorded instead of being pass/fail on a
// loaded machine. Each limit runs `runs` times; it is met when its worst run is under the goal.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "./run-command.mjs";
import { describe } from "./summary.mjs";
import { BENCH_LABEL } from "./tools.mjs";

const BUSYBOX = "stagecraft/busybox:latest";
const PROBE = fileURLToPath(new URL("limit-probe.mjs", import.meta.url));
const TIMEOUT_MS = 3 * 60_000;
const MB = 2 ** 20;

function writeContext(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** Runs limit-probe.mjs and returns what it printed. */
async function probe(name, args) {
  const { output } = await runCommand(process.execPath, [PROBE, name, ...args], {
    timeoutMs: TIMEOUT_MS,
  });
  return JSON.parse(output.trim().split("\n").at(-1));
}

/** Runs the CLI until its stdout shows `text`, sends SIGINT, and times the exit from there. */
function interruptCli(cli, args, text) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let interruptedAt;
    const guard = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-8_000);
      if (interruptedAt === undefined && output.includes(text)) {
        interruptedAt = performance.now();
        child.kill("SIGINT");
      }
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const exitedAt = performance.now();
      clearTimeout(guard);
      if (interruptedAt === undefined || code !== 130) {
        reject(new Error(`expected exit 130 after SIGINT, got ${code ?? signal}\n${output}`));
      } else {
        resolve(exitedAt - interruptedAt);
      }
    });
  });
}

/**
 * Measures every limit `runs` times with the CLI at `cli` and the core at `coreDist` (the run's
 * snapshot), in `scratch`. `log(line)` reports progress.
 */
export async function measureLimits({ runs, scratch, cli, coreDist, log }) {
  const failFast = writeContext(join(scratch, "limits-fail-fast"), {
    Dockerfile: [
      `FROM ${BUSYBOX} AS base`,
      "ARG NONCE",
      "FROM base AS broken",
      'RUN echo "$NONCE" && sleep 1 && exit 7',
      "FROM base AS slow",
      'RUN echo "$NONCE" && sleep 60',
      "",
    ].join("\n"),
  });
  const sleepy = writeContext(join(scratch, "limits-sleepy"), {
    Dockerfile: `FROM ${BUSYBOX}\nARG NONCE\nRUN echo "$NONCE" && sleep 60 && echo done\n`,
  });
  const tarContext = writeContext(join(scratch, "limits-200mb"), {
    Dockerfile: `FROM ${BUSYBOX}\nCOPY small.txt /small.txt\n`,
    "small.txt": "small\n",
  });
  const chunk = Buffer.alloc(MB);
  for (let index = 0; index < 200; index += 1) {
    chunk.fill(index % 251);
    chunk.write(randomUUID(), 0);
    writeContext(join(tarContext, "big"), { [`part-${index}.bin`]: chunk });
  }
  const packContext = writeContext(join(scratch, "limits-60mb"), { Dockerfile: "FROM scratch\n" });
  for (let dir = 0; dir < 20; dir += 1) {
    const files = {};
    for (let file = 0; file < 100; file += 1)
      files[`d${dir}/f${file}.bin`] = randomBytes(30 * 1024);
    writeContext(packContext, files);
  }

  const nonce = () => `limits-${randomUUID()}`;
  const limits = [
    {
      name: "fail-fast",
      what: "a failing target → the other target (a 60 s step) cancelled, runTargets on the engine",
      was: "test/scheduler.test.ts, packages/core/src/scheduler/run-targets.test.ts",
      unit: "ms",
      goal: 1_000,
      measure: async () => (await probe("fail-fast", [coreDist, failFast, nonce()])).ms,
    },
    {
      name: "abort",
      what: "AbortSignal 2.5 s into a 60 s step → runTargets returns",
      was: "test/scheduler.test.ts",
      unit: "ms",
      goal: 2_000,
      measure: async () => (await probe("abort", [coreDist, sleepy, nonce(), "2500"])).ms,
    },
    {
      name: "cli-sigint",
      what: "SIGINT during a 60 s step → `stagecraft build` exits 130",
      was: "test/cli-build.test.ts",
      unit: "ms",
      goal: 2_000,
      measure: () =>
        interruptCli(
          cli,
          ["build", sleepy, "--progress", "plain", "--build-arg", `NONCE=${nonce()}`].concat([
            "--label",
            BENCH_LABEL,
          ]),
          "sleep 60",
        ),
    },
    {
      name: "cli-rss-200mb-tar",
      what: "peak RSS of `stagecraft build` sending a 200 MB context as a tar",
      was: "test/cli-build.test.ts",
      unit: "MB",
      goal: 150,
      measure: async () => {
        const args = [cli, "build", tarContext, "--progress", "quiet", "--context-transfer", "tar"];
        const { peakRssBytes } = await runCommand(
          process.execPath,
          [...args, "--label", BENCH_LABEL],
          { timeoutMs: TIMEOUT_MS },
        );
        return peakRssBytes / MB;
      },
    },
    {
      name: "pack-rss-60mb",
      what: "RSS growth while packBuildContext streams 60 MB / 2,000 files to a slow consumer",
      was: "packages/core/src/context/pack-build-context.test.ts",
      unit: "MB",
      goal: 50,
      measure: async () => (await probe("pack-rss", [coreDist, packContext])).bytes / MB,
    },
  ];

  const results = [];
  for (const limit of limits) {
    const samples = [];
    const errors = [];
    for (let run = 1; run <= runs; run += 1) {
      try {
        const value = await limit.measure();
        samples.push(Math.round(value));
        log(`limits: ${limit.name} run ${run}/${runs}: ${Math.round(value)} ${limit.unit}`);
      } catch (error) {
        errors.push(String(error));
        log(`limits: ${limit.name} run ${run}/${runs} FAILED: ${error.message}`);
      }
    }
    const stats = describe(samples);
    const { measure: _measure, ...about } = limit;
    results.push({
      ...about,
      samples,
      stats,
      met: stats !== undefined && errors.length === 0 && stats.max < limit.goal,
      ...(errors.length > 0 ? { errors } : {}),
    });
  }
  return {
    limits: results,
    note: "each limit's goal is the threshold its test used to assert; met when every run is under it.",
  };
}

// node bench/check-process.mjs (after `pnpm build`): what `stagecraft check` costs as a process on
// the generated Dockerfile of 10,000 instructions (bench/harness/make-dockerfile.mjs, as in
// bench/check.mjs): user + system CPU and wall time of the whole process (GNU time, 10 ms steps),
// median and min-max of RUNS (default 11), with the code cache the first run of each binary leaves;
// `stagecraft --version` for the CLI's start-up alone, and `node -e 0` for Node's own (the floor).
// CHECK_BIN_BEFORE=DIR (a copy of an earlier packages/cli/dist/bin) is measured too, alternated run
// by run, so a change of load hits both. CHECK_ARGS adds arguments (e.g. "--offline").
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDockerfileGenerator } from "./harness/make-dockerfile.mjs";

const RUNS = Number(process.env.RUNS ?? 11);
const INSTRUCTIONS = Number(process.env.INSTRUCTIONS ?? 10_000);
const extra = (process.env.CHECK_ARGS ?? "").split(" ").filter((arg) => arg !== "");
const bins = {
  ...(process.env.CHECK_BIN_BEFORE === undefined
    ? {}
    : { before: join(process.env.CHECK_BIN_BEFORE, "stagecraft.cjs") }),
  now: fileURLToPath(new URL("../packages/cli/dist/bin/stagecraft.cjs", import.meta.url)),
};
const dir = mkdtempSync(join(tmpdir(), "stagecraft-bench-check-process-"));
const generated = createDockerfileGenerator()(INSTRUCTIONS);
writeFileSync(join(dir, "Dockerfile"), typeof generated === "string" ? generated : generated.text);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** One process (`node ...argv`): [cpu ms, wall ms], from GNU time's "%U %S %e". */
function run(argv) {
  const timing = join(dir, "time.txt");
  try {
    execFileSync("/usr/bin/time", ["-o", timing, "-f", "%U %S %e", process.execPath, ...argv], {
      stdio: "ignore",
      env: { ...process.env, CI: "" },
    });
  } catch (error) {
    // Exit 1: findings at or above --fail-on; anything else is a failure of the benchmark.
    if (error.status !== 1) throw error;
  }
  const [user, system, wall] = readFileSync(timing, "utf8").trim().split(/\s+/).map(Number);
  return [(user + system) * 1000, wall * 1000];
}

try {
  const cases = { check: ["check", dir, ...extra], version: ["--version"] };
  const rows = {};
  for (const [name, bin] of Object.entries(bins)) {
    for (const args of Object.values(cases)) run([bin, ...args]); // leaves the code caches
    rows[name] = Object.fromEntries(Object.keys(cases).map((kind) => [kind, []]));
  }
  rows.node = { "-e 0": [] };
  for (let round = 0; round < RUNS; round++) {
    for (const [name, bin] of Object.entries(bins)) {
      for (const [kind, args] of Object.entries(cases)) rows[name][kind].push(run([bin, ...args]));
    }
    rows.node["-e 0"].push(run(["-e", "0"]));
  }
  console.log(`load ${readFileSync("/proc/loadavg", "utf8").trim()}; median (min-max) of ${RUNS}`);
  console.log("| binary | command | CPU ms | wall ms |");
  console.log("| --- | --- | ---: | ---: |");
  for (const [name, kinds] of Object.entries(rows)) {
    for (const [kind, samples] of Object.entries(kinds)) {
      const cpu = samples.map((sample) => sample[0]);
      const wall = samples.map((sample) => sample[1]);
      console.log(
        `| ${name} | ${kind} | ${Math.round(median(cpu))} (${Math.round(Math.min(...cpu))}-${Math.round(Math.max(...cpu))}) | ${Math.round(median(wall))} (${Math.round(Math.min(...wall))}-${Math.round(Math.max(...wall))}) |`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

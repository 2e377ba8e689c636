// Benchmark of `checkDockerfile` (the pure part of `stagecraft check`: parse, stage graph, plan and
// every rule) on generated multi-stage Dockerfiles of 1,000 / 10,000 / 100,000 instructions. Run
// after `pnpm build`: `node bench/check.mjs`. Goal (issue 16): a check of 10,000 instructions in
// < 100 ms. Three ways: the default target, offline (base images unknown, so UndefinedVar is
// skipped on image-based stages); the same with the base images' configs given (every rule runs,
// UndefinedVar on every stage: the most work); ten targets at once; and the rules alone (the front
// end's result given). The front end alone is measured in the same rounds, so the ratio holds on a
// loaded machine.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkDockerfile } from "../packages/core/dist/checks/check-dockerfile.js";
import { analyzeDockerfile } from "../packages/core/dist/plan/analyze-dockerfile.js";
import { createDockerfileGenerator } from "./harness/make-dockerfile.mjs";

const SIZES = [1_000, 10_000, 100_000];
const RUNS = 11;
const WARMUP_RUNS = 5;
const GOAL_MS = 100;
const here = dirname(fileURLToPath(import.meta.url));
const makeDockerfile = createDockerfileGenerator();

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value) => Number(value.toFixed(2));

/**
 * Wall and CPU time of each function in steady state (after warm-up runs): the functions run in
 * turn, RUNS rounds, so a change of load on a shared machine hits them alike; median, min, max.
 */
function measureTogether(fns) {
  const firsts = {};
  for (const [name, fn] of Object.entries(fns)) {
    const started = process.hrtime.bigint();
    const result = fn();
    firsts[name] = { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
    for (let i = 1; i < WARMUP_RUNS; i++) fn();
  }
  const wall = Object.fromEntries(Object.keys(fns).map((name) => [name, []]));
  const cpu = Object.fromEntries(Object.keys(fns).map((name) => [name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, fn] of Object.entries(fns)) {
      const cpuStarted = process.cpuUsage();
      const started = process.hrtime.bigint();
      fn();
      wall[name].push(Number(process.hrtime.bigint() - started) / 1e6);
      const used = process.cpuUsage(cpuStarted);
      cpu[name].push((used.user + used.system) / 1e3);
    }
  }
  return Object.fromEntries(
    Object.keys(fns).map((name) => [
      name,
      {
        medianMs: round(median(wall[name])),
        minMs: round(Math.min(...wall[name])),
        maxMs: round(Math.max(...wall[name])),
        cpuMedianMs: round(median(cpu[name])),
        firstCallMs: round(firsts[name].ms),
        ...(firsts[name].result?.findings === undefined
          ? {}
          : { findings: firsts[name].result.findings.length }),
      },
    ]),
  );
}

const baseImages = new Map([
  [
    "golang:1.26-alpine",
    { user: "", env: ["PATH=/go/bin:/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"], shell: [] },
  ],
  [
    "alpine:3.22",
    {
      user: "",
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      shell: [],
    },
  ],
]);

const results = [];
for (const size of SIZES) {
  const { text, stages } = makeDockerfile(size);
  const analysis = analyzeDockerfile(text);
  const targets = Array.from(
    { length: 10 },
    (_, index) => `stage${Math.floor(((index + 1) * stages) / 10) - 1}`,
  );
  const row = {
    instructions: size,
    stages,
    lines: text.split("\n").length - 1,
    loadAverage: Number(os.loadavg()[0].toFixed(2)),
    ...measureTogether({
      frontEnd: () => analyzeDockerfile(text),
      offline: () => checkDockerfile(text),
      withBaseImages: () => checkDockerfile(text, { baseImages }),
      tenTargets: () => checkDockerfile(text, { baseImages, targets }),
      rulesOnly: () => checkDockerfile(text, { baseImages, analysis }),
    }),
  };
  results.push(row);
}

const cell = (m) =>
  `${m.medianMs} ms (min ${m.minMs}, max ${m.maxMs}, CPU ${m.cpuMedianMs}${m.findings === undefined ? "" : `; ${m.findings} findings`})`;
console.log(
  `Node ${process.version}, median of ${RUNS} rounds (each function in turn) after ${WARMUP_RUNS} warm-up runs; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores\n`,
);
console.log(
  "| instructions | stages | front end alone | check, offline | base images known | 10 targets | rules only |",
);
console.log("|---:|---:|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.instructions} | ${r.stages} | ${cell(r.frontEnd)} | ${cell(r.offline)} | ${cell(r.withBaseImages)} | ${cell(r.tenTargets)} | ${cell(r.rulesOnly)} |`,
  );
}
const ten = results.find((r) => r.instructions === 10_000);
const worst = Math.max(ten.offline.medianMs, ten.withBaseImages.medianMs, ten.tenTargets.medianMs);
const ratio = (worst / ten.frontEnd.medianMs).toFixed(2);
console.log(
  `\n${worst < GOAL_MS ? "goal met" : "goal missed"}: check of 10,000 instructions in ${worst} ms at worst (goal < ${GOAL_MS} ms), ${ratio}x the front end alone measured alongside (${ten.frontEnd.medianMs} ms)`,
);

mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "check.json"),
  JSON.stringify(
    {
      benchmark: "check",
      node: process.version,
      date: new Date().toISOString(),
      loadAverage: os.loadavg(),
      runs: RUNS,
      warmupRuns: WARMUP_RUNS,
      goalMs: GOAL_MS,
      goal: "checkDockerfile of 10,000 instructions under goalMs",
      results,
    },
    null,
    2,
  ) + "\n",
);

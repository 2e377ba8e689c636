// Benchmark of the Dockerfile front end on generated multi-stage Dockerfiles of 1,000 / 10,000 /
// 100,000 instructions, three ways: parse; parse + stage graph (`buildStageGraph`, typed
// instructions included); parse + graph + plan (`analyzeDockerfile`). Run after `pnpm build`:
// `node bench/parse-plan.mjs`. Goal: parse + graph of 10,000 instructions (500 stages) in < 50 ms,
// growing linearly (100,000 instructions in about 10 times that).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { parseDockerfile } from "../packages/core/dist/dockerfile/parse-dockerfile.js";
import { buildStageGraph } from "../packages/core/dist/stages/build-stage-graph.js";
import { analyzeDockerfile } from "../packages/core/dist/plan/analyze-dockerfile.js";
import { createDockerfileGenerator } from "./harness/make-dockerfile.mjs";

const SIZES = [1_000, 10_000, 100_000];
const RUNS = 11;
const WARMUP_RUNS = 5;
const GOAL_MS = 50;
const here = dirname(fileURLToPath(import.meta.url));

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

// The same files every run: one generator, seeded, called for each size in turn.
const makeDockerfile = createDockerfileGenerator();

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Wall and CPU time (this process, all threads: GC included) of `fn`, in steady state: after
 * warm-up runs, with no forced GC between runs (a full GC right before a run makes V8 shrink its
 * young generation, and the run then pays to grow it again).
 */
function measure(fn) {
  const coldStarted = process.hrtime.bigint();
  fn();
  const firstMs = Number(process.hrtime.bigint() - coldStarted) / 1e6;
  for (let i = 1; i < WARMUP_RUNS; i++) fn();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - started) / 1e6);
    const used = process.cpuUsage(cpuStarted);
    cpu.push((used.user + used.system) / 1e3);
  }
  const round = (value) => Number(value.toFixed(2));
  return {
    medianMs: round(median(wall)),
    minMs: round(Math.min(...wall)),
    cpuMedianMs: round(median(cpu)),
    firstCallMs: round(firstMs),
  };
}

/** Heap and RSS growth while the result of one call is alive. */
function memoryDelta(fn) {
  gc();
  const before = process.memoryUsage();
  const kept = fn();
  const after = process.memoryUsage();
  gc();
  const retained = process.memoryUsage();
  return {
    heapMiB: Number(((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)),
    retainedHeapMiB: Number(((retained.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)),
    rssMiB: Number(((after.rss - before.rss) / 2 ** 20).toFixed(1)),
    keptResult: kept !== undefined,
  };
}

const results = [];
for (const size of SIZES) {
  const { text, stages } = makeDockerfile(size);
  const row = {
    instructions: size,
    stages,
    lines: text.split("\n").length - 1,
    bytes: Buffer.byteLength(text),
    parse: { ...measure(() => parseDockerfile(text)), ...memoryDelta(() => parseDockerfile(text)) },
  };
  const ast = parseDockerfile(text);
  if (ast.children.length !== size)
    throw new Error(`generated ${ast.children.length} instructions, wanted ${size}`);
  const graphStages = buildStageGraph(ast).stages.length;
  if (graphStages !== stages) throw new Error(`graph has ${graphStages} stages, wanted ${stages}`);
  const timed = (fn) => {
    try {
      return { ...measure(fn), ...memoryDelta(fn) };
    } catch (error) {
      return { error: String(error?.message ?? error) };
    }
  };
  row.graph = timed(() => buildStageGraph(parseDockerfile(text)));
  row.plan = timed(() => analyzeDockerfile(text));
  results.push(row);
}

const cell = (m) =>
  m === undefined
    ? "n/a"
    : m.error !== undefined
      ? `error: ${m.error}`
      : `${m.medianMs} ms (min ${m.minMs}, CPU ${m.cpuMedianMs}, 1st call ${m.firstCallMs})`;
const mem = (m) =>
  m === undefined || m.error !== undefined
    ? "n/a"
    : `${m.heapMiB} (${m.retainedHeapMiB} kept) / ${m.rssMiB} MiB`;
console.log(
  `Node ${process.version}, median of ${RUNS} runs after ${WARMUP_RUNS} warm-up runs; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores\n`,
);
console.log("| instructions | stages | lines | bytes | measured | median | heap (kept) / RSS Δ |");
console.log("|---:|---:|---:|---:|---|---:|---:|");
for (const r of results) {
  for (const [label, m] of [
    ["parse", r.parse],
    ["parse + graph", r.graph],
    ["parse + graph + plan", r.plan],
  ]) {
    console.log(
      `| ${r.instructions} | ${r.stages} | ${r.lines} | ${r.bytes} | ${label} | ${cell(m)} | ${mem(m)} |`,
    );
  }
}
const tenThousand = results.find((r) => r.instructions === 10_000);
const hundredThousand = results.find((r) => r.instructions === 100_000);
const graphMs = tenThousand.graph.medianMs;
const growth = (key) =>
  (hundredThousand[key].medianMs / tenThousand[key].medianMs).toFixed(1) + "×";
console.log(
  `\n${graphMs < GOAL_MS ? "goal met" : "goal missed"}: parse + graph of 10,000 instructions in ${graphMs} ms (goal < ${GOAL_MS} ms)` +
    `\n100,000 / 10,000 instructions (linear = 10×): parse ${growth("parse")}, parse + graph ${growth("graph")}, parse + graph + plan ${growth("plan")}`,
);

mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "parse.json"),
  JSON.stringify(
    {
      benchmark: "parse-plan",
      node: process.version,
      date: new Date().toISOString(),
      runs: RUNS,
      warmupRuns: WARMUP_RUNS,
      goalMs: GOAL_MS,
      goal: "parse + graph of 10,000 instructions under goalMs, linear growth",
      results,
    },
    null,
    2,
  ) + "\n",
);

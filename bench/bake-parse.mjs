// Benchmark of reading a bake file: a generated docker-bake.hcl of 200 targets (variables, a
// function, inherits, matrices) parsed, evaluated and resolved as `stagecraft bake` does
// (`resolveBake`), and `stagecraft bake --print` on it end to end. Run after `pnpm build`:
// `node bench/bake-parse.mjs`. Goal (issue 17): the 200-target file in < 100 ms.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBake } from "../packages/core/dist/bake/index.js";

const TARGETS = 200;
const MATRIX_TARGETS = 5;
const MATRIX_VALUES = 10;
const RUNS = 21;
const WARMUP_RUNS = 5;
const GOAL_MS = 100;
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value) => Number(value.toFixed(2));
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../packages/cli/dist/bin/stagecraft.cjs");

/** 150 plain targets on a common parent, and 5 matrix targets of 10 values each: 200 in all. */
function makeBakeFile() {
  const plain = TARGETS - MATRIX_TARGETS * MATRIX_VALUES;
  const lines = [
    'variable "REGISTRY" {\n  default = "127.0.0.1:5000/bench"\n}',
    'variable "TAG" {\n  default = "dev"\n}',
    'variable "DEBUG" {\n  default = false\n}',
    'function "image" {\n  params = [name]\n  result = ["${REGISTRY}/${name}:${TAG}", "${REGISTRY}/${name}:latest"]\n}',
    'target "_common" {\n  context = "."\n  dockerfile = "Dockerfile"\n  args = {\n    TAG = TAG\n    DEBUG = DEBUG ? "1" : "0"\n  }\n  labels = {\n    "org.opencontainers.image.version" = TAG\n  }\n}',
  ];
  const names = [];
  for (let i = 1; i <= plain; i += 1) {
    const name = `svc-${String(i).padStart(3, "0")}`;
    names.push(name);
    lines.push(
      `target "${name}" {\n  inherits = ["_common"]\n  target = "stage-${i % 20}"\n` +
        `  tags = image("${name}")\n  args = {\n    INDEX = "${i}"\n    NAME = upper("${name}")\n  }\n` +
        `  cache-from = ["type=registry,ref=\${REGISTRY}/cache:${name}"]\n}`,
    );
  }
  for (let m = 1; m <= MATRIX_TARGETS; m += 1) {
    const values = Array.from({ length: MATRIX_VALUES }, (_, index) => `"v${index}"`).join(", ");
    lines.push(
      `target "matrix-${m}" {\n  inherits = ["_common"]\n  name = "matrix-${m}-\${variant}"\n` +
        `  matrix = {\n    variant = [${values}]\n  }\n  args = {\n    VARIANT = variant\n  }\n` +
        `  tags = image("matrix-${m}-\${variant}")\n}`,
    );
    names.push(`matrix-${m}`);
  }
  lines.push(`group "default" {\n  targets = [${names.map((name) => `"${name}"`).join(", ")}]\n}`);
  return `${lines.join("\n\n")}\n`;
}

const text = makeBakeFile();
const files = [{ name: "docker-bake.hcl", text }];
const resolve = () => resolveBake(files, { env: {} });

// `--first-call`: one cold call in this fresh process (what one `stagecraft bake` pays), as JSON.
if (process.argv.includes("--first-call")) {
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const config = resolve();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpuStarted);
  const resolved = Object.keys(config.target).length;
  if (resolved !== TARGETS) throw new Error(`resolved ${resolved} targets, wanted ${TARGETS}`);
  console.log(JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1e3 }));
  process.exit(0);
}
const firsts = Array.from({ length: 7 }, () =>
  JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--first-call"], {
      encoding: "utf8",
    }),
  ),
);
const firstCallMs = median(firsts.map((entry) => entry.wallMs));
const firstCallCpuMs = median(firsts.map((entry) => entry.cpuMs));
for (let i = 1; i < WARMUP_RUNS; i += 1) resolve();
const wall = [];
const cpu = [];
for (let i = 0; i < RUNS; i += 1) {
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  resolve();
  wall.push(performance.now() - started);
  const used = process.cpuUsage(cpuStarted);
  cpu.push((used.user + used.system) / 1e3);
}

// End to end: a fresh process reads the file and prints the resolved configuration.
const dir = mkdtempSync(join(os.tmpdir(), "stagecraft-bake-parse-"));
writeFileSync(join(dir, "docker-bake.hcl"), text);
const printWall = [];
try {
  for (let i = 0; i < 7; i += 1) {
    const started = performance.now();
    execFileSync(process.execPath, [cli, "bake", "--print"], { cwd: dir, stdio: "ignore" });
    printWall.push(performance.now() - started);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const result = {
  targets: TARGETS,
  lines: text.split("\n").length - 1,
  bytes: Buffer.byteLength(text),
  resolve: {
    medianMs: round(median(wall)),
    minMs: round(Math.min(...wall)),
    cpuMedianMs: round(median(cpu)),
    firstCallMs: round(firstCallMs),
    firstCallCpuMs: round(firstCallCpuMs),
  },
  printCommandMedianMs: round(median(printWall)),
  goalMs: GOAL_MS,
};
console.log(
  `Node ${process.version}, median of ${RUNS} runs after ${WARMUP_RUNS} warm-up runs; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores\n`,
);
console.log(
  `docker-bake.hcl of ${TARGETS} targets (${result.lines} lines, ${result.bytes} bytes): ` +
    `resolveBake ${result.resolve.medianMs} ms (min ${result.resolve.minMs}, CPU ${result.resolve.cpuMedianMs}, 1st call in a fresh process ${result.resolve.firstCallMs}, CPU ${result.resolve.firstCallCpuMs}, medians of 7); ` +
    `\`stagecraft bake --print\` in a fresh process ${result.printCommandMedianMs} ms (median of 7)`,
);
const worst = Math.max(result.resolve.medianMs, result.resolve.firstCallMs);
console.log(
  `${worst < GOAL_MS ? "goal met" : "goal missed"}: 200 targets read in ${round(worst)} ms, first call included (goal < ${GOAL_MS} ms)`,
);
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "bake-parse.json"),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...result }, null, 2)}\n`,
);

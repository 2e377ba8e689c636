// node bench/context-fingerprint.mjs (after `pnpm build`; no engine): what the fingerprint of a
// session context costs (`fingerprintContextDir`: the walk after .dockerignore, one lstat(2) per entry
// sent, hashed), on examples/node-service and on a generated tree of 10,000 files in 100
// directories (a tenth of them ignored by *.log). Median and min-max of 21 runs after 5 warm-up runs,
// wall and CPU, and the first call of the process (cold).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { fingerprintContextDir } from "../packages/core/dist/context/fingerprint-context-dir.js";

const RUNS = 21;
const WARMUP_RUNS = 5;

const tree = mkdtempSync(join(tmpdir(), "stagecraft-bench-fingerprint-"));
writeFileSync(join(tree, "Dockerfile"), "FROM scratch\nCOPY . /ctx\n");
writeFileSync(join(tree, ".dockerignore"), "**/*.log\n");
for (let dir = 0; dir < 100; dir++) {
  const path = join(tree, `dir-${String(dir).padStart(2, "0")}`);
  mkdirSync(path);
  for (let file = 0; file < 100; file++) {
    const ext = file % 10 === 0 ? "log" : "txt";
    writeFileSync(join(path, `file-${String(file).padStart(3, "0")}.${ext}`), "x".repeat(64));
  }
}
const nodeService = fileURLToPath(new URL("../examples/node-service", import.meta.url));
const cases = [
  { name: "examples/node-service", dir: nodeService },
  { name: "10,000 files, 100 dirs", dir: tree },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value) => Math.round(value * 100) / 100;
async function time(dir) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await fingerprintContextDir(dir, join(dir, "Dockerfile"));
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, entries: result.entries };
}

try {
  console.log("| context | entries hashed | first call ms | median ms (min-max) | CPU ms |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const { name, dir } of cases) {
    const first = await time(dir);
    for (let run = 0; run < WARMUP_RUNS; run++) await time(dir);
    const rows = [];
    for (let run = 0; run < RUNS; run++) rows.push(await time(dir));
    const walls = rows.map((row) => row.wallMs);
    console.log(
      `| ${name} | ${first.entries} | ${round(first.wallMs)} | ${round(median(walls))} (${round(Math.min(...walls))}-${round(Math.max(...walls))}) | ${round(median(rows.map((row) => row.cpuMs)))} |`,
    );
  }
} finally {
  rmSync(tree, { recursive: true, force: true });
}

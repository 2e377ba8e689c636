// node bench/sizes.mjs (after `pnpm build`; under flock /tmp/stagecraft-bench.lock): what knowing
// the size of a stage nobody asked for costs, with runBuild on examples/c-static and
// examples/node-service, one target (runtime), alternated:
// - cached builds, medians of ROUNDS (default 10): no sizes (stageSizes: false), a size probe every
//   time (no stageSizeFile), and a remembered size (stageSizeFile, warmed once);
// - cold builds (noCache: every step runs), COLD_ROUNDS (default 3) of each example: no sizes
//   against the probe after the targets. The probe's cost is the run's own timing (its "stage sizes"
//   debug record: from the targets' end to the sizes known), as a share of that cold build's wall
//   time; the wall times with and without are shown too, but the spread between cold builds on a
//   shared machine is larger than the probe.
// SIZES_CASES=cached or =cold runs one half. Wall time and this process's CPU time. Writes
// bench/results/sizes.json (the half not run is kept from the file).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeDockerfile, DockerEngine, runBuild } from "../packages/core/dist/index.js";

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const COLD_ROUNDS = Number(process.env.COLD_ROUNDS ?? 3);
const CASES = process.env.SIZES_CASES ?? "cached,cold";
const examples = ["c-static", "node-service"];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const engine = new DockerEngine();
const cacheDir = mkdtempSync(join(tmpdir(), "stagecraft-bench-sizes-"));

const modes = {
  off: { stageSizes: false },
  probe: { stageSizes: true },
  remembered: { stageSizes: true, stageSizeFile: join(cacheDir, "stage-sizes.json") },
};

async function once(dir, mode, extra = {}) {
  const dockerfile = `${dir}/Dockerfile`;
  const analysis = analyzeDockerfile(readFileSync(dockerfile, "utf8"), { targets: ["runtime"] });
  let sizes;
  const logger = {
    debug: (fields, message) => {
      if (message === "stage sizes") sizes = fields;
    },
    info: () => undefined,
    warn: (fields, message) => console.warn(message, fields),
    error: () => undefined,
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  const outcome = await runBuild({
    engine,
    analysis,
    context: { dir, dockerfile },
    ...modes[mode],
    ...extra,
    logger,
    labels: { "org.stagecraft.bench": "sizes" },
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (outcome.status !== "succeeded") throw new Error(`${dir}: ${outcome.status}`);
  const compared = outcome.report.targets[0]?.sizeComparison ?? null;
  if (mode !== "off" && compared === null) throw new Error(`${dir} ${mode}: no size comparison`);
  if (mode !== "off" && sizes === undefined)
    throw new Error(`${dir} ${mode}: no stage sizes record`);
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    ...(sizes === undefined ? {} : { sizesMs: sizes.ms, probed: sizes.probed.length }),
  };
}

const summary = (rows) => ({
  wallMs: Math.round(median(rows.map((r) => r.wallMs))),
  cpuMs: Math.round(median(rows.map((r) => r.cpuMs)) * 10) / 10,
  ...(rows[0]?.sizesMs === undefined
    ? {}
    : { sizesMs: Math.round(median(rows.map((r) => r.sizesMs))) }),
});

const resultsFile = new URL("results/sizes.json", import.meta.url);
const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {};
const ms = (value) => `${value} ms`;
const load = [readFileSync("/proc/loadavg", "utf8").trim()];
const cached = [];
const cold = [];
try {
  for (const name of CASES.includes("cached") ? examples : []) {
    const dir = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
    await once(dir, "probe"); // warm: every step cached
    await once(dir, "remembered"); // the size is remembered from here on
    const rows = { off: [], probe: [], remembered: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of Object.keys(rows)) rows[mode].push(await once(dir, mode));
    }
    cached.push({
      example: name,
      target: "runtime",
      rounds: ROUNDS,
      off: summary(rows.off),
      probe: summary(rows.probe),
      remembered: summary(rows.remembered),
    });
  }
  if (cached.length > 0) {
    load.push(readFileSync("/proc/loadavg", "utf8").trim());
    console.log("cached one-target build (median of", ROUNDS, "):");
    console.log(
      "| example | no sizes | probe | remembered | probe cost | remembered cost | sizes step (probe / remembered) |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of cached) {
      console.log(
        `| ${r.example} | ${ms(r.off.wallMs)} | ${ms(r.probe.wallMs)} | ${ms(r.remembered.wallMs)} | ${ms(r.probe.wallMs - r.off.wallMs)} | ${ms(r.remembered.wallMs - r.off.wallMs)} | ${ms(r.probe.sizesMs)} / ${ms(r.remembered.sizesMs)} |`,
      );
    }
  }

  for (const name of CASES.includes("cold") ? examples : []) {
    const dir = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
    const rows = { off: [], probe: [] };
    for (let round = 0; round < COLD_ROUNDS; round += 1) {
      for (const mode of Object.keys(rows)) {
        rows[mode].push(await once(dir, mode, { noCache: true }));
      }
    }
    const shares = rows.probe.map((row) => (100 * row.sizesMs) / row.wallMs);
    cold.push({
      example: name,
      target: "runtime",
      rounds: COLD_ROUNDS,
      off: summary(rows.off),
      probe: summary(rows.probe),
      runs: rows,
      probeSharePercent: {
        median: Math.round(median(shares) * 100) / 100,
        max: Math.round(Math.max(...shares) * 100) / 100,
      },
    });
  }
  if (cold.length > 0) {
    load.push(readFileSync("/proc/loadavg", "utf8").trim());
    console.log(`cold build (noCache, median of ${COLD_ROUNDS}, alternated):`);
    console.log(
      "| example | no sizes | with the probe | probe (run's own timing) | probe share, median (max) |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const r of cold) {
      console.log(
        `| ${r.example} | ${ms(r.off.wallMs)} | ${ms(r.probe.wallMs)} | ${ms(r.probe.sizesMs)} | ${r.probeSharePercent.median}% (${r.probeSharePercent.max}%) |`,
      );
    }
  }
  writeFileSync(
    resultsFile,
    `${JSON.stringify(
      {
        load,
        cached: cached.length > 0 ? cached : (previous.cached ?? []),
        cold: cold.length > 0 ? cold : (previous.cold ?? []),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

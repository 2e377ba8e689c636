// node bench/sizes.mjs (after `pnpm build`; under flock /tmp/stagecraft-bench.lock): what knowing
// the size of a stage nobody asked for costs, with runBuild on examples/c-static and
// examples/node-service, one target (runtime), alternated, medians of ROUNDS (default 10):
// - cached builds: no sizes (stageSizes: false), a size probe every time (no stageSizeFile), and a
//   remembered size (stageSizeFile, warmed once);
// - cold builds of c-static (noCache: every step runs), COLD_ROUNDS (default 3) each: no sizes
//   against a probe after the targets.
// Wall time and this process's CPU time. Writes bench/results/sizes.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeDockerfile, DockerEngine, runBuild } from "../packages/core/dist/index.js";

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const COLD_ROUNDS = Number(process.env.COLD_ROUNDS ?? 3);
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
  const cpu = process.cpuUsage();
  const start = performance.now();
  const outcome = await runBuild({
    engine,
    analysis,
    context: { dir, dockerfile },
    ...modes[mode],
    ...extra,
    labels: { "org.stagecraft.bench": "sizes" },
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (outcome.status !== "succeeded") throw new Error(`${dir}: ${outcome.status}`);
  const compared = outcome.report.targets[0]?.sizeComparison ?? null;
  if (mode !== "off" && compared === null) throw new Error(`${dir} ${mode}: no size comparison`);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const summary = (rows) => ({
  wallMs: Math.round(median(rows.map((r) => r.wallMs))),
  cpuMs: Math.round(median(rows.map((r) => r.cpuMs)) * 10) / 10,
});

const cached = [];
try {
  for (const name of examples) {
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

  const dir = fileURLToPath(new URL("../examples/c-static", import.meta.url));
  const cold = { off: [], probe: [] };
  for (let round = 0; round < COLD_ROUNDS; round += 1) {
    for (const mode of Object.keys(cold)) cold[mode].push(await once(dir, mode, { noCache: true }));
  }
  const coldRow = {
    example: "c-static",
    target: "runtime",
    rounds: COLD_ROUNDS,
    off: summary(cold.off),
    probe: summary(cold.probe),
  };

  const ms = (value) => `${value} ms`;
  console.log("cached one-target build (median of", ROUNDS, "):");
  console.log("| example | no sizes | probe | remembered | probe cost | remembered cost |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of cached) {
    console.log(
      `| ${r.example} | ${ms(r.off.wallMs)} | ${ms(r.probe.wallMs)} | ${ms(r.remembered.wallMs)} | ${ms(r.probe.wallMs - r.off.wallMs)} | ${ms(r.remembered.wallMs - r.off.wallMs)} |`,
    );
  }
  const extra = coldRow.probe.wallMs - coldRow.off.wallMs;
  console.log(
    `cold c-static (noCache, median of ${COLD_ROUNDS}): no sizes ${ms(coldRow.off.wallMs)}, probe after the targets ${ms(coldRow.probe.wallMs)} (${extra >= 0 ? "+" : ""}${extra} ms, ${((100 * extra) / coldRow.off.wallMs).toFixed(1)}%)`,
  );
  writeFileSync(
    new URL("results/sizes.json", import.meta.url),
    `${JSON.stringify({ load: readFileSync("/proc/loadavg", "utf8").trim(), cached, cold: coldRow }, null, 2)}\n`,
  );
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

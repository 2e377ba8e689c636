// node bench/sizes.mjs (after `pnpm build`): what the size probes cost on cached builds of
// examples/c-static and examples/node-service: runBuild with stageSizes on and off, alternated,
// wall and this process's CPU time, medians of ROUNDS. Writes bench/results/sizes.json.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { analyzeDockerfile, DockerEngine, runBuild } from "../packages/core/dist/index.js";

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const examples = [
  { name: "c-static", target: "runtime" },
  { name: "node-service", target: "runtime" },
];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const engine = new DockerEngine();

async function once(dir, target, stageSizes) {
  const dockerfile = `${dir}/Dockerfile`;
  const analysis = analyzeDockerfile(readFileSync(dockerfile, "utf8"), { targets: [target] });
  const cpu = process.cpuUsage();
  const start = performance.now();
  const outcome = await runBuild({
    engine,
    analysis,
    context: { dir, dockerfile },
    stageSizes,
    labels: { "org.stagecraft.bench": "sizes" },
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (outcome.status !== "succeeded") throw new Error(`${dir}: ${outcome.status}`);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const results = [];
for (const { name, target } of examples) {
  const dir = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  await once(dir, target, true); // warm: everything cached
  const on = [];
  const off = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    off.push(await once(dir, target, false));
    on.push(await once(dir, target, true));
  }
  const row = {
    example: name,
    target,
    wallOffMs: median(off.map((r) => r.wallMs)),
    wallOnMs: median(on.map((r) => r.wallMs)),
    cpuOffMs: median(off.map((r) => r.cpuMs)),
    cpuOnMs: median(on.map((r) => r.cpuMs)),
  };
  results.push(row);
}
console.log("| example | wall off | wall on | +wall | CPU off | CPU on |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  const f = (ms) => `${ms.toFixed(0)} ms`;
  console.log(
    `| ${r.example} | ${f(r.wallOffMs)} | ${f(r.wallOnMs)} | ${f(r.wallOnMs - r.wallOffMs)} | ${f(r.cpuOffMs)} | ${f(r.cpuOnMs)} |`,
  );
}
writeFileSync(
  new URL("results/sizes.json", import.meta.url),
  `${JSON.stringify(results, null, 2)}\n`,
);

// For docs/decisions/control-api.md: a fully cached one-target build through the Engine's
// `POST /build` against the same build through BuildKit's Control API (`/grpc`), each as stagecraft
// ships it (its own context transfer: a small local context goes as a tar to /build, through the
// session to Control). Warm-up builds first, then N runs of each, alternated; prints the medians of
// wall time and CPU time, and the load average. `in-process` times runBuild in one process (the
// modules loaded); `fresh` runs each build in a new Node process, as the CLI does, timed from the
// process's start (module loading included). Usage:
//   flock /tmp/stagecraft-bench.lock node bench/decisions/measure-control-api.mjs [runs] [in-process|fresh]
// (after `pnpm build`; talks to DOCKER_HOST or the local engine)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { cpuUsage } from "node:process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const runs = Number(process.argv[2] ?? 15);
const mode = process.argv[3] ?? "in-process";
const project = join(root, "examples", "demo");
const target = "app";
const { DockerEngine, analyzeDockerfile, runBuild } = await import(
  join(root, "packages", "core", "dist", "index.js")
);

const dockerfile = join(project, "Dockerfile");
const text = readFileSync(dockerfile, "utf8");
const paths = {
  build: () => new DockerEngine(),
  control: () => new DockerEngine({ builder: "control" }),
};

async function once(path) {
  const engine = paths[path]();
  const cpuBefore = cpuUsage();
  const started = performance.now();
  const outcome = await runBuild({
    engine,
    analysis: analyzeDockerfile(text, { file: "Dockerfile", targets: [target] }),
    context: { dir: project, dockerfile },
    labels: { "org.stagecraft.bench": "control-api" },
  });
  const wallMs = performance.now() - started;
  const cpu = cpuUsage(cpuBefore);
  if (outcome.status !== "succeeded") throw new Error(`${path}: the build ${outcome.status}`);
  const ran = outcome.report.targets.reduce((sum, entry) => sum + entry.stepsRun, 0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, ran };
}

/** One build in a new process (this script with `child PATH`): wall and CPU from its start. */
function fresh(path) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "1", "child", path], {
    encoding: "utf8",
  });
  if (child.status !== 0) throw new Error(`${path}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

if (mode === "child") {
  const path = process.argv[4];
  const sample = await once(path);
  // From the process's start: Node's own start-up, the modules, the build.
  const cpu = cpuUsage();
  console.log(
    JSON.stringify({
      wallMs: performance.now(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      ran: sample.ran,
    }),
  );
  process.exit(0);
}
const measure = mode === "fresh" ? (path) => Promise.resolve(fresh(path)) : once;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

for (const path of ["build", "control", "build", "control"]) await measure(path);
const samples = { build: [], control: [] };
const loads = [];
for (let index = 0; index < runs; index += 1) {
  const order = index % 2 === 0 ? ["build", "control"] : ["control", "build"];
  for (const path of order) {
    const sample = await measure(path);
    if (sample.ran > 0)
      throw new Error(`${path}: ${sample.ran} steps ran; the build is not cached`);
    samples[path].push(sample);
  }
  loads.push(loadavg()[0]);
}
const summary = Object.fromEntries(
  Object.entries(samples).map(([path, list]) => [
    path,
    {
      wallMs: Math.round(median(list.map((sample) => sample.wallMs)) * 10) / 10,
      cpuMs: Math.round(median(list.map((sample) => sample.cpuMs)) * 10) / 10,
      wallMinMs: Math.round(Math.min(...list.map((sample) => sample.wallMs))),
      wallMaxMs: Math.round(Math.max(...list.map((sample) => sample.wallMs))),
    },
  ]),
);
const ratio = summary.control.wallMs / summary.build.wallMs;
console.log(
  JSON.stringify(
    {
      mode,
      project: project.replace(`${root}/`, ""),
      target,
      runs,
      summary,
      controlOverBuild: Math.round(ratio * 1000) / 1000,
      load1: { min: Math.min(...loads), max: Math.max(...loads) },
    },
    null,
    2,
  ),
);

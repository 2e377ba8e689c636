// stagecraft against its peers on a real Docker Engine: `pnpm bench [--scenario NAME] [--runs N] [--quick]`.
// Each case runs every tool in alternation (A B C A B C …) and compares medians measured in the same
// run. Results go to bench/results/<scenario>.json and bench/results/SUMMARY.md. See bench/README.md.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  copyExample,
  makeContextCopyContext,
  makeDemoContext,
  makeCiCacheContext,
  makeFanOutContext,
} from "./harness/fixtures.mjs";
import { measureLimits } from "./harness/limits.mjs";
import { runCommand } from "./harness/run-command.mjs";
import { describe, formatSummary } from "./harness/summary.mjs";
import { BENCH_LABEL, snapshotStagecraft, stagecraftCli, tools } from "./harness/tools.mjs";

const RESULTS = fileURLToPath(new URL("results/", import.meta.url));
const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const SCENARIOS = [
  "single",
  "fanout",
  "projects",
  "bake",
  "large-context",
  "chatty",
  "frontend",
  "limits",
  "ci-cache",
  "pool",
];
// `pool` starts three CPU-capped engines (root): only when asked for.
const DEFAULT_SCENARIOS = SCENARIOS.filter((name) => name !== "pool");
// ci-cache: the containerd-store engine and the loopback registry (docker/README.md).
const CI_ENGINE = process.env.CI_CACHE_ENGINE ?? "c8d";
const CI_REGISTRY = process.env.CI_CACHE_REGISTRY ?? "127.0.0.1:5000";
const QUICK_SCENARIOS = ["single", "fanout", "bake", "frontend"];
const STEP_TIMEOUT_MS = 3 * 60_000;
const COLD_PROJECT_TIMEOUT_MS = 15 * 60_000;

const { values: options } = parseArgs({
  options: {
    scenario: { type: "string", multiple: true },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    "summary-only": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (options.help) {
  console.log(
    `Usage: pnpm bench [--scenario NAME]… [--runs N] [--quick] [--summary-only]\n` +
      `Scenarios: ${SCENARIOS.join(", ")} (default: all but pool; --quick: ${QUICK_SCENARIOS.join(", ")}, 2 runs)\n` +
      "--summary-only rewrites results/SUMMARY.md from the results/*.json already there.",
  );
  process.exit(0);
}
if (options["summary-only"]) {
  writeSummary();
  process.exit(0);
}
const explicitRuns = options.runs === undefined ? undefined : Number(options.runs);
if (explicitRuns !== undefined && !(Number.isInteger(explicitRuns) && explicitRuns > 0)) {
  throw new Error(`--runs wants a positive whole number, not "${options.runs}"`);
}
const runs = explicitRuns ?? (options.quick ? 2 : 5);
const selected = (
  options.scenario ?? (options.quick ? QUICK_SCENARIOS : DEFAULT_SCENARIOS)
).flatMap((name) => name.split(","));
for (const name of selected) {
  if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario "${name}" (${SCENARIOS})`);
}
if (
  !existsSync(fileURLToPath(new URL("../packages/cli/dist/bin/stagecraft.cjs", import.meta.url)))
) {
  throw new Error("packages/cli/dist/bin/stagecraft.cjs is missing: run `pnpm build` first");
}

// The projects build from the seeded Debian image; nothing can be pulled, so make it first (about
// two minutes with debootstrap) instead of failing every run with a registry lookup.
if (selected.includes("projects")) {
  try {
    execFileSync("docker", ["image", "inspect", "stagecraft/debian:bookworm"], { stdio: "ignore" });
  } catch {
    console.log("stagecraft/debian:bookworm is missing: running docker/seed-images.sh --debian");
    execFileSync(
      "bash",
      [fileURLToPath(new URL("../docker/seed-images.sh", import.meta.url)), "--debian"],
      {
        stdio: "inherit",
      },
    );
  }
}

const scratch = mkdtempSync(join(tmpdir(), "stagecraft-bench-"));
const stamp = Date.now().toString(36);
const environment = {
  engine: `Docker ${docker(["version", "--format", "{{.Server.Version}}"])}, buildx ${
    docker(["buildx", "version"]).split(" ")[1] ?? "?"
  }`,
  node: process.version,
  cpus: cpus().length,
  stagecraft: snapshotStagecraft(join(scratch, "stagecraft")),
  ...(process.env.BENCH_BASELINE === undefined ? {} : { baseline: process.env.BENCH_BASELINE }),
};
// BENCH_BASELINE=DIR: a copy of packages/ made as snapshotStagecraft makes one (DIR/packages,
// DIR/node_modules), from another commit; `bake` and `ci-cache` then run it as one more tool,
// alternated with the others, so before and after are measured at the same load.
const baselineCli =
  process.env.BENCH_BASELINE === undefined
    ? undefined
    : join(process.env.BENCH_BASELINE, "packages/cli/dist/bin/stagecraft.cjs");
if (baselineCli !== undefined && !existsSync(baselineCli)) {
  throw new Error(`BENCH_BASELINE: ${baselineCli} is missing`);
}
const log = (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

function docker(args) {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

/**
 * Runs one case: every tool `runs` times in alternation. `mode` is "cold" (a fresh NONCE per run,
 * so every step from the base stage's ARG on runs again), "cached" (the NONCE every tool built once
 * beforehand) or "edit" (cached, after `edit(run, tool)` changed a source file; `restore()` after).
 */
async function measureCase(spec) {
  const { name, context, targets, toolNames, mode, caseRuns, timeoutMs, edit } = spec;
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const build = { name: slug, context, targets };
  const warmNonce = `warm-${stamp}`;
  const entry = { name, mode, targets, tools: {} };
  for (const tool of toolNames) entry.tools[tool] = { label: tools[tool].label, samples: [] };
  if (mode !== "cold") {
    for (const tool of toolNames) {
      log(`${name}: warming with ${tool}`);
      try {
        await runTool(tool, { ...build, nonce: warmNonce }, timeoutMs.cold);
      } catch (error) {
        log(`${name}: warming with ${tool} FAILED: ${error.message}`);
        entry.tools[tool].errors = [`warming: ${String(error)}`];
      }
    }
  }
  for (let run = 1; run <= caseRuns; run += 1) {
    for (const tool of toolNames) {
      const nonce = mode === "cold" ? `${stamp}-${build.name}-${run}-${tool}` : warmNonce;
      const restore = mode === "edit" ? edit(run, tool) : undefined;
      try {
        const sample = await runTool(tool, { ...build, nonce }, timeoutMs[mode] ?? timeoutMs.cold);
        entry.tools[tool].samples.push(sample);
        log(
          `${name}: run ${run}/${caseRuns} ${tools[tool].label}: ${Math.round(sample.wallMs)} ms`,
        );
      } catch (error) {
        entry.tools[tool].errors = [...(entry.tools[tool].errors ?? []), String(error)];
        log(`${name}: run ${run}/${caseRuns} ${tools[tool].label} FAILED: ${error.message}`);
      } finally {
        restore?.();
      }
    }
  }
  for (const tool of Object.values(entry.tools)) {
    tool.stats = describe(tool.samples.map((sample) => sample.wallMs));
  }
  const ours = entry.tools.stagecraft;
  if (ours) {
    ours.peakRssMB = Math.round(Math.max(0, ...ours.samples.map((s) => s.peakRssBytes)) / 2 ** 20);
    const reports = ours.samples.filter((sample) => sample.report);
    if (spec.lowerBound && reports.length > 0) {
      entry.lowerBound = {
        criticalPath: describe(reports.map((s) => s.report.criticalPath.durationMs)),
        innerWall: describe(reports.map((s) => s.report.wallMs)),
        gap: describe(reports.map((s) => s.wallMs - s.report.criticalPath.durationMs)),
      };
    }
  }
  return entry;
}

async function runTool(tool, build, timeoutMs) {
  const { command, args, reportFile } = tools[tool].command(build, scratch);
  const { wallMs, peakRssBytes } = await runCommand(command, args, { timeoutMs });
  const sample = { wallMs: Math.round(wallMs), nonce: build.nonce };
  if (tool === "stagecraft") sample.peakRssBytes = peakRssBytes;
  if (reportFile && existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, "utf8"));
    sample.report = {
      wallMs: report.wallMs,
      criticalPath: { durationMs: report.criticalPath?.durationMs ?? 0 },
      stepsRun: report.totals?.stepsRun,
      stepsCached: report.totals?.stepsCached,
      slowestSteps: report.slowestSteps?.slice(0, 5),
    };
  }
  return sample;
}

/** Appends `// bench edit …` (or a C comment) to `file` and returns the function that restores it. */
/**
 * Writes a bake file of one Dockerfile's `targets` (each built `target: NAME` with `NONCE` and the
 * bench label), `more(name)` adding keys per target; returns its path.
 */
function writeBakeFile(file, { context, targets, nonce, more = () => ({}) }) {
  const target = Object.fromEntries(
    targets.map((name) => [
      name,
      {
        context,
        dockerfile: "Dockerfile",
        target: name,
        args: { NONCE: nonce },
        labels: { "org.stagecraft.bench": "1" },
        ...more(name),
      },
    ]),
  );
  writeFileSync(file, JSON.stringify({ group: { default: { targets } }, target }, null, 2));
  return file;
}

function appendComment(file, run, tool) {
  const original = readFileSync(file, "utf8");
  const comment = file.endsWith(".c")
    ? `/* bench edit ${run} ${tool} */`
    : `// bench edit ${run} ${tool}`;
  writeFileSync(file, `${original}${comment}\n`);
  return () => writeFileSync(file, original);
}

const timeouts = { cold: STEP_TIMEOUT_MS, cached: STEP_TIMEOUT_MS, edit: STEP_TIMEOUT_MS };

const scenarios = {
  async single() {
    const context = makeDemoContext(join(scratch, "demo"));
    const cases = [];
    for (const mode of ["cold", "cached"]) {
      cases.push(
        await measureCase({
          name: `one target (demo app), ${mode}`,
          context,
          targets: ["app"],
          toolNames: ["stagecraft", "buildx"],
          mode,
          caseRuns: runs,
          timeoutMs: timeouts,
        }),
      );
    }
    return { cases, note: "examples/demo plus `ARG NONCE` in its base stage; target app." };
  },

  async fanout() {
    const cases = [];
    for (const leaves of options.quick ? [4] : [4, 8]) {
      const context = makeFanOutContext(join(scratch, `fanout-${leaves}`), {
        leaves,
        baseSeconds: 3,
        leafSeconds: 2,
      });
      cases.push(
        await measureCase({
          name: `fan-out ${leaves} targets, cold`,
          context,
          targets: Array.from({ length: leaves }, (_, index) => `t${index + 1}`),
          toolNames: ["stagecraft", "bake", "loop"],
          mode: "cold",
          caseRuns: runs,
          timeoutMs: timeouts,
          lowerBound: true,
        }),
      );
    }
    return {
      cases,
      note: "busybox base stage `sleep 3`, each leaf `sleep 2`; lower bound = the critical path from stagecraft's --report.",
    };
  },

  async projects() {
    const projects = [
      { name: "node-service", targets: ["test", "lint", "runtime"], edit: "src/greeting.ts" },
      { name: "c-static", targets: ["test", "runtime"], edit: "src/count.c" },
      { name: "fullstack", targets: ["frontend", "backend", "app"], edit: "web/src/app.js" },
    ];
    const cases = [];
    for (const project of projects) {
      const context = copyExample(project.name, join(scratch, project.name));
      for (const mode of ["cold", "cached", "edit"]) {
        const name = `${project.name}, ${mode === "edit" ? `edit ${project.edit}` : mode}`;
        const spec = {
          name,
          context,
          targets: project.targets,
          toolNames: ["stagecraft", "bake", "loop"],
          mode,
          caseRuns: mode === "cold" ? (explicitRuns ?? 2) : runs,
          timeoutMs: { ...timeouts, cold: COLD_PROJECT_TIMEOUT_MS },
        };
        const file = join(context, project.edit);
        cases.push(
          await measureCase({ ...spec, edit: (run, tool) => appendComment(file, run, tool) }),
        );
      }
    }
    return {
      cases,
      note: "examples/* copied to a scratch dir; cold runs keep RUN --mount=type=cache contents (apt, npm) as a persistent builder does; 2 cold runs by default.",
    };
  },

  // Issue 17: `stagecraft bake` and `docker buildx bake` on the same file, in the same directory,
  // with the same environment and flags (goal ≤ 1.0×).
  async bake() {
    const projects = [
      { name: "bake-hcl", targets: ["api", "api-test", "worker-fast", "worker-safe"] },
      { name: "compose-services", targets: ["web", "api", "migrate", "proxy"] },
    ];
    const bakeWith = (cli, label) => ({
      label,
      args: (reportFile) => [cli, "bake", "--progress", "quiet", "--report", reportFile],
      command: process.execPath,
    });
    const bakeTools = {
      stagecraft: bakeWith(stagecraftCli(), "stagecraft bake"),
      ...(baselineCli === undefined
        ? {}
        : { baseline: bakeWith(baselineCli, "stagecraft bake at BENCH_BASELINE") }),
      bake: {
        label: "docker buildx bake",
        args: () => ["buildx", "bake", "--progress=quiet"],
        command: "docker",
      },
    };
    const common = ["--set", `*.labels.${BENCH_LABEL}`];
    const cases = [];
    for (const project of projects) {
      const cwd = copyExample(project.name, join(scratch, `bake-${project.name}`));
      const env = { TAG: `bench-${stamp}`, REPO: "scbench-bake" };
      for (const mode of ["cold", "cached"]) {
        const name = `${project.name} (${project.targets.length} targets, 2 Dockerfiles), ${mode}`;
        const entry = { name, mode, targets: project.targets, tools: {} };
        const flags = mode === "cold" ? [...common, "--no-cache"] : common;
        const once = async (tool) => {
          const reportFile = join(scratch, `bake-report-${Date.now()}.json`);
          const { command, args } = bakeTools[tool];
          const { wallMs, peakRssBytes } = await runCommand(
            command,
            [...args(reportFile), ...flags],
            {
              cwd,
              env,
              timeoutMs: STEP_TIMEOUT_MS,
            },
          );
          return { wallMs: Math.round(wallMs), peakRssBytes };
        };
        for (const tool of Object.keys(bakeTools)) {
          entry.tools[tool] = { label: bakeTools[tool].label, samples: [] };
          // Both tools build once first: the base images are read, and `cached` has its cache.
          await once(tool);
        }
        for (let run = 1; run <= runs; run += 1) {
          for (const tool of Object.keys(bakeTools)) {
            try {
              const sample = await once(tool);
              entry.tools[tool].samples.push(sample);
              log(`${name}: run ${run}/${runs} ${bakeTools[tool].label}: ${sample.wallMs} ms`);
            } catch (error) {
              entry.tools[tool].errors = [...(entry.tools[tool].errors ?? []), String(error)];
              log(`${name}: run ${run}/${runs} ${bakeTools[tool].label} FAILED: ${error.message}`);
            }
          }
        }
        for (const tool of Object.values(entry.tools)) {
          tool.stats = describe(tool.samples.map((sample) => sample.wallMs));
        }
        const ours = entry.tools.stagecraft;
        ours.peakRssMB = Math.round(
          Math.max(0, ...ours.samples.map((s) => s.peakRssBytes)) / 2 ** 20,
        );
        for (const sample of Object.values(entry.tools).flatMap((tool) => tool.samples)) {
          delete sample.peakRssBytes;
        }
        cases.push(entry);
      }
    }
    return {
      cases,
      note: "examples/bake-hcl and examples/compose-services copied to a scratch dir; both tools run in it with the same environment and `--set *.labels.org.stagecraft.bench=1`; cold = `--no-cache`, cached = every step cached; runs alternated.",
    };
  },

  async "large-context"() {
    const large = makeContextCopyContext(join(scratch, "large"), {});
    const small = makeContextCopyContext(join(scratch, "small"), {
      dirs: 1,
      filesPerDir: 10,
      fileBytes: 1024,
    });
    const cases = [];
    for (const [label, context] of [
      ["small context (10 KB)", small],
      ["50 MB / 5,000-file context", large],
    ]) {
      cases.push(
        await measureCase({
          name: `no-op rebuild, 4 targets, ${label}`,
          context,
          targets: ["a", "b", "c", "d"],
          toolNames: ["stagecraft", "bake", "loop"],
          mode: "cached",
          caseRuns: runs,
          timeoutMs: timeouts,
        }),
      );
    }
    return {
      cases,
      note: "`COPY . /ctx` in a base stage, 4 targets a–d on it; every step cached.",
    };
  },

  // Issue 12's memory goal: 40 targets that print 200,000 lines each, under 150 MB peak RSS.
  async chatty() {
    const context = join(scratch, "chatty");
    mkdirSync(context, { recursive: true });
    const targets = Array.from({ length: 40 }, (_, index) => `t${index + 1}`);
    const stages = targets.map(
      (target) =>
        `FROM stagecraft/busybox:latest AS ${target}\nARG NONCE\nRUN echo ${target}; seq 1 200000\n`,
    );
    writeFileSync(join(context, "Dockerfile"), stages.join(""));
    const entry = await measureCase({
      name: "chatty, 40 targets x 200,000 lines, cold",
      context,
      targets,
      toolNames: ["stagecraft"],
      mode: "cold",
      caseRuns: explicitRuns ?? 1,
      timeoutMs: timeouts,
    });
    return {
      cases: [entry],
      note: "40 busybox targets, each `RUN echo tN; seq 1 200000` (distinct, so no step is shared); goal: stagecraft's peak RSS < 150 MB.",
    };
  },

  async limits() {
    return await measureLimits({
      runs,
      scratch,
      cli: stagecraftCli(),
      coreDist: join(scratch, "stagecraft", "packages", "core", "dist"),
      log,
    });
  },

  async pool() {
    // Three small machines: extra engines whose whole cgroup (dockerd, containerd, every RUN step)
    // is capped at POOL_CPUS CPUs by docker/start-engine.sh --cpus. The same build on one of them
    // (stagecraft, and docker buildx bake) against the three as a pool through the loopback registry.
    const cpusEach = process.env.POOL_CPUS ?? "0.5";
    const names = ["scpb1", "scpb2", "scpb3"];
    const startEngine = join(BENCH_DIR, "..", "docker", "start-engine.sh");
    const stopEngines = join(BENCH_DIR, "..", "docker", "stop-engines.sh");
    // The results travel through the loopback registry: start it (idempotent) rather than fail
    // every pool run with "the registry cannot be reached" on a machine where no test started it.
    execFileSync("bash", [join(BENCH_DIR, "..", "docker", "start-registry.sh")], {
      stdio: "inherit",
    });
    for (const name of names) {
      log(`pool: starting engine ${name} capped at ${cpusEach} CPUs`);
      execFileSync("bash", [startEngine, name, "--cpus", cpusEach], { stdio: "inherit" });
    }
    const hosts = names.map(
      (name) => JSON.parse(readFileSync(`/run/stagecraft/engines/${name}.json`, "utf8")).host,
    );
    const [firstHost] = hosts;
    const iterations = Number(process.env.POOL_ITERATIONS ?? 400_000);
    const targets = ["t1", "t2", "t3", "t4", "t5", "t6"];
    const context = join(scratch, "pool");
    mkdirSync(join(context, ".stagecraft", "reports"), { recursive: true });
    writeFileSync(
      join(context, "Dockerfile"),
      [
        "FROM stagecraft/busybox:latest AS base",
        "ARG NONCE",
        'RUN echo "$NONCE" > /nonce && head -c 4000000 /dev/urandom > /payload',
        ...targets.flatMap((target) => [
          `FROM base AS ${target}`,
          `RUN i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo ${target} > /done`,
        ]),
        "",
      ].join("\n"),
    );
    const registry = "127.0.0.1:5000/scbench-pool";
    const variants = {
      stagecraft: {
        label: `stagecraft, pool of 3 × ${cpusEach} CPU`,
        command: (nonce, report) => [
          process.execPath,
          [
            stagecraftCli(),
            "build",
            context,
            ...targets.flatMap((target) => ["--target", target]),
            ...["--build-arg", `NONCE=${nonce}`, "--label", BENCH_LABEL],
            ...["--progress", "quiet", "--report", report, "--registry", registry],
            ...names.flatMap((name, index) => ["--engine", `${name}=${hosts[index]}`]),
          ],
          {},
        ],
      },
      one: {
        label: `stagecraft, one engine × ${cpusEach} CPU`,
        command: (nonce) => [
          process.execPath,
          [
            stagecraftCli(),
            "build",
            context,
            ...targets.flatMap((target) => ["--target", target]),
            ...["--build-arg", `NONCE=${nonce}`, "--label", BENCH_LABEL, "--progress", "quiet"],
            ...["--report", join(context, ".stagecraft", "reports", `one-${nonce}.json`)],
          ],
          { DOCKER_HOST: firstHost },
        ],
      },
      bake: {
        label: `docker buildx bake, one engine × ${cpusEach} CPU`,
        command: (nonce) => {
          const file = writeBakeFile(join(scratch, `pool-bake-${nonce}.json`), {
            context,
            targets,
            nonce,
          });
          return [
            "docker",
            ["buildx", "bake", "-f", file, "--progress=quiet"],
            { DOCKER_HOST: firstHost },
          ];
        },
      },
    };
    const entry = {
      name: `CPU-bound fan-out of 6 targets (${iterations} shell iterations each), cold`,
      mode: "cold",
      targets,
      tools: {},
    };
    // The one-engine stagecraft run goes first and writes its report where the pool's placement
    // reads estimates (CONTEXT/.stagecraft/reports), as a user's earlier runs would.
    const order = ["one", "bake", "stagecraft"];
    for (const key of order) entry.tools[key] = { label: variants[key].label, samples: [] };
    const transfers = [];
    try {
      for (let run = 1; run <= runs; run += 1) {
        for (const key of order) {
          const variant = variants[key];
          const nonce = `${stamp}-pool-${run}-${key}`;
          const report = join(scratch, `pool-report-${nonce}.json`);
          const [command, args, env] = variant.command(nonce, report);
          try {
            const { wallMs } = await runCommand(command, args, { env, timeoutMs: 10 * 60_000 });
            entry.tools[key].samples.push({ wallMs: Math.round(wallMs), nonce });
            log(`pool: run ${run}/${runs} ${variant.label}: ${Math.round(wallMs)} ms`);
            if (key === "stagecraft") {
              const outcome = JSON.parse(readFileSync(report, "utf8"));
              transfers.push({
                shared: outcome.shared,
                busyMs: outcome.busyMs,
                engines: Object.fromEntries(
                  names.map((name) => [
                    name,
                    outcome.targets.filter((t) => t.engine === name).map((t) => t.target),
                  ]),
                ),
              });
            }
          } catch (error) {
            entry.tools[key].errors = [...(entry.tools[key].errors ?? []), String(error)];
            log(`pool: run ${run}/${runs} ${variant.label} FAILED: ${error.message}`);
          }
        }
      }
    } finally {
      for (const host of hosts) {
        try {
          execFileSync("sh", ["-c", `docker image prune -a -f --filter label=${BENCH_LABEL}`], {
            env: { ...process.env, DOCKER_HOST: host },
            stdio: "ignore",
          });
        } catch {
          // The engine is stopped next anyway.
        }
      }
      execFileSync("bash", [stopEngines, ...names], { stdio: "inherit" });
    }
    for (const tool of Object.values(entry.tools)) {
      tool.stats = describe(tool.samples.map((sample) => sample.wallMs));
    }
    const pushMs = transfers.flatMap((t) => t.shared.map((shared) => shared.pushMs));
    const bytes = transfers.flatMap((t) => t.shared.map((shared) => shared.bytes));
    // Each reader engine's fetch of a shared stage (BuildKit's timestamps), the other half.
    const readers = transfers.flatMap((t) => t.shared.flatMap((shared) => shared.readers ?? []));
    entry.transfer = {
      pushMs: describe(pushMs),
      bytes: describe(bytes),
      pullMs: describe(readers.map((reader) => reader.pullMs)),
      pullBytes: describe(readers.map((reader) => reader.bytes)),
      runs: transfers,
    };
    return {
      cases: [entry],
      note:
        `three extra engines (docker/start-engine.sh --cpus ${cpusEach}: a CFS quota on each ` +
        "engine's cgroup), busybox base stage with a 4 MB payload shared by six CPU-bound shell " +
        "loops; pool = stagecraft --engine ×3 --registry 127.0.0.1:5000; peers on the first engine " +
        `alone. Shared-stage push: median ${describe(pushMs)?.median ?? "?"} ms; each reader's pull: ` +
        `median ${describe(readers.map((reader) => reader.pullMs))?.median ?? "?"} ms.`,
    };
  },

  // Issue 13: a CI runner is a fresh engine. On the containerd-store engine, with the loopback
  // registry: a cold build that exports a registry cache (mode=max), the engine emptied (the bench
  // images removed, `docker builder prune -af`), then the rebuild that imports it; and `--push` of
  // three targets. stagecraft against `docker buildx bake` with the same settings, alternated.
  async "ci-cache"() {
    // The registry and the engine are started here (both idempotent), with the flags the tests give
    // c8d in test/support/infra.ts: --nat, so examples/node-service's apt and npm steps run there cold.
    execFileSync("bash", [join(BENCH_DIR, "..", "docker", "start-registry.sh")], {
      stdio: "inherit",
    });
    if (process.env.CI_CACHE_ENGINE === undefined) {
      execFileSync(
        "bash",
        [
          join(BENCH_DIR, "..", "docker", "start-engine.sh"),
          CI_ENGINE,
          "--containerd-store",
          "--nat",
          "--seed-debian",
        ],
        { stdio: "inherit" },
      );
    }
    const host = `unix:///run/stagecraft/engines/${CI_ENGINE}.sock`;
    const env = { DOCKER_HOST: host };
    const onEngine = (args) =>
      execFileSync("docker", args, { encoding: "utf8", env: { ...process.env, ...env } }).trim();
    const store = onEngine(["info", "--format", "{{json .DriverStatus}}"]);
    if (!store.includes("io.containerd.snapshotter.v1")) {
      throw new Error(`engine ${CI_ENGINE} (${host}) has no containerd image store: ${store}`);
    }
    execFileSync("curl", ["-fsS", "-o", "/dev/null", `http://${CI_REGISTRY}/v2/`]);
    const engineVersion = onEngine(["version", "--format", "{{.Server.Version}}"]);
    // The registry-cache cases build examples/node-service (apt and npm in RUN: c8d's NAT), as the
    // issue asks; the --push cases the small busybox fixture (three targets on one base stage).
    const project = copyExample("node-service", join(scratch, "ci-node-service"));
    const projectTargets = ["test", "lint", "runtime"];
    const context = makeCiCacheContext(join(scratch, "ci-cache"), {
      payloadKB: 2048,
      baseIterations: 400_000,
      leafIterations: 300_000,
    });
    const targets = ["t1", "t2", "t3"];
    const cacheRepo = `${CI_REGISTRY}/scbench-ci/cache-${stamp}`;
    const pushRepo = `${CI_REGISTRY}/scbench-ci/push-${stamp}`;
    const emptyEngine = () => {
      const ids = onEngine(["image", "ls", "-a", "-q", "--filter", `label=${BENCH_LABEL}`]);
      const unique = [...new Set(ids.split("\n"))].filter(Boolean);
      if (unique.length > 0) onEngine(["image", "rm", "-f", ...unique]);
      onEngine(["builder", "prune", "-af"]);
    };
    const stagecraftArgs = (
      nonce,
      extra,
      tagOf,
      on = { context, targets },
      cli = stagecraftCli(),
    ) => [
      cli,
      "build",
      on.context,
      "--target",
      on.targets.join(","),
      "--progress",
      "quiet",
      "--build-arg",
      `NONCE=${nonce}`,
      "--label",
      BENCH_LABEL,
      ...on.targets.flatMap((target) => ["-t", `${target}=${tagOf(target)}`]),
      ...extra,
    ];
    // bake gets the refs stagecraft derives from one --cache-to ref: REF:TAG-TARGET per target,
    // and every target imports all of them.
    const bakeFile = (nonce, name, { cacheTo, cacheFrom, tagOf }, on = { context, targets }) =>
      writeBakeFile(join(scratch, `ci-bake-${name}-${nonce}.json`), {
        context: on.context,
        targets: on.targets,
        nonce,
        more: (leaf) => ({
          tags: [tagOf(leaf)],
          ...(cacheTo ? { "cache-to": [`type=registry,ref=${cacheTo(leaf)},mode=max`] } : {}),
          ...(cacheFrom
            ? { "cache-from": on.targets.map((t) => `type=registry,ref=${cacheFrom(t)}`) }
            : {}),
        }),
      });
    const localTag = (nonce) => (target) => `scbench/ci-cache:${target}-${nonce}`;
    const variants = {
      stagecraft: { label: "stagecraft (bases pinned, the default)", pin: [] },
      ...(baselineCli === undefined
        ? {}
        : { baseline: { label: "stagecraft at BENCH_BASELINE", pin: [], cli: baselineCli } }),
      // ~2 min more a round on node-service: only when asked for (CI_CACHE_NOPIN=1).
      ...(process.env.CI_CACHE_NOPIN === "1"
        ? { nopin: { label: "stagecraft --no-pin-bases", pin: ["--no-pin-bases"] } }
        : {}),
      // The stage-size probe exports the stages the targets copy from or build on (source, build)
      // after the targets: measured beside the default, it is most of a cached rebuild's cost.
      nosizes: { label: "stagecraft --no-stage-sizes", pin: ["--no-stage-sizes"] },
      bake: { label: "docker buildx bake" },
    };
    const onProject = { context: project, targets: projectTargets };
    const commandFor = (tool, phase, nonce) => {
      const ref = `${cacheRepo}:${nonce}`;
      const perTarget = (target) => `${ref}-${target}`;
      const reportFile = join(scratch, `ci-report-${tool}-${phase}-${nonce}.json`);
      if (tool === "bake") {
        const spec =
          phase === "cold"
            ? { cacheTo: perTarget, tagOf: localTag(nonce) }
            : { cacheFrom: perTarget, tagOf: localTag(nonce) };
        const file = bakeFile(nonce, phase, spec, onProject);
        return {
          command: "docker",
          args: ["buildx", "bake", "-f", file, "--progress=quiet"],
          timeoutMs: phase === "cold" ? COLD_PROJECT_TIMEOUT_MS : STEP_TIMEOUT_MS,
        };
      }
      const cache =
        phase === "cold"
          ? ["--cache-to", `type=registry,ref=${ref},mode=max`]
          : ["--cache-from", `type=registry,ref=${ref}`];
      const args = stagecraftArgs(
        nonce,
        [...cache, ...variants[tool].pin],
        localTag(nonce),
        onProject,
        variants[tool].cli,
      );
      return {
        command: process.execPath,
        args: [...args, "--report", reportFile],
        reportFile,
        timeoutMs: phase === "cold" ? COLD_PROJECT_TIMEOUT_MS : STEP_TIMEOUT_MS,
      };
    };
    const timed = async ({ command, args, reportFile, timeoutMs = STEP_TIMEOUT_MS }) => {
      const { wallMs } = await runCommand(command, args, { env, timeoutMs });
      const sample = { wallMs: Math.round(wallMs) };
      if (reportFile && existsSync(reportFile)) {
        const report = JSON.parse(readFileSync(reportFile, "utf8"));
        sample.stepsRun = report.totals?.stepsRun;
        sample.stepsCached = report.totals?.stepsCached;
        sample.reportWallMs = report.wallMs;
      }
      return sample;
    };
    const newEntry = (name, mode, names, on = targets) => ({
      name,
      mode,
      targets: on,
      tools: Object.fromEntries(names.map((t) => [t, { label: variants[t].label, samples: [] }])),
    });
    const cold = newEntry(
      "examples/node-service, registry cache: cold build, --cache-to mode=max",
      "cold",
      Object.keys(variants),
      projectTargets,
    );
    const rebuild = newEntry(
      "examples/node-service, registry cache: fresh engine, --cache-from",
      "cached",
      Object.keys(variants),
      projectTargets,
    );
    const record = (entry, tool, run, sample) => {
      entry.tools[tool].samples.push(sample);
      log(
        `ci-cache ${entry.mode}: run ${run}/${runs} ${variants[tool].label}: ${sample.wallMs} ms`,
      );
    };
    const fail = (entry, tool, run, error) => {
      entry.tools[tool].errors = [...(entry.tools[tool].errors ?? []), String(error)];
      log(
        `ci-cache ${entry.mode}: run ${run}/${runs} ${variants[tool].label} FAILED: ${error.message}`,
      );
    };
    emptyEngine();
    for (let run = 1; run <= runs; run += 1) {
      for (const tool of Object.keys(variants)) {
        const nonce = `${stamp}-${run}-${tool}`;
        let phase = cold;
        try {
          record(cold, tool, run, await timed(commandFor(tool, "cold", nonce)));
          emptyEngine();
          phase = rebuild;
          record(rebuild, tool, run, await timed(commandFor(tool, "cached", nonce)));
        } catch (error) {
          // A cold build that failed left no cache to rebuild from: that run has no rebuild.
          fail(phase, tool, run, error);
        } finally {
          emptyEngine();
        }
      }
    }
    // --push of the three targets: fresh layers (a new NONCE each run, the build cold from the
    // base's ARG on), and a cached build pushed under a new tag (the registry has every blob).
    const pushTag = (nonce) => (target) => `${pushRepo}:${target}-${nonce}`;
    const pushCommand = (tool, buildNonce, tagNonce) => {
      if (tool === "bake") {
        const file = bakeFile(buildNonce, `push-${tagNonce}`, { tagOf: pushTag(tagNonce) });
        return {
          command: "docker",
          args: ["buildx", "bake", "-f", file, "--progress=quiet", "--push"],
        };
      }
      const reportFile = join(scratch, `ci-report-push-${tagNonce}.json`);
      const args = stagecraftArgs(
        buildNonce,
        ["--push", "--report", reportFile],
        pushTag(tagNonce),
      );
      return { command: process.execPath, args, reportFile };
    };
    const pushTools = ["stagecraft", "bake"];
    const pushCold = newEntry("--push 3 targets, fresh layers (cold build)", "cold", pushTools);
    const pushCached = newEntry("--push 3 targets, cached build, new tags", "cached", pushTools);
    for (const tool of pushTools) {
      // The cached case's build, made and pushed once by each tool.
      await timed(pushCommand(tool, `push-warm-${stamp}`, `warm-${tool}`));
    }
    for (let run = 1; run <= runs; run += 1) {
      for (const tool of pushTools) {
        const nonce = `${stamp}-push-${run}-${tool}`;
        try {
          record(pushCold, tool, run, await timed(pushCommand(tool, nonce, nonce)));
        } catch (error) {
          fail(pushCold, tool, run, error);
        }
        try {
          const again = `again-${nonce}`;
          record(
            pushCached,
            tool,
            run,
            await timed(pushCommand(tool, `push-warm-${stamp}`, again)),
          );
        } catch (error) {
          fail(pushCached, tool, run, error);
        }
      }
    }
    emptyEngine();
    const cases = [cold, rebuild, pushCold, pushCached];
    for (const entry of cases) {
      for (const tool of Object.values(entry.tools)) {
        tool.stats = describe(tool.samples.map((sample) => sample.wallMs));
      }
    }
    // The CI goal: the fresh-engine rebuild as a share of the same tool's cold build.
    const rebuildShare = Object.fromEntries(
      Object.keys(variants).map((tool) => {
        const [a, b] = [rebuild.tools[tool].stats, cold.tools[tool].stats];
        return [tool, a && b ? Math.round((1000 * a.median) / b.median) / 10 : null];
      }),
    );
    return {
      cases,
      rebuildShare,
      note:
        `engine ${CI_ENGINE} (Docker ${engineVersion}, containerd image store, ${host}), registry ` +
        `${CI_REGISTRY}; registry cache: examples/node-service, targets test, lint, runtime (apt ` +
        "and npm from the network through the engine's NAT); --push: a busybox base stage (ARG " +
        "NONCE, 2 MB of /dev/urandom, a 400,000-step shell loop) and three targets on it (300,000 " +
        "steps, 256 KB each); a fresh NONCE and cache ref per run; before the cold build and the " +
        "rebuild the engine is emptied (bench images removed, `docker builder prune -af`, which " +
        "also drops the apt and npm cache mounts); bake gets stagecraft's per-target refs " +
        "(REF:TAG-TARGET, every target imports all three). Rebuild as % of the same tool's cold build: " +
        Object.entries(rebuildShare)
          .map(([tool, share]) => `${variants[tool].label} ${share ?? "?"}%`)
          .join(", ") +
        ".",
    };
  },

  async frontend() {
    const scripts = [];
    for (const script of ["parse-plan.mjs", "progress.mjs", "check.mjs", "bake-parse.mjs"]) {
      log(`frontend: node bench/${script}`);
      const { output, wallMs } = await runCommand(process.execPath, [join(BENCH_DIR, script)], {
        timeoutMs: 10 * 60_000,
      });
      scripts.push({ script: `bench/${script}`, wallMs: Math.round(wallMs), output });
      console.log(output.trim());
    }
    return {
      scripts,
      note: "micro-benchmarks of the front end (their own JSON is in this folder).",
    };
  },
};

function cleanUp() {
  log(`removing images labelled ${BENCH_LABEL}`);
  const ids = [
    ...new Set(docker(["image", "ls", "-a", "-q", "--filter", `label=${BENCH_LABEL}`]).split("\n")),
  ].filter(Boolean);
  if (ids.length > 0) {
    try {
      execFileSync("docker", ["image", "rm", "-f", ...ids], { stdio: "ignore" });
    } catch {
      // An image some other run removed meanwhile; the prune below catches what is left.
    }
  }
  docker(["image", "prune", "-f", "--filter", `label=${BENCH_LABEL}`]);
  rmSync(scratch, { recursive: true, force: true });
}

process.on("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

mkdirSync(RESULTS, { recursive: true });
try {
  for (const name of selected) {
    log(`scenario ${name} (${runs} runs)`);
    const result = await scenarios[name]();
    const full = { scenario: name, date: new Date().toISOString(), environment, runs, ...result };
    writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify(full, null, 2) + "\n");
  }
} finally {
  cleanUp();
}

writeSummary();

/** Writes results/SUMMARY.md from every scenario's JSON there, and prints it. */
function writeSummary() {
  const all = SCENARIOS.filter((name) => existsSync(join(RESULTS, `${name}.json`))).map((name) =>
    JSON.parse(readFileSync(join(RESULTS, `${name}.json`), "utf8")),
  );
  const summary = formatSummary(all);
  writeFileSync(join(RESULTS, "SUMMARY.md"), summary + "\n");
  console.log(`\n${summary}`);
}

// For docs/decisions/dockerode.md and tar-fs.md: what loading a library costs the bundled CLI, run
// through V8's code cache as the shipped bin is. Builds a variant bundle (the CLI with the library
// loaded first; for dockerode also used for the version call), then times a fully cached one-target
// build with the shipped bin and the variants, alternated, N times each: wall time, and the CLI's
// CPU time (`perf stat -e task-clock`), which a loaded machine disturbs far less. Usage:
//   node bench/decisions/measure-bundle-cost.mjs dockerode|tar-fs [runs]
// (after `pnpm build`; needs the engine and perf)
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const library = process.argv[2] ?? "dockerode";
const runs = Number(process.argv[3] ?? 20);
const require = createRequire(join(root, "packages", "cli", "package.json"));
const { build } = require("esbuild");

const work = mkdtempSync(join(tmpdir(), "stagecraft-bundle-cost-"));
const variant = join(work, "bin");
mkdirSync(variant);
// The entry sits in test/, whose node_modules has dockerode.
const entry = join(root, "test", `.bundle-cost-variant-${process.pid}.cjs`);
writeFileSync(
  entry,
  library === "dockerode"
    ? [
        'const Docker = require("dockerode");',
        "const docker = new Docker();",
        'if (process.env.VARIANT_CALL === "1") docker.version().then(() => require("../packages/cli/dist/main.js"));',
        'else require("../packages/cli/dist/main.js");',
      ].join("\n")
    : `require(${JSON.stringify(library)});\nrequire("../packages/cli/dist/main.js");\n`,
);
try {
  await build({
    entryPoints: [entry],
    outfile: join(variant, "stagecraft-bundle.cjs"),
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    minifyWhitespace: true,
    charset: "ascii",
    supported: { "dynamic-import": false },
    // ssh2's optional native addons: dockerode runs without them, as it does for most users.
    external: ["*.node", "cpu-features"],
    logLevel: "error",
  });
} finally {
  rmSync(entry, { force: true });
}
copyFileSync(
  join(root, "packages", "cli", "dist", "bin", "stagecraft.cjs"),
  join(variant, "stagecraft.cjs"),
);

const project = join(work, "project");
mkdirSync(project);
writeFileSync(
  join(project, "Dockerfile"),
  "FROM stagecraft/busybox:latest AS app\nRUN echo cached > /x\n",
);

const bins = {
  shipped: { bin: join(root, "packages", "cli", "dist", "bin", "stagecraft.cjs"), env: {} },
  [`with ${library} loaded`]: { bin: join(variant, "stagecraft.cjs"), env: {} },
  ...(library === "dockerode"
    ? {
        "with dockerode used for /version": {
          bin: join(variant, "stagecraft.cjs"),
          env: { VARIANT_CALL: "1" },
        },
      }
    : {}),
};
const time = ({ bin, env }) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    "perf",
    [
      "stat",
      "-x,",
      "-e",
      "task-clock",
      "--",
      process.execPath,
      bin,
      "build",
      project,
      "--progress",
      "quiet",
    ],
    { env: { ...process.env, ...env }, encoding: "utf8" },
  );
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${bin} failed: ${result.stderr}`);
  const cpu = Number(/^([\d.]+),msec,task-clock/m.exec(result.stderr)?.[1]);
  return { wall, cpu };
};
// Warm: the image in the cache, each bin's code cache written.
for (const entryBin of Object.values(bins)) for (let i = 0; i < 3; i++) time(entryBin);
const samples = Object.fromEntries(Object.keys(bins).map((name) => [name, []]));
for (let i = 0; i < runs; i++)
  for (const [name, entryBin] of Object.entries(bins)) samples[name].push(time(entryBin));
const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
for (const metric of ["cpu", "wall"]) {
  const base = median(samples.shipped.map((sample) => sample[metric]));
  for (const [name, list] of Object.entries(samples)) {
    const values = list.map((sample) => sample[metric]);
    const m = median(values);
    const delta =
      name === "shipped" ? "" : `  ${m - base >= 0 ? "+" : ""}${(m - base).toFixed(1)} ms`;
    console.log(
      `${metric.padEnd(4)} ${name.padEnd(34)} median ${m.toFixed(1)} ms (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})${delta}`,
    );
  }
}
rmSync(work, { recursive: true, force: true });

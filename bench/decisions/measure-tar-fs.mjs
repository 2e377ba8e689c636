// For docs/decisions/tar-fs.md: what tar-fs costs next to stagecraft's own tar writer when a build
// context is packed, per pack (CPU time of this process, median of N alternated runs) and to load.
// Usage: node bench/decisions/measure-tar-fs.mjs [runs] [context dir]   (after `pnpm build`)
import { spawnSync } from "node:child_process";
import { cpuUsage } from "node:process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const runs = Number(process.argv[2] ?? 50);
const contextDir = process.argv[3] ?? join(root, "examples", "node-service");
const require = createRequire(join(root, "test", "package.json"));
const tar = require("tar-fs");
const { packBuildContext } = await import(
  join(root, "packages", "core", "dist", "engine", "index.js")
);

const drain = (stream) =>
  new Promise((resolve, reject) => {
    let bytes = 0;
    stream.on("data", (chunk) => (bytes += chunk.length));
    stream.on("end", () => resolve(bytes));
    stream.on("error", reject);
  });
const cpu = async (work) => {
  const before = cpuUsage();
  await work();
  const used = cpuUsage(before);
  return (used.user + used.system) / 1000;
};
const context = await packBuildContext({
  contextDir,
  dockerfilePath: join(contextDir, "Dockerfile"),
});
// Each packs from scratch: walk the directory, read the files, write the tar (stagecraft's also
// applies .dockerignore; node-service has none worth noting).
const ours = async () =>
  drain(
    (
      await packBuildContext({ contextDir, dockerfilePath: join(contextDir, "Dockerfile") })
    ).stream(),
  );
const theirs = async () => drain(tar.pack(contextDir));
for (let i = 0; i < 5; i++) {
  await ours();
  await theirs();
}
const samples = { ours: [], "tar-fs": [] };
for (let i = 0; i < runs; i++) {
  samples.ours.push(await cpu(ours));
  samples["tar-fs"].push(await cpu(theirs));
}
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
console.log(`context ${contextDir}: ${context.files} files, ${context.bytes} bytes`);
for (const [name, list] of Object.entries(samples)) {
  console.log(
    `pack  ${name.padEnd(7)} median ${median(list).toFixed(2)} ms CPU (min ${Math.min(...list).toFixed(2)}, max ${Math.max(...list).toFixed(2)})`,
  );
}
// Loading: a fresh process that requires tar-fs, against one that does not (CPU time, median).
const load = (code) => {
  const list = [];
  for (let i = 0; i < 15; i++) {
    const result = spawnSync(
      "perf",
      ["stat", "-x,", "-e", "task-clock", "--", process.execPath, "-e", code],
      {
        cwd: join(root, "test"),
        encoding: "utf8",
      },
    );
    list.push(Number(/^([\d.]+),msec,task-clock/m.exec(result.stderr)?.[1]));
  }
  return median(list);
};
const bare = load("0");
const loaded = load('require("tar-fs")');
console.log(
  `load  tar-fs: +${(loaded - bare).toFixed(1)} ms CPU (node -e 0: ${bare.toFixed(1)} ms)`,
);

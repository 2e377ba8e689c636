// Benchmark of the build-context walk, both ways a context is sent: `packBuildContext` (the walk
// behind a tar upload: readdir, ignore patterns, one open(2) per file) and `sendDir` (the FileSync
// sender's walk: readdir, lstat, ignore patterns, one STAT packet per entry, answered here by a call
// that asks for no file). 5,000 files in 50 directories, each way with no .dockerignore, with
// plain patterns, and with an exception that makes the walk enter excluded directories. Run after
// `pnpm build`: `node bench/context-walk.mjs [--dirs N]` (100 files a directory, 50 directories
// unless told); it prints medians and min-max of 21 runs after 5 warm-up runs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

// STAGECRAFT_CORE_DIST points at another build of packages/core/dist (e.g. a copy of the one before
// a change), so both can be measured under the same load.
const dist =
  process.env.STAGECRAFT_CORE_DIST === undefined
    ? new URL("../packages/core/dist/", import.meta.url)
    : pathToFileURL(`${process.env.STAGECRAFT_CORE_DIST}/`);
const load = (path) => import(new URL(path, dist).href);
const { packBuildContext } = await load("context/pack-build-context.js");
const { sendDir } = await load("engine/session/send-dir.js");

const RUNS = 21;
const WARMUP_RUNS = 5;
const dirsFlag = process.argv.indexOf("--dirs");
const DIRS = dirsFlag === -1 ? 50 : Number(process.argv[dirsFlag + 1]);
if (!Number.isInteger(DIRS) || DIRS < 1) throw new Error("--dirs takes a whole number from 1");
const FILES_PER_DIR = 100;

const root = mkdtempSync(join(tmpdir(), "stagecraft-bench-walk-"));
writeFileSync(join(root, "Dockerfile"), "FROM scratch\nCOPY . /ctx\n");
for (let dir = 0; dir < DIRS; dir++) {
  const path = join(root, `dir-${String(dir).padStart(2, "0")}`);
  mkdirSync(path);
  for (let file = 0; file < FILES_PER_DIR; file++) {
    const ext = file % 10 === 0 ? "log" : "txt";
    writeFileSync(join(path, `file-${String(file).padStart(3, "0")}.${ext}`), "x".repeat(64));
  }
}

const scenarios = [
  { name: "no .dockerignore", patterns: undefined },
  { name: "plain patterns (*.log, dir-0*)", patterns: ["**/*.log", "dir-0*"] },
  { name: "* then !**/*.log (walks excluded dirs)", patterns: ["*", "!**/*.log"] },
];

/** A FileSync call that takes every packet and ends the transfer at once (no file is asked for). */
function finishingCall() {
  return {
    write: () => true,
    end: () => undefined,
    iterator: () =>
      (async function* () {
        yield { type: 3, ID: 0, data: new Uint8Array() };
      })(),
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function time(run) {
  for (let i = 0; i < WARMUP_RUNS; i++) await run();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}

const rows = [];
try {
  for (const scenario of scenarios) {
    rmSync(join(root, ".dockerignore"), { force: true });
    if (scenario.patterns !== undefined) {
      writeFileSync(join(root, ".dockerignore"), `${scenario.patterns.join("\n")}\n`);
    }
    const tar = await time(() =>
      packBuildContext({ contextDir: root, dockerfilePath: join(root, "Dockerfile") }),
    );
    const request = {
      dirName: "context",
      followPaths: [],
      includePatterns: [],
      excludePatterns: scenario.patterns ?? [],
    };
    const session = await time(() => sendDir(finishingCall(), root, request, { batch: false }));
    rows.push({ scenario: scenario.name, way: "tar walk (packBuildContext)", times: tar });
    rows.push({ scenario: scenario.name, way: "FileSync walk (sendDir)", times: session });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

console.log(`| context (${DIRS * FILES_PER_DIR} files) | walk | median ms | min-max ms |`);
console.log("| --- | --- | ---: | ---: |");
for (const row of rows) {
  const min = Math.min(...row.times).toFixed(1);
  const max = Math.max(...row.times).toFixed(1);
  console.log(`| ${row.scenario} | ${row.way} | ${median(row.times).toFixed(1)} | ${min}-${max} |`);
}

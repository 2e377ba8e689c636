#!/usr/bin/env node
// The `stagecraft` bin. It runs the bundled CLI (stagecraft-bundle.cjs, made by scripts/bundle.mjs)
// through V8's code cache: a Go CLI starts in ~20 ms, and a fresh Node process spends ~60 ms of its
// own before this line, so compiling ~1 MB of JavaScript on every run is worth skipping. The first
// run of each command compiles as usual and leaves the cache of what it ran next to the bundle (when
// it may write there); V8 checks the cache against the source and its own version and ignores it on
// a mismatch.
// The libraries only some commands need are bundles of their own (chunks), run the same way when
// the main bundle first requires one of their packages. STAGECRAFT_CODE_CACHE=0 turns caching off.
import fs = require("node:fs");
import path = require("node:path");
import vm = require("node:vm");
import nodeModule = require("node:module");
import v8 = require("node:v8");

interface Bundle {
  readonly file: string;
  /** The bundle's SHA-256. */
  readonly hash: string;
}
interface Chunk extends Bundle {
  /** The packages the chunk exports, by name. */
  readonly packages: readonly string[];
}

// Written here by scripts/bundle.mjs. V8 only checks a cache against the source's length, so a
// rebuilt bundle of the same length would run the old code: the hash in a cache's name keeps each
// build to its own.
const bundles = JSON.parse("STAGECRAFT_BUNDLES") as {
  main: Bundle;
  /** The main bundle with the `check` command alone (scripts/bundle.mjs). */
  check: Bundle;
  chunks: readonly Chunk[];
};
const useCache = process.env.STAGECRAFT_CODE_CACHE !== "0";

// A cache holds the functions compiled by the run that wrote it, and V8 compiles whatever else a
// later run needs as usual, so a cache made by `--help` or a usage error (a few hundred functions)
// would leave every later build compiling the build's code. Such a run writes only the cache of
// kind "help" and only when it found none to start from; a run that got to do its command's work
// (exit 0, or 1: a build failed) writes its command's cache when it had none of its own.
const command = process.argv[2] ?? "";
const endOfOptions = process.argv.indexOf("--");
const asksForHelp = process.argv
  .slice(2, endOfOptions === -1 ? undefined : endOfOptions)
  .some((arg) => arg === "--help" || arg === "-h");
const mainKind = /^[a-z]+$/.test(command) && command !== "help" && !asksForHelp ? command : "help";
// `check` runs its analysis once, over the whole Dockerfile, and exits: V8's optimising compiler
// (TurboFan, on a thread of its own) spent more CPU compiling the hot parser functions than they
// then saved. With 15x V8's default budget (67,584) before a function is optimised, a check of
// 10,000 instructions costs 0.38 s of process CPU instead of 0.55 s, and of 100,000 2.03 s instead
// of 2.24 s (docs/decisions/cli-start-up.md). Set before the bundle's functions exist.
if (mainKind === "check") v8.setFlagsFromString("--interrupt-budget=1000000");
/** Whether this run did its command's work, so what it compiled is what the command runs. */
const didCommandWork = (exitCode: number): boolean =>
  mainKind !== "help" && (exitCode === 0 || exitCode === 1);

/**
 * Runs one bundle as a CommonJS module and returns its exports. `kinds` names the caches it may
 * start from, the first being the one a run that did its command's work writes when it had none
 * (or V8 refused it); any other run writes "help", and only when it had no cache at all.
 */
function runBundle(bundle: Bundle, kinds: readonly string[], require: NodeJS.Require): unknown {
  const file = path.join(__dirname, bundle.file);
  const cacheFile = (of: string): string =>
    `${file}.${bundle.hash.slice(0, 16)}.${of}.${process.arch}.v8cache`;
  let cache: { of: string; data: Buffer } | undefined;
  for (const of of useCache ? kinds : []) {
    try {
      cache = { of, data: fs.readFileSync(cacheFile(of)) };
      break;
    } catch {
      // None yet of this kind.
    }
  }
  // The bundle is ASCII (scripts/bundle.mjs checks), so Latin-1 reads it without decoding UTF-8.
  const script = new vm.Script(nodeModule.wrap(fs.readFileSync(file, "latin1")), {
    filename: file,
    ...(cache === undefined ? {} : { cachedData: cache.data }),
  });
  if (useCache) {
    const rejected = script.cachedDataRejected === true;
    // After the run, the functions it compiled are in the cache too.
    process.once("exit", (exitCode) => {
      const kind = didCommandWork(exitCode) ? (kinds[0] ?? "help") : "help";
      const startedFrom = rejected ? undefined : cache?.of;
      if (startedFrom === kind || (kind === "help" && startedFrom !== undefined)) return;
      const target = cacheFile(kind);
      const temporary = `${target}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(temporary, script.createCachedData());
        fs.renameSync(temporary, target);
      } catch {
        // A read-only install runs without a cache.
        fs.rmSync(temporary, { force: true });
      }
    });
  }
  const bundleModule = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    bundleModule.exports,
    require,
    bundleModule,
    file,
    __dirname,
  );
  return bundleModule.exports;
}

const nodeRequire = nodeModule.createRequire(path.join(__dirname, bundles.main.file));
const chunkExports = new Map<Chunk, Record<string, unknown>>();
/** The main bundle's `require`: a chunk's package from the chunk (run once), the rest from Node. */
const requireForMain = Object.assign((id: string): unknown => {
  const chunk = bundles.chunks.find((candidate) => candidate.packages.includes(id));
  if (chunk === undefined) return nodeRequire(id);
  let exports = chunkExports.get(chunk);
  if (exports === undefined) {
    exports = runBundle(chunk, ["lib", "help"], nodeRequire) as Record<string, unknown>;
    chunkExports.set(chunk, exports);
  }
  return exports[id];
}, nodeRequire);

// `check` runs a bundle of only what a check runs: a third of the main one to read and compile, and
// none of the engine's modules (with them node:http, node:crypto, …) unless it asks the engine.
// Each command keeps the cache of what it ran; until it has one, a build's covers the code the
// commands share (reading the Dockerfile, analysing it).
if (mainKind === "check") runBundle(bundles.check, ["check"], requireForMain);
else runBundle(bundles.main, [...new Set([mainKind, "build", "help"])], requireForMain);

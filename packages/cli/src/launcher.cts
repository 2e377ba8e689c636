#!/usr/bin/env node
// The `stagecraft` bin. It runs the bundled CLI (stagecraft-bundle.cjs, made by scripts/bundle.mjs)
// through V8's code cache: a Go CLI starts in ~20 ms, and a fresh Node process spends ~60 ms of its
// own before this line, so compiling ~1 MB of JavaScript on every run is worth skipping. The first
// run on a machine compiles as usual and leaves the cache next to the bundle (when it may write
// there); V8 checks the cache against the source and its own version and ignores it on a mismatch.
// The libraries only some commands need are bundles of their own (chunks), run the same way when
// the main bundle first requires one of their packages. STAGECRAFT_CODE_CACHE=0 turns caching off.
import fs = require("node:fs");
import path = require("node:path");
import vm = require("node:vm");
import nodeModule = require("node:module");

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
const bundles = JSON.parse("STAGECRAFT_BUNDLES") as { main: Bundle; chunks: readonly Chunk[] };
const useCache = process.env.STAGECRAFT_CODE_CACHE !== "0";

/**
 * Runs one bundle as a CommonJS module and returns its exports. `kinds` names the caches it may
 * start from, the first being the one this run writes when it had none (or V8 refused it).
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
  const kind = kinds[0] ?? "any";
  if (useCache && (cache?.of !== kind || script.cachedDataRejected === true)) {
    // After the run, the functions it compiled are in the cache too.
    process.once("exit", () => {
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
    exports = runBundle(chunk, ["lib"], nodeRequire) as Record<string, unknown>;
    chunkExports.set(chunk, exports);
  }
  return exports[id];
}, nodeRequire);

// A build and the other commands run different code; each keeps the cache of what it ran.
runBundle(
  bundles.main,
  process.argv[2] === "build" ? ["build"] : ["other", "build"],
  requireForMain,
);

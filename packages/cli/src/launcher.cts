#!/usr/bin/env node
// The `stagecraft` bin. It runs the bundled CLI (stagecraft-bundle.cjs, made by scripts/bundle.mjs)
// through V8's code cache: a Go CLI starts in ~20 ms, and a fresh Node process spends ~60 ms of its
// own before this line, so compiling ~2 MB of JavaScript on every run is worth skipping. The first
// run on a machine compiles as usual and leaves the cache next to the bundle (when it may write
// there); V8 checks the cache against the source and its own version and ignores it on a mismatch.
// STAGECRAFT_CODE_CACHE=0 turns it off.
import fs = require("node:fs");
import path = require("node:path");
import vm = require("node:vm");
import nodeModule = require("node:module");

const bundle = path.join(__dirname, "stagecraft-bundle.cjs");
// The bundle's SHA-256, written here by scripts/bundle.mjs. V8 only checks a cache against the
// source's length, so a rebuilt bundle of the same length would run the old code: the hash in the
// cache's name keeps each build to its own.
const bundleHash = "STAGECRAFT_BUNDLE_HASH";
// A build and the other commands run different code; each keeps the cache of what it ran.
const kind = process.argv[2] === "build" ? "build" : "other";
const cacheFile = (of: string): string =>
  `${bundle}.${bundleHash.slice(0, 16)}.${of}.${process.arch}.v8cache`;
const useCache = process.env.STAGECRAFT_CODE_CACHE !== "0";

function readCache(): { of: string; data: Buffer } | undefined {
  if (!useCache) return undefined;
  for (const of of kind === "build" ? ["build"] : ["other", "build"]) {
    try {
      return { of, data: fs.readFileSync(cacheFile(of)) };
    } catch {
      // None yet for this kind.
    }
  }
  return undefined;
}

const cache = readCache();
// The bundle is ASCII (scripts/bundle.mjs checks), so Latin-1 reads it without decoding UTF-8.
const script = new vm.Script(nodeModule.wrap(fs.readFileSync(bundle, "latin1")), {
  filename: bundle,
  ...(cache === undefined ? {} : { cachedData: cache.data }),
});
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
  nodeModule.createRequire(bundle),
  bundleModule,
  bundle,
  __dirname,
);

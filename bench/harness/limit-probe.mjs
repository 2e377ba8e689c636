// One measurement of the `limits` scenario that drives @stagecraft/core in a process of its own (so
// RSS is this probe's alone), printed as one JSON line:
//   node limit-probe.mjs fail-fast CORE_DIST CONTEXT NONCE     → { ms }  failure → the other target ends
//   node limit-probe.mjs abort     CORE_DIST CONTEXT NONCE MS  → { ms }  abort → runTargets returns
//   node limit-probe.mjs pack-rss  CORE_DIST CONTEXT           → { bytes, streamed }  RSS growth while
//                                                                 the tar goes to a slow consumer
// CORE_DIST is packages/core/dist of the snapshot the run measures. Images carry org.stagecraft.bench=1.
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [probe, coreDist, contextDir, ...rest] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(join(coreDist, path)).href);
const labels = { "org.stagecraft.bench": "1" };

async function buildContext() {
  const { packBuildContext } = await load("context/pack-build-context.js");
  return packBuildContext({ contextDir, dockerfilePath: join(contextDir, "Dockerfile") });
}

const probes = {
  /** `broken` fails after a second; `slow` sleeps a minute: how long after the failure `slow` ends. */
  async "fail-fast"() {
    const [{ runTargets }, { DockerEngine }] = await Promise.all([
      load("scheduler/run-targets.js"),
      load("engine/docker-engine.js"),
    ]);
    const result = await runTargets({
      engine: new DockerEngine(),
      context: await buildContext(),
      targets: [
        { name: "broken", stage: "broken" },
        { name: "slow", stage: "slow" },
      ],
      buildArgs: { NONCE: rest[0] },
      labels,
    });
    const [broken, slow] = result.targets;
    if (broken?.status !== "failed" || slow?.status !== "cancelled") {
      throw new Error(`expected failed + cancelled, got ${broken?.status} + ${slow?.status}`);
    }
    return { ms: slow.finishedAt - broken.finishedAt };
  },

  /** A minute-long step aborted after MS: how long runTargets takes to return after the abort. */
  async abort() {
    const [{ runTargets }, { DockerEngine }] = await Promise.all([
      load("scheduler/run-targets.js"),
      load("engine/docker-engine.js"),
    ]);
    const controller = new AbortController();
    let abortedAt = 0;
    const timer = setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, Number(rest[1]));
    const result = await runTargets({
      engine: new DockerEngine(),
      context: await buildContext(),
      targets: [{ name: "sleepy" }],
      buildArgs: { NONCE: rest[0] },
      labels,
      signal: controller.signal,
    });
    const returnedAt = performance.now();
    clearTimeout(timer);
    if (result.status !== "cancelled") throw new Error(`expected cancelled, got ${result.status}`);
    return { ms: returnedAt - abortedAt };
  },

  /** The context's tar through a consumer slower than the disk: how much RSS grows meanwhile. */
  async "pack-rss"() {
    const context = await buildContext();
    const before = process.memoryUsage().rss;
    let peak = before;
    let streamed = 0;
    await pipeline(
      context.stream(),
      new Writable({
        highWaterMark: 64 * 1024,
        write(chunk, _encoding, callback) {
          streamed += chunk.length;
          peak = Math.max(peak, process.memoryUsage().rss);
          setImmediate(callback);
        },
      }),
    );
    return { bytes: peak - before, streamed };
  },
};

if (!(probe in probes)) throw new Error(`unknown probe "${probe}" (${Object.keys(probes)})`);
console.log(JSON.stringify(await probes[probe]()));

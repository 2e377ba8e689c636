import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../engine/engine.js";
import { EngineError } from "../errors.js";
import type { BuildEvent } from "../events.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { estimateStageCosts } from "../placement/estimate-stage-costs.js";
import { FakeEngine, type FakeBuildScript } from "../testing/fake-engine.js";
import { statusResponseType } from "../progress/status-response-type.test-support.js";
import { createReportBuilder } from "../report/create-report-builder.js";
import { IMAGE_LABELS } from "../scheduler/run-targets.js";
import { runPool } from "./run-pool.js";

/** The targets an engine was asked to build (a size probe of a source stage is no target). */
function targetsBuilt(engine: FakeEngine): (string | undefined)[] {
  return engine.calls
    .filter((call) => call.request.labels?.[IMAGE_LABELS.sizeProbe] === undefined)
    .map((call) => call.request.target)
    .sort();
}

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const DOCKERFILE = [
  "FROM stagecraft/busybox:latest AS deps",
  "RUN echo deps",
  ...["a", "b", "c", "d"].flatMap((name) => [`FROM deps AS ${name}`, `RUN echo ${name}`]),
  "",
].join("\n");

function context(): { dir: string; dockerfile: string } {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-run-pool-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  return { dir, dockerfile: join(dir, "Dockerfile") };
}

const scripts = (script: FakeBuildScript): Record<string, FakeBuildScript> =>
  Object.fromEntries(["a", "b", "c", "d"].map((name) => [name, script]));

/** An engine nobody answers at. */
const unreachable: Engine = {
  local: true,
  info: () => Promise.reject(new EngineError("ENGINE_UNREACHABLE", "cannot connect to gone.sock")),
  build: () => Promise.reject(new Error("not reached")),
  cancelBuild: () => Promise.resolve(),
  inspectImage: () => Promise.resolve(undefined),
};

const placement = {
  targets: [
    { target: "a", engine: "one" },
    { target: "b", engine: "two" },
    { target: "c", engine: "one" },
    { target: "d", engine: "two" },
  ],
};
const analysis = () => analyzeDockerfile(DOCKERFILE, { targets: ["a", "b", "c", "d"] });

describe("runPool", () => {
  it("runs each engine's targets on it, tags included, and adds up its busy time", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }));
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      tags: { b: ["me/b:1"] },
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement,
    });
    expect(outcome.status).toBe("succeeded");
    expect(targetsBuilt(one)).toEqual(["a", "c"]);
    expect(targetsBuilt(two)).toEqual(["b", "d"]);
    expect(two.calls.find((call) => call.request.target === "b")?.request.tags).toEqual(["me/b:1"]);
    expect(outcome.targets.map((target) => [target.name, target.engine])).toEqual([
      ["a", "one"],
      ["b", "two"],
      ["c", "one"],
      ["d", "two"],
    ]);
    expect(outcome.moved).toEqual([]);
    expect(Object.keys(outcome.busyMs)).toEqual(["one", "two"]);
  });

  it("moves the targets of an engine that cannot be reached to the others, and says why", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }));
    const events: string[] = [];
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: unreachable, capacity: 2 },
      ],
      placement,
      onEvent: (event, engine) => {
        if (event.type === "target-finished") events.push(`${engine}:${event.target}`);
        if ("target" in event) expect(event.engine).toBe(engine);
      },
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.moved).toEqual([
      { target: "b", from: "two", to: "one", reason: "cannot connect to gone.sock" },
      { target: "d", from: "two", to: "one", reason: "cannot connect to gone.sock" },
    ]);
    expect(outcome.targets.every((target) => target.engine === "one")).toBe(true);
    expect(events.sort()).toEqual(["one:a", "one:b", "one:c", "one:d"]);
  });

  it("moves the unfinished targets of an engine that drops its builds mid-run", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }));
    const two = new FakeEngine({ b: { durationMs: 5, dropStream: true }, d: { durationMs: 1 } });
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      keepGoing: true,
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement,
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.moved.map((entry) => [entry.target, entry.from, entry.to])).toEqual([
      ["b", "two", "one"],
    ]);
    expect(outcome.targets.find((target) => target.name === "d")?.engine).toBe("two");
  });

  it("moves the builds an engine loss cancelled too, not only the one that met it", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }));
    const two = new FakeEngine({ b: { durationMs: 5, dropStream: true }, d: { durationMs: 2000 } });
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement,
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.moved.map((entry) => [entry.target, entry.from, entry.to])).toEqual([
      ["b", "two", "one"],
      ["d", "two", "one"],
    ]);
    expect(outcome.moved[1]?.reason).toContain("engine");
    expect(targetsBuilt(one)).toEqual(["a", "b", "c", "d"]);
  });

  it("fails fast across engines: a failed step cancels the other engines' builds", async () => {
    const one = new FakeEngine({
      a: { durationMs: 1, failWith: "exit code: 1" },
      c: { durationMs: 2000 },
    });
    const two = new FakeEngine(scripts({ durationMs: 2000 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => target.status)).toEqual([
      "failed",
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
    expect(outcome.moved).toEqual([]);
  });
});

describe("runPool with a registry", () => {
  const shared = {
    targets: placement.targets,
    transfers: [{ stage: 0, id: "deps", from: "one", to: ["two"], bytes: 5_000_000, ms: 1000 }],
  };
  const registry = "127.0.0.1:5000/ci";

  it("builds a shared stage once, pushes it, and the other engine's targets read it by digest", async () => {
    const one = new FakeEngine(
      { deps: { durationMs: 20, sizeBytes: 5_000_000 }, ...scripts({ durationMs: 5 }) },
      { pushMs: 10 },
    );
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const events: { event: BuildEvent; engine: string }[] = [];
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
      onEvent: (event, engine) => events.push({ event, engine }),
    });
    expect(outcome.status).toBe("succeeded");
    // Engine one built deps as a temporary target, tagged in the registry, and pushed it.
    const share = one.calls.filter(
      (call) =>
        call.request.target === "deps" &&
        call.request.labels?.[IMAGE_LABELS.sizeProbe] === undefined,
    );
    expect(share).toHaveLength(1);
    expect(share[0]?.request.tags?.[0]).toMatch(/^127\.0\.0\.1:5000\/ci\/deps:pool-[0-9a-z]+$/);
    expect(one.pushes.map((push) => push.ref)).toEqual(share[0]?.request.tags);
    const digest = one.pushes[0]?.digest ?? "";
    const reference = `127.0.0.1:5000/ci/deps@${digest}`;
    // Its local tag is gone once pushed (the registry holds it).
    expect(await one.inspectImage(share[0]?.request.tags?.[0] ?? "")).toBeUndefined();
    // Every build on two reads deps from the registry, and waited for the push.
    expect(two.calls.length).toBeGreaterThan(0);
    for (const call of two.calls) {
      expect(call.request.namedContexts).toEqual({ deps: `docker-image://${reference}` });
      expect(call.startedAt).toBeGreaterThanOrEqual(one.pushes[0]?.endedAt ?? Infinity);
    }
    // One's own targets build deps from the Dockerfile, beside the shared build.
    for (const call of one.calls) expect(call.request.namedContexts).toBeUndefined();
    expect(outcome.shared).toEqual([
      {
        stage: "deps",
        engine: "one",
        to: ["two"],
        reference,
        buildMs: expect.any(Number) as number,
        pushMs: expect.any(Number) as number,
        bytes: 5_000_000,
        readers: [],
        error: undefined,
        report: expect.objectContaining({ status: "succeeded" }) as unknown,
      },
    ]);
    expect(outcome.shared[0]?.pushMs).toBeGreaterThanOrEqual(9);
    // The live view heard the push from engine one: each layer's progress, then the reference.
    const pushEvents = events.filter(({ event }) => event.type.startsWith("shared-"));
    expect(pushEvents.map(({ event }) => event.type)).toEqual([
      "shared-push-progress",
      "shared-push-progress",
      "shared-pushed",
    ]);
    for (const { event, engine } of pushEvents) {
      expect(engine).toBe("one");
      expect(event).toMatchObject({ stage: "deps", engine: "one" });
    }
    expect(pushEvents[0]?.event).toMatchObject({ status: "Pushing", total: 5_000_000 });
    expect(pushEvents[2]?.event).toMatchObject({ reference, bytes: 5_000_000, error: null });
    expect(outcome.busyMs.one).toBeGreaterThanOrEqual(
      (outcome.shared[0]?.buildMs ?? 0) + (outcome.shared[0]?.pushMs ?? 0) - 2,
    );
  });

  it("reports a shared stage's build as a stage of the run, not as a target of its own", async () => {
    // The shared build's one step, as BuildKit's trace reports it.
    const depsStep = JSON.stringify({
      id: "moby.buildkit.trace",
      aux: Buffer.from(
        statusResponseType
          .encode({
            vertexes: [
              {
                digest: "sha256:deps",
                name: "[deps 2/2] RUN echo deps",
                started: { seconds: 1 },
                completed: { seconds: 2 },
              },
            ],
          })
          .finish(),
      ).toString("base64"),
    });
    const one = new FakeEngine(
      {
        deps: { durationMs: 20, sizeBytes: 5_000_000, lines: [depsStep] },
        ...scripts({ durationMs: 5 }),
      },
      { pushMs: 10 },
    );
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const events: BuildEvent[] = [];
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.shared[0]?.reference).toBeDefined();
    // No event names the temporary target: every one is about a requested target.
    const named = new Set(events.flatMap((event) => ("target" in event ? [event.target] : [])));
    expect([...named].sort()).toEqual(["a", "b", "c", "d"]);
    // The shared build's step is there, on the engine that built it, for a target that reads it.
    const depsSteps = events.filter(
      (event) => event.type === "step-finished" && event.step.stage === "deps",
    );
    expect(depsSteps.length).toBeGreaterThan(0);
    for (const event of depsSteps) expect(event).toMatchObject({ engine: "one" });
    // Fed to one report (as `build --engine` does), deps is a stage, and the targets are the four.
    const report = createReportBuilder();
    for (const event of events) if (!event.type.startsWith("run-")) report.add(event);
    const built = report.finish();
    expect(built.targets.map((target) => target.target).sort()).toEqual(["a", "b", "c", "d"]);
    expect(built.stages.map((stage) => stage.stage)).toContain("deps");
  });

  it("keeps the shared stage's own build report, so the next placement knows what it costs", async () => {
    // The shared build's one step ran for 420 ms, in BuildKit's own timestamps, inside its build.
    const start = Date.now();
    const at = (ms: number) => ({
      seconds: Math.floor((start + ms) / 1000),
      nanos: ((start + ms) % 1000) * 1e6,
    });
    const depsStep = JSON.stringify({
      id: "moby.buildkit.trace",
      aux: Buffer.from(
        statusResponseType
          .encode({
            vertexes: [
              {
                digest: "sha256:deps",
                name: "[deps 2/2] RUN echo deps",
                started: at(200),
                completed: at(620),
              },
            ],
          })
          .finish(),
      ).toString("base64"),
    });
    const one = new FakeEngine({
      deps: { durationMs: 1000, sizeBytes: 5_000_000, lines: [depsStep] },
      ...scripts({ durationMs: 5 }),
    });
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
    });
    expect(outcome.status).toBe("succeeded");
    const report = outcome.shared[0]?.report;
    expect(report?.stages.find((stage) => stage.stage === "deps")).toMatchObject({
      durationMs: 420,
      stepsRun: 1,
    });
    // No run of a target ran deps' step: only the shared build knows its 420 ms.
    const runStages = outcome.runs.flatMap((run) => run.outcome?.report.stages ?? []);
    expect(runStages.filter((stage) => stage.stage === "deps" && stage.stepsRun > 0)).toEqual([]);
    const graph = analysis().graph;
    const costs = estimateStageCosts(graph, report === undefined ? [] : [report]);
    const deps = graph.stages.findIndex((stage) => stage.id === "deps");
    expect(costs[deps]).toMatchObject({ durationMs: 420, source: "report" });
  });

  it("says how long each reader took to fetch the shared stage, and how many bytes", async () => {
    // The fake engine's image ids count up: deps, built first on one, is image 1; its pushed
    // digest is the sha256 of that id.
    const imageId = `sha256:${"1".padStart(64, "0")}`;
    const digest = `sha256:${createHash("sha256").update(imageId).digest("hex")}`;
    const reference = `127.0.0.1:5000/ci/deps@${digest}`;
    const read = JSON.stringify({
      id: "moby.buildkit.trace",
      aux: Buffer.from(
        statusResponseType
          .encode({
            vertexes: [
              {
                digest: "sha256:meta",
                name: `[context deps] load metadata for ${reference}`,
                started: { seconds: 100 },
                completed: { seconds: 100, nanos: 40e6 },
              },
              {
                digest: "sha256:image",
                name: `[context deps] ${reference}`,
                started: { seconds: 100, nanos: 50e6 },
                completed: { seconds: 100, nanos: 50e6 },
              },
            ],
            statuses: [
              {
                ID: "sha256:layer",
                vertex: "sha256:image",
                current: 4_000_000,
                total: 4_000_000,
                timestamp: { seconds: 100, nanos: 300e6 },
                started: { seconds: 100, nanos: 60e6 },
                completed: { seconds: 100, nanos: 300e6 },
              },
            ],
          })
          .finish(),
      ).toString("base64"),
    });
    const one = new FakeEngine({
      deps: { durationMs: 5, sizeBytes: 5_000_000 },
      ...scripts({ durationMs: 50 }),
    });
    const two = new FakeEngine(scripts({ durationMs: 5, lines: [read] }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.shared[0]?.reference).toBe(reference);
    // Both of two's targets read it (one run: BuildKit resolved it once for both).
    expect(outcome.shared[0]?.readers).toEqual([{ engine: "two", pullMs: 290, bytes: 4_000_000 }]);
  });

  it("shares nothing without a registry: each engine builds the stage its targets need", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }));
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.shared).toEqual([]);
    expect(targetsBuilt(one)).toEqual(["a", "c"]);
    for (const call of two.calls) expect(call.request.namedContexts).toBeUndefined();
  });

  it("when the sharing engine is gone, the others build the stage themselves and its targets move", async () => {
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: unreachable, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
    });
    expect(outcome.status).toBe("succeeded");
    expect(outcome.shared.map((entry) => [entry.stage, entry.reference, entry.error])).toEqual([
      ["deps", undefined, "cannot connect to gone.sock"],
    ]);
    expect(targetsBuilt(two)).toEqual(["a", "b", "c", "d"]);
    for (const call of two.calls) expect(call.request.namedContexts).toBeUndefined();
    expect(outcome.moved.map((entry) => entry.target).sort()).toEqual(["a", "c"]);
  });

  it("a shared stage takes its engine's slot before that engine's own targets, however late its run gets there", async () => {
    // Under load the share's run may reach the engine after the targets' runs (each first asks
    // the engine and reads the context): it must not then wait behind them, nor must the other
    // engine's targets, which wait for its push.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 3, maxLength: 3 }),
        async (delays) => {
          const one = new FakeEngine({ deps: { durationMs: 1 }, ...scripts({ durationMs: 30 }) });
          const info = one.info.bind(one);
          let asked = 0;
          one.info = () => {
            const delay = delays[asked++] ?? 0;
            return new Promise((resolve) => setTimeout(resolve, delay)).then(info);
          };
          const two = new FakeEngine(scripts({ durationMs: 1 }));
          const outcome = await runPool({
            analysis: analysis(),
            context: context(),
            stageSizes: false,
            pool: [
              { name: "one", engine: one, capacity: 1 },
              { name: "two", engine: two, capacity: 1 },
            ],
            placement: shared,
            registry,
          });
          expect(outcome.status).toBe("succeeded");
          expect(one.calls.map((call) => call.request.target)).toEqual(["deps", "a", "c"]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a failed shared stage fails the run fast: the targets waiting for it never start", async () => {
    const one = new FakeEngine({
      deps: { durationMs: 5, failWith: "exit code: 2" },
      // Long enough that the share's failure cancels them however slow the machine is.
      a: { durationMs: 20_000 },
      c: { durationMs: 20_000 },
    });
    const two = new FakeEngine(scripts({ durationMs: 5 }));
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: shared,
      registry,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.shared[0]?.error).toContain("exit code: 2");
    expect(two.calls).toEqual([]);
    expect(outcome.targets.map((target) => target.status)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
  });
});

describe("runPool pinning the bases", () => {
  const registry = "127.0.0.1:5000/ci";
  const BASE = "stagecraft/busybox:latest";
  const control = { buildPath: "control" as const };
  const threePlacement = {
    targets: [
      { target: "a", engine: "one" },
      { target: "b", engine: "two" },
      { target: "c", engine: "three" },
      { target: "d", engine: "two" },
    ],
  };

  it("pins each base once, on an engine that has it, and every engine's builds read that digest", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }), control);
    const two = new FakeEngine(scripts({ durationMs: 5 }), control);
    const three = new FakeEngine(scripts({ durationMs: 5 }), control);
    // Engine one lacks the base; two and three have it (each under its own id, as stores do).
    two.addImage(BASE);
    three.addImage([BASE, "three-only"]);
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
        { name: "three", engine: three, capacity: 2 },
      ],
      placement: threePlacement,
      registry,
    });
    expect(outcome.status).toBe("succeeded");
    // One push for the whole pool, from the first engine that has the base.
    expect([...one.pushed, ...two.pushed, ...three.pushed]).toEqual([
      "127.0.0.1:5000/ci/stagecraft-bases/stagecraft/busybox:latest",
    ]);
    expect(two.pushed).toHaveLength(1);
    const pinned = `127.0.0.1:5000/ci/stagecraft-bases/stagecraft/busybox@${two.pushes[0]?.digest ?? ""}`;
    expect(outcome.pins).toEqual({
      mirror: "127.0.0.1:5000/ci/stagecraft-bases",
      pinned: [{ reference: BASE, pinned, engine: "two" }],
      unpinned: [],
    });
    // The same named context in every build request of every engine.
    const calls = [...one.calls, ...two.calls, ...three.calls];
    expect(targetsBuilt(one)).toEqual(["a"]);
    expect(targetsBuilt(two)).toEqual(["b", "d"]);
    expect(targetsBuilt(three)).toEqual(["c"]);
    for (const call of calls) {
      expect(call.request.namedContexts).toEqual({
        "stagecraft/busybox": `docker-image://${pinned}`,
      });
    }
    // Each run's report names the pool's pin, and no run pinned on its own.
    for (const run of outcome.runs) {
      expect(run.outcome?.report.cache?.pinned).toEqual([{ reference: BASE, pinned }]);
    }
    expect(
      await two.inspectImage("127.0.0.1:5000/ci/stagecraft-bases/stagecraft/busybox:latest"),
    ).toBeUndefined();
  });

  it("shared stages read the pins too, beside the stage they share", async () => {
    const one = new FakeEngine({ deps: { durationMs: 5 }, ...scripts({ durationMs: 5 }) }, control);
    const two = new FakeEngine(scripts({ durationMs: 5 }), control);
    one.addImage(BASE);
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: two, capacity: 2 },
      ],
      placement: {
        targets: placement.targets,
        transfers: [{ stage: 0, id: "deps", from: "one", to: ["two"], bytes: 1, ms: 1 }],
      },
      registry,
    });
    expect(outcome.status).toBe("succeeded");
    const pin = outcome.pins?.pinned[0]?.pinned ?? "";
    expect(pin).toMatch(/^127\.0\.0\.1:5000\/ci\/stagecraft-bases\/stagecraft\/busybox@sha256:/);
    const base = { "stagecraft/busybox": `docker-image://${pin}` };
    for (const call of one.calls) expect(call.request.namedContexts).toEqual(base);
    for (const call of two.calls) {
      expect(call.request.namedContexts).toEqual({
        ...base,
        deps: `docker-image://${outcome.shared[0]?.reference ?? ""}`,
      });
    }
  });

  it("leaves a base no engine has unpinned, and says so once", async () => {
    // An engine that does not answer is passed over, not an error.
    const gone: Engine = {
      ...unreachable,
      buildPath: "control",
      inspectImage: () => Promise.reject(new EngineError("ENGINE_UNREACHABLE", "gone")),
    };
    const one = new FakeEngine(scripts({ durationMs: 5 }), control);
    const two = new FakeEngine(scripts({ durationMs: 5 }), control);
    const outcome = await runPool({
      analysis: analysis(),
      context: context(),
      pool: [
        { name: "one", engine: one, capacity: 2 },
        { name: "two", engine: gone, capacity: 2 },
        { name: "three", engine: two, capacity: 2 },
      ],
      placement,
      pinBases: "127.0.0.1:5000/mirror",
    });
    expect(outcome.pins).toEqual({
      mirror: "127.0.0.1:5000/mirror",
      pinned: [],
      unpinned: [
        {
          reference: BASE,
          reason: "no engine of the pool has it (each build pulls it from its registry)",
        },
      ],
    });
    expect(outcome.status).toBe("succeeded");
    expect([...one.pushed, ...two.pushed]).toEqual([]);
    for (const call of [...one.calls, ...two.calls]) {
      expect(call.request.namedContexts).toBeUndefined();
    }
  });

  it("pins nothing with pinBases false, and nothing by default on engines that use /build", async () => {
    for (const [pinBases, buildPath] of [
      [false, "control"],
      [undefined, "build"],
    ] as const) {
      const one = new FakeEngine(scripts({ durationMs: 5 }), { buildPath });
      const two = new FakeEngine(scripts({ durationMs: 5 }), { buildPath });
      one.addImage(BASE);
      const outcome = await runPool({
        analysis: analysis(),
        context: context(),
        pool: [
          { name: "one", engine: one, capacity: 2 },
          { name: "two", engine: two, capacity: 2 },
        ],
        placement,
        registry,
        pinBases,
      });
      expect(outcome.status).toBe("succeeded");
      expect(outcome.pins).toBeUndefined();
      expect(one.pushed).toEqual([]);
      for (const call of [...one.calls, ...two.calls]) {
        expect(call.request.namedContexts).toBeUndefined();
      }
    }
  });

  it("refuses a mirror when an engine cannot carry named contexts, before building", async () => {
    const one = new FakeEngine(scripts({ durationMs: 5 }), control);
    const two = new FakeEngine(scripts({ durationMs: 5 }), { buildPath: "build" });
    await expect(
      runPool({
        analysis: analysis(),
        context: context(),
        pool: [
          { name: "one", engine: one, capacity: 2 },
          { name: "two", engine: two, capacity: 2 },
        ],
        placement,
        pinBases: "127.0.0.1:5000/mirror",
      }),
    ).rejects.toThrow(/engine two builds through \/build/);
    expect([...one.calls, ...two.calls]).toEqual([]);
  });
});

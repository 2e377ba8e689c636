import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../engine/engine.js";
import { EngineError } from "../errors.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { FakeEngine, type FakeBuildScript } from "../testing/fake-engine.js";
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

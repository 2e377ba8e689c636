import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import type { StageCost } from "./estimate-stage-costs.js";
import { placeStages, type Placement, type PoolEngine } from "./place-stages.js";
import {
  createRandom,
  readPlacementCorpus,
  syntheticCosts,
} from "./placement-corpus.test-support.js";

const cost = (durationMs: number, sizeBytes = 1_000_000): StageCost => ({
  durationMs,
  sizeBytes,
  source: "default",
});
const pool = (count: number, capacity = 1): PoolEngine[] =>
  Array.from({ length: count }, (_, index) => ({ name: `e${index + 1}`, capacity }));

const FANOUT = [
  "FROM stagecraft/busybox:latest AS deps",
  "RUN make deps",
  "FROM deps AS a",
  "RUN make a",
  "FROM deps AS b",
  "RUN make b",
  "FROM deps AS c",
  "RUN make c",
  "FROM deps AS d",
  "RUN make d",
  "",
].join("\n");

/** Every stage placed once, after the results it needs are there (transfers counted). */
function expectConsistent(
  placement: Placement,
  plan: ReturnType<typeof analyzeDockerfile>["plan"],
  moveMs: (stage: number) => number,
  capacity = 1,
): void {
  const byStage = new Map(placement.stages.map((entry) => [entry.stage, entry]));
  expect([...byStage.keys()].sort((a, b) => a - b)).toEqual(plan.stages);
  for (const entry of placement.stages) {
    for (const dependency of plan.graph.stages[entry.stage]?.dependsOn ?? []) {
      const before = byStage.get(dependency);
      if (before === undefined) continue;
      const needed = before.finishMs + (before.engine === entry.engine ? 0 : moveMs(dependency));
      expect(entry.startMs).toBeGreaterThanOrEqual(needed - 1e-6);
    }
  }
  // No engine runs more stages at once than its capacity.
  for (const name of placement.engines) {
    const mine = placement.stages.filter((entry) => entry.engine === name);
    for (const entry of mine) {
      const overlapping = mine.filter(
        (other) => other.startMs <= entry.startMs && other.finishMs > entry.startMs,
      ).length;
      expect(overlapping).toBeLessThanOrEqual(capacity);
    }
  }
  expect(placement.makespanMs).toBeGreaterThanOrEqual(placement.bounds.lowerBoundMs - 1e-6);
}

describe("placeStages", () => {
  it("puts everything on a pool of one, with nothing to move", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT, { targets: ["a", "b", "c", "d"] });
    const placement = placeStages({
      plan,
      engines: pool(1, 2),
      costs: graph.stages.map(() => cost(10_000)),
    });
    expect(placement.targets.map((target) => target.engine)).toEqual(["e1", "e1", "e1", "e1"]);
    expect(placement.transfers).toEqual([]);
    // deps, then four targets two at a time.
    expect(placement.makespanMs).toBe(30_000);
    expect(placement.bounds).toEqual({
      criticalPathMs: 20_000,
      workPerCapacityMs: 25_000,
      lowerBoundMs: 25_000,
    });
  });

  it("spreads a fan-out and builds the shared stage once, moving it to the others", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT, { targets: ["a", "b", "c", "d"] });
    const placement = placeStages({
      plan,
      engines: pool(2),
      costs: graph.stages.map(() => cost(10_000, 50_000_000)),
      transfer: { fixedMs: 1500, bytesPerMs: 50_000 },
    });
    const engines = new Set(placement.targets.map((target) => target.engine));
    expect(engines).toEqual(new Set(["e1", "e2"]));
    expect(placement.transfers).toEqual([
      { stage: 0, id: "deps", from: "e1", to: ["e2"], bytes: 50_000_000, ms: 2500 },
    ]);
    // deps 10 s, then two targets on each engine; e2 waits 2.5 s for deps.
    expect(placement.makespanMs).toBe(32_500);
    expect(placement.busyMs).toEqual({ e1: 30_000, e2: 20_000 });
    expectConsistent(placement, plan, () => 2500);
  });

  it("keeps a small fan-out on one engine when moving costs more than it saves", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT, { targets: ["a", "b"] });
    const placement = placeStages({
      plan,
      engines: pool(2),
      costs: graph.stages.map((_, index) => cost(index === 0 ? 10_000 : 1000, 1_000_000_000)),
    });
    expect(placement.transfers).toEqual([]);
    expect(placement.makespanMs).toBe(12_000);
  });

  it("sends a stage to the engine that holds its cache", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT, { targets: ["c"] });
    const placement = placeStages({
      plan,
      engines: [
        { name: "e1", capacity: 1 },
        { name: "e2", capacity: 1, cachedStages: ["deps", "c"] },
      ],
      costs: graph.stages.map(() => cost(10_000)),
    });
    expect(placement.targets).toEqual([{ target: "c", engine: "e2" }]);
    expect(placement.makespanMs).toBe(200);
  });

  it("counts the pull of a base image an engine lacks", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT, { targets: ["a"] });
    const placement = placeStages({
      plan,
      engines: [
        { name: "e1", capacity: 1 },
        { name: "e2", capacity: 1, images: ["stagecraft/busybox:latest"] },
      ],
      costs: graph.stages.map(() => cost(1000)),
      transfer: { missingImageMs: 5000 },
    });
    expect(placement.stages.map((entry) => entry.engine)).toEqual(["e2", "e2"]);
  });

  it("refuses an empty pool, a name given twice and a capacity below 1", () => {
    const { plan, graph } = analyzeDockerfile(FANOUT);
    const costs = graph.stages.map(() => cost(1000));
    expect(() => placeStages({ plan, engines: [], costs })).toThrow(UsageError);
    expect(() => placeStages({ plan, engines: [...pool(1), ...pool(1)], costs })).toThrow(
      'engine "e1" is named twice in the pool',
    );
    expect(() => placeStages({ plan, engines: pool(1, 0), costs })).toThrow(
      'engine "e1" has capacity 0',
    );
  });
});

describe("placeStages on the repository's corpus graphs, synthetic costs", () => {
  const corpus = readPlacementCorpus();

  it("has graphs with more than one target to place", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(10);
    expect(corpus.filter((entry) => entry.plan.targets.length > 1).length).toBeGreaterThanOrEqual(
      3,
    );
  });

  for (const engines of [1, 2, 4, 8]) {
    it(`stays within 1.25x of the lower bound on ${engines} engine(s), every schedule valid`, () => {
      const ratios: number[] = [];
      for (const entry of corpus) {
        const costs = syntheticCosts(entry.plan, createRandom((entry.seed ^ engines) >>> 0));
        const transfer = { fixedMs: 1500, bytesPerMs: 50_000 };
        const placement = placeStages({
          plan: entry.plan,
          engines: pool(engines, 2),
          costs,
          transfer,
        });
        expectConsistent(
          placement,
          entry.plan,
          (stage) => transfer.fixedMs + (costs[stage]?.sizeBytes ?? 0) / transfer.bytesPerMs,
          2,
        );
        ratios.push(placement.makespanMs / placement.bounds.lowerBoundMs);
      }
      // Measured: 1.24 at worst on one engine (two slots), 1.00 on 2, 4 and 8 (costs seeded by
      // each Dockerfile's text, so adding a file to the corpus changes no other file's costs).
      expect(Math.max(...ratios)).toBeLessThanOrEqual(1.25);
    });
  }
});

import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { estimateStageCosts } from "./estimate-stage-costs.js";
import { gatherCacheAffinity } from "./gather-cache-affinity.js";
import { placeStages } from "./place-stages.js";

/** A pool report as `build --engine … --report` writes it (the fields affinity reads). */
const poolReport = (
  targets: [string, string, string][],
  shared: [string, string, string | null][] = [],
) => ({
  status: "succeeded",
  targets: targets.map(([target, engine, status]) => ({ target, engine, status, imageId: null })),
  shared: shared.map(([stage, engine, reference]) => ({ stage, engine, reference, to: [] })),
  moved: [],
  busyMs: {},
  pins: null,
});

describe("gatherCacheAffinity", () => {
  it("gives each engine the targets and shared stages it built last, the later run winning", () => {
    const affinity = gatherCacheAffinity([
      poolReport(
        [
          ["a", "one", "succeeded"],
          ["b", "two", "succeeded"],
          ["c", "two", "succeeded"],
        ],
        [["deps", "one", "127.0.0.1:5000/ci/deps@sha256:00"]],
      ),
      // A single-engine report and junk are skipped.
      { stages: [], targets: [{ target: "a", status: "succeeded" }] },
      null,
      "not a report",
      poolReport(
        [
          ["b", "three", "succeeded"],
          // A failed build leaves the cache where the last success was.
          ["c", "one", "failed"],
        ],
        // A stage that was not shared (no reference) moved nothing.
        [["deps", "two", null]],
      ),
    ]);
    expect(affinity).toEqual({ one: ["a", "deps"], two: ["c"], three: ["b"] });
  });

  it("adds the stages each engine's run ran or took from its cache, on every engine that did", () => {
    const run = (engine: string, stages: [string, number, number][]) => ({
      engine,
      report: {
        stages: stages.map(([stage, stepsRun, stepsCached]) => ({ stage, stepsRun, stepsCached })),
      },
    });
    const affinity = gatherCacheAffinity([
      {
        ...poolReport([
          ["a", "one", "succeeded"],
          ["b", "two", "succeeded"],
        ]),
        runs: [
          run("one", [
            ["deps", 1, 0],
            ["a", 1, 0],
          ]),
          // deps read as a named context: none of its steps ran here.
          run("two", [
            ["deps", 0, 0],
            ["b", 0, 1],
          ]),
          { engine: "two", report: null },
        ],
      },
    ]);
    expect(affinity).toEqual({ one: ["a", "deps"], two: ["b"] });
  });

  it("is nothing without pool reports", () => {
    expect(gatherCacheAffinity([])).toEqual({});
  });

  it("as placement input, puts each target back on the engine that holds its cache", () => {
    const text = [
      "FROM stagecraft/busybox:latest AS base",
      ...["a", "b", "c", "d"].flatMap((name) => [`FROM base AS ${name}`, `RUN make ${name}`]),
      "",
    ].join("\n");
    const analysis = analyzeDockerfile(text, { targets: ["a", "b", "c", "d"] });
    const costs = estimateStageCosts(analysis.graph, []);
    const affinity = gatherCacheAffinity([
      poolReport([
        ["a", "two", "succeeded"],
        ["b", "one", "succeeded"],
        ["c", "two", "succeeded"],
        ["d", "one", "succeeded"],
      ]),
    ]);
    const place = (cached: Record<string, string[]>) =>
      placeStages({
        plan: analysis.plan,
        engines: ["one", "two"].map((name) => ({
          name,
          capacity: 2,
          cachedStages: cached[name],
        })),
        costs,
      }).targets.map((entry) => [entry.target, entry.engine]);
    // Without affinity the planner has no reason for this split; with it, each target goes home.
    expect(place(affinity)).toEqual([
      ["a", "two"],
      ["b", "one"],
      ["c", "two"],
      ["d", "one"],
    ]);
    expect(place({})).not.toEqual(place(affinity));
  });
});

import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import type { TargetsPlan } from "../plan/plan-targets.js";
import { boundMakespan, splitBound } from "./bound-makespan.js";
import { modelPlacement, placeStages, type PlacementInput } from "./place-stages.js";
import {
  createRandom,
  readPlacementCorpus,
  syntheticCosts,
} from "./placement-corpus.test-support.js";
import { searchOptimalMakespan } from "./search-optimal-makespan.js";

const FANIN =
  "FROM stagecraft/busybox:latest AS a\nRUN a\nFROM stagecraft/busybox:latest AS b\nRUN b\nFROM stagecraft/busybox:latest AS c\nRUN c\nFROM a AS final\nCOPY --from=b /x /x\nCOPY --from=c /y /y\n";
const sinks = (text: string): TargetsPlan => {
  const { graph } = analyzeDockerfile(text);
  const needed = new Set(graph.stages.flatMap((stage) => stage.dependsOn));
  const targets = graph.stages.filter((stage) => !needed.has(stage.index)).map((stage) => stage.id);
  return analyzeDockerfile(text, { targets }).plan;
};

describe("boundMakespan", () => {
  it("counts the transfer a fan-in of three on two slots cannot avoid", () => {
    // a, b, c 10 s each, final 10 s, each result 1.5 s to move; engines of two slots. The classic
    // bound is the chain (20 s); one of a, b, c runs after the others or elsewhere (+1.5 s).
    const plan = sinks(FANIN);
    const input: PlacementInput = {
      plan,
      engines: [
        { name: "e1", capacity: 2 },
        { name: "e2", capacity: 2 },
      ],
      costs: plan.graph.stages.map(() => ({ durationMs: 10_000, sizeBytes: 0, source: "default" })),
      transfer: { fixedMs: 1500 },
    };
    const bounds = boundMakespan(modelPlacement(input), plan.order);
    expect(bounds.classicMs).toBe(20_000);
    expect(bounds.transferMs).toBe(21_500);
    const optimum = searchOptimalMakespan(modelPlacement(input), plan.order, {
      upperMs: placeStages(input).makespanMs,
      maxNodes: 1_000_000,
    });
    expect(optimum).toMatchObject({ makespanMs: 21_500, exact: true });
  });

  it("splits a group between one engine's slots and the others", () => {
    // Four stages of 10 s, two slots here, the others 3 s away: two here, two elsewhere (13 s).
    const group = [10, 10, 10, 10].map((own) => ({ own, rest: 0 }));
    expect(splitBound(group, 3, 2)).toBe(13);
    // Moving costs more than waiting: all four here, two at a time.
    expect(splitBound(group, 30, 2)).toBe(20);
    expect(splitBound([], 3, 2)).toBe(0);
  });

  it("never exceeds the exact optimum on the corpus graphs (a true lower bound)", () => {
    let tighter = 0;
    let compared = 0;
    for (const entry of readPlacementCorpus()) {
      if (entry.plan.stages.length > 7) continue;
      for (const engines of [2, 4]) {
        for (const transfer of [
          { fixedMs: 500, bytesPerMs: 8000 },
          { fixedMs: 1500, bytesPerMs: 50_000 },
        ]) {
          const input: PlacementInput = {
            plan: entry.plan,
            engines: Array.from({ length: engines }, (_, index) => ({
              name: `e${index}`,
              capacity: 2,
            })),
            costs: syntheticCosts(entry.plan, createRandom((entry.seed ^ engines) >>> 0)),
            transfer,
          };
          const model = modelPlacement(input);
          const bounds = boundMakespan(model, entry.plan.order);
          const optimum = searchOptimalMakespan(model, entry.plan.order, {
            upperMs: placeStages(input).makespanMs,
            maxNodes: 2_000_000,
          });
          if (!optimum.exact) continue;
          compared += 1;
          expect(bounds.lowerBoundMs).toBeLessThanOrEqual(optimum.makespanMs + 1e-6);
          expect(bounds.lowerBoundMs).toBeGreaterThanOrEqual(bounds.classicMs);
          if (bounds.lowerBoundMs > bounds.classicMs + 1e-6) tighter += 1;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(40);
    expect(tighter).toBeGreaterThan(0);
  });
});

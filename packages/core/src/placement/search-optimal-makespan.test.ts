import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import type { TargetsPlan } from "../plan/plan-targets.js";
import { modelPlacement, placeStages, type PlacementInput } from "./place-stages.js";
import { createRandom, syntheticCosts } from "./placement-corpus.test-support.js";
import { scheduleInOrder } from "./schedule-stages.js";
import { searchOptimalMakespan } from "./search-optimal-makespan.js";

/** Every engine assignment with every topological order, list-scheduled: the model's optimum. */
function bruteForce(input: PlacementInput): number {
  const model = modelPlacement(input);
  const schedule = model.model(input.engines.length);
  const stages = input.plan.order;
  const orders: number[][] = [];
  const extend = (prefix: number[]): void => {
    if (prefix.length === stages.length) {
      orders.push(prefix);
      return;
    }
    for (const stage of stages) {
      if (prefix.includes(stage)) continue;
      if (
        (model.dependencies.get(stage) ?? []).every((dependency) => prefix.includes(dependency))
      ) {
        extend([...prefix, stage]);
      }
    }
  };
  extend([]);
  let best = Infinity;
  const total = input.engines.length ** stages.length;
  for (let code = 0; code < total; code++) {
    const assignment = new Map<number, number>();
    let rest = code;
    for (const stage of stages) {
      assignment.set(stage, rest % input.engines.length);
      rest = Math.floor(rest / input.engines.length);
    }
    for (const order of orders) {
      best = Math.min(best, scheduleInOrder(order, schedule, assignment).makespanMs);
    }
  }
  return best;
}

const SHAPES = [
  // fan-out
  "FROM stagecraft/busybox:latest AS deps\nRUN x\nFROM deps AS a\nRUN a\nFROM deps AS b\nRUN b\nFROM deps AS c\nRUN c\n",
  // fan-in of three roots
  "FROM stagecraft/busybox:latest AS a\nRUN a\nFROM stagecraft/busybox:latest AS b\nRUN b\nFROM stagecraft/busybox:latest AS c\nRUN c\nFROM a AS final\nCOPY --from=b /x /x\nCOPY --from=c /y /y\n",
  // diamond and a side target
  "FROM stagecraft/busybox:latest AS base\nRUN x\nFROM base AS left\nRUN l\nFROM base AS right\nRUN r\nFROM left AS app\nCOPY --from=right /r /r\nFROM stagecraft/busybox:latest AS tool\nRUN t\n",
];
const sinks = (text: string): TargetsPlan => {
  const { graph } = analyzeDockerfile(text);
  const needed = new Set(graph.stages.flatMap((stage) => stage.dependsOn));
  const targets = graph.stages.filter((stage) => !needed.has(stage.index)).map((stage) => stage.id);
  return analyzeDockerfile(text, { targets }).plan;
};

describe("searchOptimalMakespan", () => {
  it("agrees with trying every assignment and order, on small graphs and pools", () => {
    const random = createRandom(42);
    let checked = 0;
    for (const text of SHAPES) {
      const plan = sinks(text);
      for (const [engines, capacity] of [
        [2, 1],
        [2, 2],
        [3, 1],
      ] as const) {
        for (let trial = 0; trial < 3; trial++) {
          const input: PlacementInput = {
            plan,
            engines: Array.from({ length: engines }, (_, index) => ({
              name: `e${index}`,
              capacity,
            })),
            costs: syntheticCosts(plan, random),
          };
          // No head start from the heuristic: the search has to find the optimum itself.
          const found = searchOptimalMakespan(modelPlacement(input), plan.order, {
            upperMs: Infinity,
            maxNodes: 1_000_000,
          });
          expect(found.exact).toBe(true);
          const optimum = bruteForce(input);
          expect(found.makespanMs).toBeCloseTo(optimum, 6);
          expect(placeStages(input).makespanMs).toBeGreaterThanOrEqual(optimum - 1e-6);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(27);
  });

  it("says when it stopped early", () => {
    const plan = sinks(SHAPES[2] ?? "");
    const input: PlacementInput = {
      plan,
      engines: [
        { name: "a", capacity: 1 },
        { name: "b", capacity: 1 },
      ],
      costs: syntheticCosts(plan, createRandom(1)),
    };
    const found = searchOptimalMakespan(modelPlacement(input), plan.order, {
      upperMs: Infinity,
      maxNodes: 3,
    });
    expect(found.exact).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { DEFAULT_INSTRUCTION_COSTS, estimateStageCosts } from "./estimate-stage-costs.js";

const TEXT = [
  "FROM stagecraft/busybox:latest AS deps",
  "ENV A=1",
  "RUN make deps",
  "COPY . /src",
  "FROM deps AS app",
  "RUN make app",
  "",
].join("\n");

describe("estimateStageCosts", () => {
  it("adds up the per-instruction defaults when no report timed a stage", () => {
    const { graph } = analyzeDockerfile(TEXT);
    const { run, copy, other, stage } = DEFAULT_INSTRUCTION_COSTS;
    expect(estimateStageCosts(graph)).toEqual([
      {
        durationMs: stage.durationMs + other.durationMs + run.durationMs + copy.durationMs,
        sizeBytes: run.sizeBytes + copy.sizeBytes,
        source: "default",
      },
      {
        durationMs: stage.durationMs + run.durationMs,
        sizeBytes: run.sizeBytes,
        source: "default",
      },
    ]);
  });

  it("takes the median of the runs that built a stage, and a target's image size", () => {
    const { graph } = analyzeDockerfile(TEXT);
    const report = (deps: number, stepsRun: number, size: number | null) => ({
      stages: [
        { stage: "deps", durationMs: deps, stepsRun },
        { stage: "app", durationMs: 0, stepsRun: 0 },
      ],
      targets: [{ target: "app", sizeBytes: size }],
    });
    const costs = estimateStageCosts(graph, [
      report(9000, 2, 7_000_000),
      report(1, 0, null),
      report(11_000, 1, 9_000_000),
      report(30_000, 2, null),
    ]);
    expect(costs[0]).toMatchObject({ durationMs: 11_000, source: "report" });
    // app came from the cache every time: the defaults, and the median of its two sizes.
    expect(costs[1]).toEqual({
      durationMs:
        DEFAULT_INSTRUCTION_COSTS.stage.durationMs + DEFAULT_INSTRUCTION_COSTS.run.durationMs,
      sizeBytes: 8_000_000,
      source: "default",
    });
  });
});

import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { analyzeDockerfile } from "./analyze-dockerfile.js";

// Generated inputs: an explicit, generous limit, so that a loaded machine cannot trip vitest's
// 5 s default (these take 1-4 s on a busy 2-core machine).
const TIMEOUT_MS = 60_000;

/**
 * A Dockerfile of `count` instructions in stages of 20: each stage starts from an earlier stage or
 * an image, copies from and mounts earlier stages, and inherits an ONBUILD trigger now and then.
 */
function generatedDockerfile(count: number): { text: string; stages: number } {
  const lines = ["ARG BASE=alpine:3.22", "ARG GO_VERSION=1.26"];
  let instructions = 2;
  let stage = 0;
  while (instructions < count) {
    const earlier = Math.floor(stage / 2);
    const from =
      stage === 0
        ? "golang:${GO_VERSION}-alpine"
        : stage % 3 === 0
          ? "${BASE}"
          : `stage${stage - 1}`;
    lines.push(`FROM ${from} AS stage${stage}`);
    instructions++;
    for (let i = 1; i < 20 && instructions < count; i++, instructions++) {
      if (i === 1 && stage % 7 === 0) lines.push(`ONBUILD COPY --from=stage${earlier} /a /a`);
      else if (i % 5 === 0 && stage > 0) lines.push(`COPY --from=stage${earlier} /out /in${i}`);
      else if (i % 5 === 1) lines.push("RUN --mount=type=cache,target=/root/.cache make");
      else if (i % 5 === 2) lines.push(`ENV N${i}=${stage}`);
      else lines.push(`RUN echo ${stage}-${i}`);
    }
    stage++;
  }
  return { text: lines.join("\n") + "\n", stages: stage };
}

describe("analyzeDockerfile at scale", { timeout: TIMEOUT_MS }, () => {
  it("analyses a generated 100,000-instruction Dockerfile", () => {
    const { text, stages } = generatedDockerfile(100_000);
    const analysis = analyzeDockerfile(text, { targets: ["stage4999", "stage10"] });
    expect(analysis.ast.children).toHaveLength(100_000);
    expect(analysis.graph.stages).toHaveLength(stages);
    expect(analysis.graph.buildErrors).toEqual([]);
    expect(analysis.plan.targets.map((target) => target.stage)).toEqual([stages - 1, 10]);
    expect(analysis.plan.stages.length).toBeGreaterThan(1);
    expect(analysis.json.stages).toHaveLength(stages);
  });

  it("walks a chain of 30,000 stages without overflowing the call stack", () => {
    const count = 30_000;
    const lines = ["FROM alpine AS s0"];
    for (let stage = 1; stage < count; stage++) {
      lines.push(`FROM s${stage - 1} AS s${stage}`, `COPY --from=s${stage - 1} /a /a`);
    }
    const { plan } = analyzeDockerfile(lines.join("\n") + "\n");
    expect(plan.stages).toHaveLength(count);
    expect(plan.levels).toHaveLength(count);
    expect(plan.order[0]).toBe(0);
  });

  it("still names the stage a long cycle starts from", () => {
    const count = 30_000;
    const lines: string[] = [];
    for (let stage = 0; stage < count; stage++) {
      lines.push(`FROM alpine AS s${stage}`, `COPY --from=s${(stage + 1) % count} /a /a`);
    }
    let error: unknown;
    try {
      analyzeDockerfile(lines.join("\n") + "\n");
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DockerfileError);
    expect((error as DockerfileError).message).toBe("circular dependency detected on stage: s0");
    expect([(error as DockerfileError).line, (error as DockerfileError).column]).toEqual([2, 1]);
  });
});

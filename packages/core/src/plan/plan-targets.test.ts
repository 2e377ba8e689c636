import { describe, expect, it } from "vitest";
import { UnknownStageError } from "../errors.js";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import type { TargetsPlan } from "./plan-targets.js";

const dockerfile = `
FROM node:22 AS deps
RUN npm ci

FROM deps AS build
RUN npm run build

FROM deps AS test
COPY --from=build /app/dist /dist
RUN npm test

FROM golang:1.26 AS tools

FROM deps AS lint
COPY --from=tools /go/bin/x /x

FROM nginx:alpine AS app
COPY --from=build /app/dist /usr/share/nginx/html
`;

function idsOf(plan: TargetsPlan, indices: readonly number[]): string[] {
  return indices.map((index) => plan.graph.stages[index]?.id ?? "?");
}

describe("planTargets", () => {
  it("builds the last stage and what it needs when no target is given", () => {
    const { plan, json } = analyzeDockerfile(dockerfile);
    expect(plan.targets.map((target) => target.id)).toEqual(["app"]);
    expect(json.defaultTarget).toBe("app");
    expect(json.reachable).toEqual(["deps", "build", "app"]);
    expect(plan.externalImages).toEqual(["node:22", "nginx:alpine"]);
  });

  it("takes the unnamed last stage by the id plan prints, as the default target", () => {
    const text = "FROM busybox AS build\nRUN make\nFROM busybox\nCOPY --from=build /out /out\n";
    const { plan } = analyzeDockerfile(text, { targets: ["build", "stage-1"] });
    expect(plan.targets.map((target) => [target.id, target.requested])).toEqual([
      ["build", "build"],
      ["stage-1", undefined],
    ]);
    // Only the last stage is the default target: an earlier unnamed stage stays unreachable.
    const twoUnnamed = "FROM busybox\nRUN a\nFROM busybox\nRUN b\n";
    expect(() => analyzeDockerfile(twoUnnamed, { targets: ["stage-0"] })).toThrow(
      UnknownStageError,
    );
    expect(analyzeDockerfile(twoUnnamed, { targets: ["stage-1"] }).plan.targets[0]?.stage).toBe(1);
  });

  it("takes undefined among the targets as the default target, beside named ones", () => {
    const { plan } = analyzeDockerfile(dockerfile, { targets: ["test", undefined, "APP"] });
    // `APP` is the last stage again: planned once, as the default target was.
    expect(plan.targets.map((target) => [target.id, target.requested])).toEqual([
      ["test", "test"],
      ["app", undefined],
    ]);
  });

  it("plans several targets: union, shared stages, levels and order", () => {
    const { plan, json } = analyzeDockerfile(dockerfile, { targets: ["test", "lint", "app"] });
    expect(plan.targets.map((target) => [target.requested, idsOf(plan, target.reachable)])).toEqual(
      [
        ["test", ["deps", "build", "test"]],
        ["lint", ["deps", "tools", "lint"]],
        ["app", ["deps", "build", "app"]],
      ],
    );
    expect(idsOf(plan, plan.stages)).toEqual(["deps", "build", "test", "tools", "lint", "app"]);
    expect(json.reachable).toEqual(["deps", "build", "test", "tools", "lint", "app"]);
    expect(idsOf(plan, plan.shared)).toEqual(["deps", "build"]);
    expect(plan.levels.map((level) => idsOf(plan, level))).toEqual([
      ["deps", "tools"],
      ["build", "lint"],
      ["test", "app"],
    ]);
    expect(idsOf(plan, plan.order)).toEqual(["deps", "tools", "build", "lint", "test", "app"]);
    expect(plan.externalImages).toEqual(["node:22", "golang:1.26", "nginx:alpine"]);
  });

  it("matches targets case-insensitively and plans a stage once", () => {
    const { plan } = analyzeDockerfile(dockerfile, { targets: ["BUILD", "build"] });
    expect(plan.targets.map((target) => target.id)).toEqual(["build"]);
    expect(plan.shared).toEqual([]);
  });

  it("orders by levels even when a stage copies from a later one", () => {
    const { plan } = analyzeDockerfile(
      "FROM alpine AS a\nCOPY --from=c / /\nFROM alpine AS b\nFROM alpine AS c\nFROM a\n",
    );
    expect(idsOf(plan, plan.order)).toEqual(["c", "a", "stage-3"]);
    expect(plan.targets[0]?.buildError?.message).toBe(
      'cannot copy from stage "c", it needs to be defined before current stage "a"',
    );
  });

  it("reports a later-stage --from only for the targets that build it", () => {
    const text = "FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\n";
    const { plan } = analyzeDockerfile(text, { targets: ["a", "b"] });
    expect(plan.targets.map((target) => target.buildError?.message)).toEqual([
      'cannot copy from stage "b", it needs to be defined before current stage "a"',
      undefined,
    ]);
  });

  it("rejects an unknown target with the stage names and the closest one", () => {
    let thrown: unknown;
    try {
      analyzeDockerfile(dockerfile, { targets: ["app", "biuld"] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnknownStageError);
    const error = thrown as UnknownStageError;
    expect(error.message).toBe('target stage "biuld" could not be found');
    expect(error.suggestion).toBe("build");
    expect(error.available).toEqual(["deps", "build", "test", "tools", "lint", "app"]);
    expect(error.hint).toContain('Did you mean "build"?');
  });

  it("gives no suggestion when nothing is close, and cannot target an unnamed inner stage", () => {
    expect(() =>
      analyzeDockerfile("FROM alpine\nFROM busybox\n", { targets: ["stage-0"] }),
    ).toThrow(UnknownStageError);
    expect(() => analyzeDockerfile(dockerfile, { targets: ["production"] })).toThrow(
      expect.objectContaining({ requested: "production", suggestion: undefined }),
    );
  });
});

describe("serializePlan", () => {
  it("writes the corpus schema, with platform only when given", () => {
    const { json } = analyzeDockerfile(
      "FROM --platform=$BUILDPLATFORM golang AS build\nFROM scratch\nCOPY --from=build /a /a\n",
    );
    expect(JSON.stringify(json)).toBe(
      JSON.stringify({
        stages: [
          {
            index: 0,
            name: "build",
            id: "build",
            line: 1,
            from: "golang",
            platform: "$BUILDPLATFORM",
            base: { image: "golang" },
            dependsOn: [],
            externalImages: ["golang"],
          },
          {
            index: 1,
            name: null,
            id: "stage-1",
            line: 2,
            from: "scratch",
            base: { scratch: true },
            dependsOn: ["build"],
            externalImages: [],
          },
        ],
        defaultTarget: "stage-1",
        reachable: ["build", "stage-1"],
      }),
    );
  });

  it("refuses an empty file with BuildKit's words", () => {
    expect(() => analyzeDockerfile("")).toThrow("the Dockerfile cannot be empty");
    expect(() => analyzeDockerfile("# only a comment\n")).toThrow("file with no instructions");
  });

  it("puts the file name on errors when given", () => {
    expect(() => analyzeDockerfile("FROM alpine\nRUNN x\n", { file: "app/Dockerfile" })).toThrow(
      expect.objectContaining({ location: "app/Dockerfile:2:1" }),
    );
  });
});

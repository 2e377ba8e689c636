import { describe, expect, it } from "vitest";
import { DockerfileError, UnknownStageError, UsageError } from "../errors.js";
import { parseDockerfile } from "../dockerfile/parse-dockerfile.js";
import { buildStageGraph, type StageGraphOptions } from "./build-stage-graph.js";
import type { StageGraph } from "./stage-graph.js";

function graphOf(text: string, options: StageGraphOptions = {}): StageGraph {
  return buildStageGraph(parseDockerfile(text), options);
}

function graphError(text: string, options: StageGraphOptions = {}): DockerfileError {
  try {
    graphOf(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error("expected the graph to be rejected");
}

function ids(graph: StageGraph, indices: readonly number[]): string[] {
  return indices.map((index) => graph.stages[index]?.id ?? "?");
}

describe("buildStageGraph: global args and FROM", () => {
  const chooser =
    "ARG ENV=dev\nFROM alpine AS build-dev\nFROM alpine AS build-prod\nFROM build-${ENV}\n";

  it("chooses a base stage with a meta ARG, and a --build-arg overrides it", () => {
    expect(graphOf(chooser).stages[2]?.base).toEqual({ kind: "stage", index: 0 });
    expect(graphOf(chooser, { buildArgs: { ENV: "prod" } }).stages[2]?.base).toEqual({
      kind: "stage",
      index: 1,
    });
    expect(graphOf(chooser, { buildArgs: new Map([["ENV", "qa"]]) }).stages[2]?.base).toEqual({
      kind: "image",
      reference: "build-qa",
    });
  });

  it("ignores a --build-arg for a name not declared before FROM", () => {
    expect(
      graphOf("FROM ${IMG:-alpine}\n", { buildArgs: { IMG: "ubuntu" } }).stages[0]?.baseName,
    ).toBe("alpine");
  });

  it("uses a --build-arg verbatim and expands defaults in order", () => {
    const graph = graphOf("ARG A=1\nARG B=${A}-x\nARG A=${A}2\nARG C\nFROM img:${A}-${B}-${C}\n", {
      buildArgs: { C: "$A" },
    });
    expect(graph.stages[0]?.baseName).toBe("img:12-1-x-$A");
    expect(graph.globalArgs.get("B")).toBe("1-x");
  });

  it("treats a meta ARG without a default as set to the empty string (BuildKit 0.13)", () => {
    const graph = graphOf("ARG V\nFROM alpine${V+:set}${W+:unset}\n");
    expect(graph.stages[0]?.baseName).toBe("alpine:set");
  });

  it("predefines the platform args from the platform options (linux/amd64 by default)", () => {
    const text =
      "FROM img:$BUILDPLATFORM-$BUILDOS-$BUILDARCH-$TARGETPLATFORM-${TARGETVARIANT:-none}-$TARGETSTAGE AS final\n";
    expect(graphOf(text).stages[0]?.baseName).toBe(
      "img:linux/amd64-linux-amd64-linux/amd64-none-final",
    );
    expect(graphOf(text, { platform: "linux/arm/v7" }).stages[0]?.baseName).toBe(
      "img:linux/amd64-linux-amd64-linux/arm/v7-v7-final",
    );
    expect(
      graphOf(text, {
        platform: "arm64",
        buildPlatform: "linux/arm64",
        buildArgs: { TARGETARCH: "x" },
      }).stages[0]?.baseName,
    ).toBe("img:linux/arm64-linux-arm64-linux/arm64-none-final");
  });

  it("sets TARGETSTAGE to the requested target, else to `default` for an unnamed last stage", () => {
    const text = "FROM alpine AS a\nFROM img:$TARGETSTAGE\n";
    expect(graphOf(text).stages[1]?.baseName).toBe("img:default");
    expect(graphOf(text, { targets: ["A"] }).stages[1]?.baseName).toBe("img:A");
  });

  it("resolves FROM only to earlier stages, exactly, the latest of a name", () => {
    const graph = graphOf(
      "FROM later AS first\nFROM alpine AS x\nFROM busybox AS x\nFROM x\nFROM X\nFROM scratch\nFROM alpine AS later\n",
    );
    expect(graph.stages.map((stage) => stage.base)).toEqual([
      { kind: "image", reference: "later" },
      { kind: "image", reference: "alpine" },
      { kind: "image", reference: "busybox" },
      { kind: "stage", index: 2 },
      { kind: "image", reference: "X" },
      { kind: "scratch" },
      { kind: "image", reference: "alpine" },
    ]);
    expect(graph.warnings.map((warning) => warning.message)).toEqual([
      'Duplicate stage name "x", stage names should be unique',
    ]);
    expect(graph.buildErrors.map((error) => error.message)).toEqual([
      'failed to parse stage name "X": invalid reference format: repository name (library/X) must be lowercase',
    ]);
  });

  it("lets a stage named scratch shadow the empty image, with a warning", () => {
    const graph = graphOf("FROM alpine AS scratch\nFROM scratch\n");
    expect(graph.stages[1]?.base).toEqual({ kind: "stage", index: 0 });
    expect(graph.warnings[0]?.rule).toBe("ReservedStageName");
  });

  it("removes quotes when it expands a base", () => {
    expect(graphOf('ARG V="-slim"\nFROM debian:"trixie${V}"\n').stages[0]?.externalImages).toEqual([
      "debian:trixie-slim",
    ]);
  });
});

describe("buildStageGraph: errors BuildKit raises before building", () => {
  const cases: [text: string, message: string, line: number][] = [
    ["ARG A=1\n", "dockerfile contains no stages to build", 1],
    ["ARG IMG\nFROM ${IMG}\n", "base name (${IMG}) should not be blank", 2],
    ["FROM ${\n", `failed to process "\${": syntax error: missing '}'`, 1],
    ["ARG A=${B:?need-B}\nFROM alpine\n", 'failed to process "${B:?need-B}": B: need-B', 1],
    ["FROM --platform=$NOPE alpine\n", "empty platform value from expression $NOPE", 1],
    [
      "FROM --platform=$BUILDPLATFROM alpine\n",
      "empty platform value from expression $BUILDPLATFROM (did you mean BUILDPLATFORM?)",
      1,
    ],
    [
      "FROM --platform=linux/amd64/v2/x alpine\n",
      'failed to parse platform linux/amd64/v2/x: "linux/amd64/v2/x": cannot parse platform specifier: invalid argument',
      1,
    ],
    ["FROM alpine AS trailing_\n", "invalid context name trailing_: invalid reference format", 1],
    [
      "FROM alpine AS double..dot\n",
      "invalid context name double..dot: invalid reference format",
      1,
    ],
    ["FROM alpine\nCOPY --from=5 /a /b\n", "invalid stage index 5", 2],
    ["FROM alpine\nCOPY --from=-1 /a /b\n", "invalid stage index -1", 2],
    [
      "ARG X=a\nFROM alpine AS a\nFROM alpine\nCOPY --from=${X} /a /b\n",
      "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
      4,
    ],
    [
      "FROM busybox AS stage0\nCOPY --from=stage0 f /\n",
      "circular dependency detected on stage: stage0",
      2,
    ],
    ["FROM busybox\nCOPY --from=0 f /\n", "circular dependency detected on stage: stage-0", 2],
    [
      "FROM busybox AS a\nFROM busybox AS b\nCOPY --from=c f /\nFROM busybox AS c\nRUN --mount=from=b true\n",
      "circular dependency detected on stage: b",
      3,
    ],
  ];

  it.each(cases)("%j", (text, message, line) => {
    const error = graphError(text);
    expect(error.message).toBe(message);
    expect(error.line).toBe(line);
  });

  it("checks requested targets before dependencies, as BuildKit does", () => {
    expect(() => graphOf("FROM a AS x\nCOPY --from=x / /\n", { targets: ["nope"] })).toThrow(
      UnknownStageError,
    );
  });

  it("rejects a malformed platform option", () => {
    expect(() => graphOf("FROM alpine\n", { platform: "linux/*" })).toThrow(UsageError);
  });
});

describe("buildStageGraph: dependencies", () => {
  it("resolves --from by name (case-insensitive, last of a name), by index, or as an image", () => {
    const graph = graphOf(
      [
        "FROM alpine AS Tools",
        "FROM alpine AS tools",
        "FROM alpine",
        "COPY --from=TOOLS /a /b",
        "COPY --from=+0 /a /b",
        "COPY --from=nginx:latest /a /b",
        "COPY --from=scratch /a /b",
        "COPY --from=nginx:latest /c /d",
        "COPY --from=99999999999999999999 /a /b",
        "",
      ].join("\n"),
    );
    const stage = graph.stages[2];
    expect(stage?.dependsOn).toEqual([1, 0]);
    expect(
      stage?.dependencies.map((dependency) => [dependency.kind, dependency.reference]),
    ).toEqual([
      ["copy", "TOOLS"],
      ["copy", "+0"],
    ]);
    expect(stage?.externalImages).toEqual(["alpine", "nginx:latest", "99999999999999999999"]);
  });

  it("resolves mounts by name only, and a mount without from to a stage named scratch", () => {
    const graph = graphOf(
      "FROM alpine AS deps\nFROM alpine AS scratch\nFROM alpine\nRUN --mount=from=DEPS,target=/d --mount=from=1,target=/x --mount=type=cache,target=/c true\n",
    );
    expect(graph.stages[2]?.dependsOn).toEqual([0, 1]);
    expect(graph.stages[2]?.externalImages).toEqual(["alpine", "1"]);
  });

  it("records ONBUILD --from of the base stage as the child's dependencies", () => {
    const graph = graphOf(
      "FROM alpine AS base\nONBUILD COPY --from=tools /x /x\nONBUILD RUN --mount=from=cfg,target=/c true\nFROM alpine AS tools\nFROM alpine AS cfg\nFROM base\nCOPY --from=ext:1 / /\n",
    );
    const child = graph.stages[3];
    expect(ids(graph, child?.dependsOn ?? [])).toEqual(["base", "tools", "cfg"]);
    expect(child?.dependencies.map((dependency) => dependency.onbuild)).toEqual([
      false,
      true,
      true,
    ]);
    expect(child?.inheritedTriggers.map((trigger) => trigger.kind)).toEqual(["copy", "run"]);
    expect(child?.externalImages).toEqual(["ext:1"]);
    expect(graph.stages[0]?.dependsOn).toEqual([]);
  });

  it("keeps a bad ONBUILD trigger for when the inheriting stage is built", () => {
    const graph = graphOf(
      "FROM alpine AS base\nONBUILD FOO bar\nFROM base AS child\nFROM alpine\n",
    );
    expect(graph.stages[1]?.triggerErrors.map((error) => [error.message, error.line])).toEqual([
      ["unknown instruction: FOO (did you mean FROM?)", 3],
    ]);
  });

  it("records --from a later stage as an error of the stage that copies", () => {
    const graph = graphOf(
      "FROM alpine AS a\nCOPY --from=b /x /y\nRUN --mount=type=cache,from=b,target=/t true\nFROM alpine AS b\n",
    );
    expect(graph.stages[0]?.dispatchErrors.map((error) => error.message)).toEqual([
      'cannot copy from stage "b", it needs to be defined before current stage "a"',
      'cannot mount from stage "b" to "/t", stage needs to be defined before current command',
    ]);
  });

  it("validates RUN mounts when the stage is built, as BuildKit's dispatch does", () => {
    const graph = graphOf(
      "FROM alpine AS a\nRUN --mount=type=foo true\nFROM alpine\nRUN --mount=type=secret,from=a,target=/s --mount=type=bind,mode=0600 --mount=type=cache,target=/c,sharing=locked,id=$ID true\n",
    );
    expect(graph.stages[0]?.dispatchErrors.map((error) => error.message)).toEqual([
      'unsupported mount type "foo"',
    ]);
    expect(graph.stages[1]?.dispatchErrors.map((error) => [error.message, error.line])).toEqual([
      ["secret mount should not have a from", 4],
      ['mode not allowed for "bind" type mounts', 4],
    ]);
  });

  it("lists a stage's external images once, base first", () => {
    const graph = graphOf("FROM golang:1\nCOPY --from=golang:1 / /\nCOPY --from=x / /\n");
    expect(graph.stages[0]?.externalImages).toEqual(["golang:1", "x"]);
  });
});

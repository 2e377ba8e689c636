import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StepInfo } from "../events.js";
import {
  attributeVertices,
  findStageAtLine,
  findStageOfBaseImage,
  lookupInstructionLine,
  parseVertexName,
  toDockerfileMap,
  type AnnouncedVertex,
  type DockerfileMap,
} from "./attribute-stage.js";
import { parseDaemonLine } from "./decode-status.js";

const fixtures = join(import.meta.dirname, "__fixtures__", "buildkit-streams");
const folders = ["docker-20.10", "docker-26.1"] as const;
const captures = (folder: string): string[] =>
  readdirSync(join(fixtures, folder))
    .filter((file) => file.endsWith(".ndjson"))
    .map((file) => file.slice(0, -".ndjson".length))
    .sort();

function announcedVertices(folder: string, name: string): AnnouncedVertex[] {
  const vertices: AnnouncedVertex[] = [];
  for (const line of readFileSync(join(fixtures, folder, `${name}.ndjson`), "utf8").split("\n")) {
    const parsed = parseDaemonLine(line);
    if (parsed?.kind === "trace") vertices.push(...parsed.status.vertexes);
  }
  return vertices;
}

/** stage (or null) → the vertex names attributed to it, sorted. */
function byStage(steps: Map<string, StepInfo>): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const step of steps.values()) (result[String(step.stage)] ??= []).push(step.name);
  for (const names of Object.values(result)) names.sort();
  return result;
}

describe("parseVertexName", () => {
  it("reads [stage i/n], with the index padded to the width of n", () => {
    expect(parseVertexName("[mystage  1/12] FROM docker.io/library/busybox:local")).toEqual({
      kind: "instruction",
      stage: "mystage",
      index: 1,
      total: 12,
      platform: null,
      instruction: "FROM docker.io/library/busybox:local",
    });
    expect(parseVertexName("[mystage 10/12] RUN true")).toMatchObject({ index: 10, total: 12 });
  });

  it("gives a single-stage [i/n] to stage-0, or to the stage it is told", () => {
    expect(parseVertexName("[2/4] RUN make")).toMatchObject({ stage: "stage-0", index: 2 });
    expect(parseVertexName("[2/4] RUN make", "app")).toMatchObject({ stage: "app" });
    expect(parseVertexName("[stage-0 2/4] RUN --mount=type=secret,id=x true")).toMatchObject({
      stage: "stage-0",
      instruction: "RUN --mount=type=secret,id=x true",
    });
  });

  it("separates a platform label and lower-cases the stage", () => {
    expect(parseVertexName("[linux/amd64 Build 1/3] COPY . .")).toMatchObject({
      platform: "linux/amd64",
      stage: "build",
    });
    expect(parseVertexName("[linux/arm64 2/3] RUN x")).toMatchObject({
      platform: "linux/arm64",
      stage: "stage-0",
    });
  });

  it("keeps heredoc names whole", () => {
    expect(parseVertexName('[2/5] RUN <<EOT (echo "heredoc: line 1"...)')).toMatchObject({
      instruction: 'RUN <<EOT (echo "heredoc: line 1"...)',
    });
  });

  it("tells internal, export and other vertices apart", () => {
    expect(parseVertexName("[internal] load remote build context").kind).toBe("internal");
    expect(parseVertexName("[internal] preparing inline document").kind).toBe("internal");
    expect(parseVertexName("[auth] library/alpine:pull token").kind).toBe("internal");
    expect(parseVertexName("exporting to image").kind).toBe("export");
    expect(parseVertexName("exporting to client tarball").kind).toBe("export");
    expect(parseVertexName("exporting cache").kind).toBe("export");
    for (const name of [
      "copy /context /",
      "FROM docker.io/library/alpine:3",
      "resolve image config for docker-image://docker.io/docker/dockerfile:1",
      "importing cache manifest from nonexistent/image:tag",
      "",
    ]) {
      expect(parseVertexName(name)).toMatchObject({ kind: "other", stage: null, index: null });
    }
  });
});

describe("Dockerfile maps", () => {
  const map: DockerfileMap = toDockerfileMap([
    { stageId: "Base", instructionIndex: 2, line: 2, text: "RUN echo base" },
    { stageId: "Base", instructionIndex: 1, line: 1, text: "FROM busybox:local AS base" },
    { stageId: "a", instructionIndex: 1, line: 5, text: "RUN echo a" },
    { stageId: "final", instructionIndex: 1, line: 7, text: "FROM docker.io/library/alpine:3" },
    { stageId: "final", instructionIndex: 2, line: 8, text: "COPY --from=a /a /a" },
  ]);

  it("groups flat entries by stage, in order, with lower-cased ids", () => {
    expect(map.map((stage) => [stage.id, stage.instructions.map((i) => i.line)])).toEqual([
      ["base", [1, 2]],
      ["a", [5]],
      ["final", [7, 8]],
    ]);
  });

  it("maps [stage i/n] to the line of the i-th instruction when the kinds agree", () => {
    expect(lookupInstructionLine(map, "base", 2, "RUN echo base")).toBe(2);
    expect(lookupInstructionLine(map, "final", 2, "COPY --from=a /a /a")).toBe(8);
    expect(lookupInstructionLine(map, "final", 2, "RUN other")).toBeNull();
    expect(lookupInstructionLine(map, "nope", 1, "RUN x")).toBeNull();
    expect(lookupInstructionLine(map, "a", 2, "RUN x")).toBeNull();
  });

  it("finds the stage around a line and the stage of a base image", () => {
    expect(findStageAtLine(map, 1)).toBe("base");
    expect(findStageAtLine(map, 6)).toBe("a");
    expect(findStageAtLine(map, 100)).toBe("final");
    expect(findStageAtLine([], 1)).toBeNull();
    expect(findStageOfBaseImage(map, "docker.io/library/busybox:local")).toEqual({
      stage: "base",
      line: 1,
    });
    expect(findStageOfBaseImage(map, "alpine:3")).toEqual({ stage: "final", line: 7 });
    expect(findStageOfBaseImage(map, "example.invalid/nope:1.0")).toBeNull();
  });
});

describe("attributeVertices", () => {
  it("gives an unprefixed source to the stage that consumes it (COPY --from=<image>)", () => {
    const steps = attributeVertices([
      { digest: "d:from", name: "[final 1/2] FROM docker.io/library/busybox:local", inputs: [] },
      { digest: "d:img", name: "FROM docker.io/library/alpine:3", inputs: [] },
      {
        digest: "d:copy",
        name: "[final 2/2] COPY --from=alpine:3 /etc/os-release /",
        inputs: ["d:from", "d:img"],
      },
      { digest: "d:export", name: "exporting to image", inputs: [] },
    ]);
    expect(steps.get("d:img")).toMatchObject({ stage: "final", kind: "other", line: null });
    expect(steps.get("d:export")).toMatchObject({ stage: null, kind: "export" });
  });

  it("follows chains of unprefixed vertices, and picks the first stage in Dockerfile order", () => {
    const vertices: AnnouncedVertex[] = [
      { digest: "d:ctx", name: "copy /context /", inputs: [] },
      { digest: "d:mid", name: "some other source", inputs: ["d:ctx"] },
      { digest: "d:z", name: "[zeta 2/2] COPY x /x", inputs: ["d:mid"] },
      { digest: "d:a", name: "[alpha 2/2] COPY y /y", inputs: ["d:ctx"] },
    ];
    expect(attributeVertices(vertices).get("d:ctx")?.stage).toBe("alpha");
    const map: DockerfileMap = [
      {
        id: "zeta",
        instructions: [
          { line: 1, text: "FROM busybox" },
          { line: 2, text: "COPY x /x" },
        ],
      },
      {
        id: "alpha",
        instructions: [
          { line: 3, text: "FROM busybox" },
          { line: 4, text: "COPY y /y" },
        ],
      },
    ];
    expect(attributeVertices(vertices, map).get("d:ctx")?.stage).toBe("zeta");
    expect(attributeVertices(vertices).get("d:mid")?.stage).toBe("zeta");
  });

  it("does not trust a label the Dockerfile does not have: another build on the daemon named the step", () => {
    const map: DockerfileMap = [
      {
        id: "base",
        instructions: [
          { line: 1, text: "FROM busybox" },
          { line: 2, text: "RUN make" },
        ],
      },
      {
        id: "app",
        instructions: [
          { line: 3, text: "FROM busybox" },
          { line: 4, text: "COPY --from=base /x /x" },
        ],
      },
    ];
    const vertices: AnnouncedVertex[] = [
      // The shared FROM as a single-stage build of someone else's named it, then as another file's stage.
      { digest: "d:from", name: "[1/3] FROM docker.io/library/busybox:latest", inputs: [] },
      { digest: "d:from2", name: "[other 1/2] FROM docker.io/library/alpine", inputs: [] },
      { digest: "d:run", name: "[base 2/2] RUN make", inputs: ["d:from"] },
      { digest: "d:odd", name: "[base 2/2] COPY . .", inputs: ["d:from2"] },
      { digest: "d:copy", name: "[app 2/2] COPY --from=base /x /x", inputs: ["d:from2", "d:run"] },
    ];
    const steps = attributeVertices(vertices, map);
    expect(steps.get("d:from")).toMatchObject({ kind: "other", stage: "base", index: null });
    expect(steps.get("d:from2")).toMatchObject({ kind: "other", stage: "app" });
    // A known stage, but another instruction at that position: not ours either.
    expect(steps.get("d:odd")).toMatchObject({ kind: "other" });
    expect(steps.get("d:run")).toMatchObject({ kind: "instruction", stage: "base", line: 2 });
  });

  it("gives an unlabelled [i/n] to the map's only stage", () => {
    const steps = attributeVertices(
      [{ digest: "d", name: "[2/2] RUN make", inputs: [] }],
      [
        {
          id: "app",
          instructions: [
            { line: 1, text: "FROM x" },
            { line: 3, text: "RUN make" },
          ],
        },
      ],
    );
    expect(steps.get("d")).toMatchObject({ stage: "app", line: 3, index: 2, total: 2 });
  });
});

describe.each(folders)("attribution of every capture in %s", (folder) => {
  it.each(captures(folder))("%s: every vertex, independently of announcement order", (name) => {
    const vertices = announcedVertices(folder, name);
    const steps = attributeVertices(vertices);
    expect(attributeVertices(vertices.toReversed())).toEqual(steps);
    for (const step of steps.values()) {
      if (step.kind === "internal" || step.kind === "export") expect(step.stage).toBeNull();
      if (step.kind === "instruction") expect(step.stage).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
    }
  });
});

describe("attribution facts", () => {
  it.each(folders)("multistage-parallel (%s): which vertex belongs to which stage", (folder) => {
    expect(byStage(attributeVertices(announcedVertices(folder, "multistage-parallel")))).toEqual({
      base: [
        "[base 1/3] FROM docker.io/library/busybox:local",
        '[base 2/3] RUN echo "base: starting" && sleep 2 && echo base > /base.txt && echo "base: done"',
        "[base 3/3] COPY hello.txt /hello.txt",
        "copy /context /",
      ],
      a: ['[a 1/1] RUN echo "a: building" && sleep 3 && echo a > /a.txt'],
      b: ['[b 1/1] RUN echo "b: building" >&2 && sleep 3 && echo b > /b.txt'],
      final: [
        "[final 1/3] COPY --from=a /a.txt /a.txt",
        "[final 2/3] COPY --from=b /b.txt /b.txt",
        "[final 3/3] RUN cat /base.txt /a.txt /b.txt /hello.txt",
      ],
      null: [
        "[internal] load metadata for docker.io/library/busybox:local",
        "[internal] load remote build context",
        "exporting to image",
      ],
    });
  });

  it("26.1 secret-mount-session: a single stage with RUN --mount is stage-0", () => {
    const steps = byStage(
      attributeVertices(announcedVertices("docker-26.1", "secret-mount-session")),
    );
    expect(steps["stage-0"]).toHaveLength(4);
    expect(steps["stage-0"]?.[0]).toBe("[stage-0 1/4] FROM docker.io/library/busybox:local");
  });

  it("26.1 concurrent-shared-base-b: the other request's context vertices are target overhead", () => {
    const steps = attributeVertices(announcedVertices("docker-26.1", "concurrent-shared-base-b"));
    const context = [...steps.values()].filter(
      (s) => s.name === "[internal] load remote build context",
    );
    expect(context).toHaveLength(2);
    expect(context.every((s) => s.stage === null)).toBe(true);
    // `copy /context /` is consumed by nothing in a Dockerfile without COPY: no stage.
    expect([...steps.values()].find((s) => s.name === "copy /context /")?.stage).toBeNull();
  });

  it("26.1 heredoc: the inline document is internal, the COPY <<EOF step is stage-0's 4th", () => {
    const steps = [...attributeVertices(announcedVertices("docker-26.1", "heredoc")).values()];
    expect(steps.find((s) => s.name === "[internal] preparing inline document")?.kind).toBe(
      "internal",
    );
    expect(steps.find((s) => s.instruction.startsWith("COPY <<EOF"))).toMatchObject({
      stage: "stage-0",
      index: 4,
      total: 5,
    });
  });
});

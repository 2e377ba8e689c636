import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import {
  lookupInstructionLine,
  matchDockerfile,
  parseVertexName,
} from "../progress/attribute-stage.js";
import { createDockerfileMap } from "./create-dockerfile-map.js";

describe("createDockerfileMap", () => {
  it("lists the vertex-making instructions of each stage with their lines", () => {
    const { graph } = analyzeDockerfile(
      [
        "FROM busybox AS base", // 1
        "ENV A=1", // 2
        "WORKDIR /src", // 3
        "RUN make", // 4
        "", // 5
        "FROM base AS app", // 6
        "LABEL x=y", // 7
        "COPY --from=base /src /app", // 8
        "FROM scratch", // 9
        "ADD a /a", // 10
      ].join("\n"),
    );
    expect(createDockerfileMap(graph)).toEqual([
      {
        id: "base",
        instructions: [
          { line: 1, text: "FROM busybox" },
          { line: 3, text: "WORKDIR /src" },
          { line: 4, text: "RUN make" },
        ],
      },
      { id: "app", instructions: [{ line: 8, text: "COPY --from=base /src /app" }] },
      { id: "stage-2", instructions: [{ line: 10, text: "ADD a /a" }] },
    ]);
  });
});

describe("createDockerfileMap with named contexts", () => {
  it("numbers a stage whose base a named context replaces without its FROM, as BuildKit does", () => {
    const { graph } = analyzeDockerfile(
      [
        "FROM stagecraft/busybox:latest AS build",
        "RUN echo hi > /out",
        "FROM stagecraft/busybox:latest AS app",
        "COPY --from=build /out /out",
      ].join("\n"),
    );
    const map = createDockerfileMap(graph, ["stagecraft/busybox"]);
    expect(map.map((stage) => stage.indexShift)).toEqual([1, 1]);
    // Vertex names recorded on Docker 26.1.5 (containerd store) with the base as a named context.
    expect(matchDockerfile(parseVertexName("[build 1/2] RUN echo hi > /out"), map)).toMatchObject({
      kind: "instruction",
      stage: "build",
      index: 1,
      total: 2,
    });
    expect(lookupInstructionLine(map, "app", 1, "COPY --from=build /out /out")).toBe(4);
    // Without the named context, the same names are not this Dockerfile's.
    expect(
      matchDockerfile(
        parseVertexName("[build 1/2] RUN echo hi > /out"),
        createDockerfileMap(graph),
      ),
    ).toMatchObject({ kind: "other", stage: null });
  });
});

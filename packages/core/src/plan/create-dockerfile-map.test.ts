import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
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

import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import { findStageTypos } from "./find-stage-typos.js";

const typos = (text: string) => findStageTypos(analyzeDockerfile(text).graph);

describe("findStageTypos", () => {
  it("flags a --from and a FROM one typo away from a stage name", () => {
    const found = typos(
      [
        "FROM alpine AS builder",
        "FROM alpine AS tester",
        "FROM buidler AS extra", // 3
        "FROM alpine",
        "COPY --from=buidler /out /out", // 5
        "RUN --mount=from=testr,target=/t true", // 6
      ].join("\n"),
    );
    expect(
      found.map(({ reference, suggestion, kind, position }) => [
        reference,
        suggestion,
        kind,
        position.line,
      ]),
    ).toEqual([
      ["buidler", "builder", "base", 3],
      ["buidler", "builder", "copy", 5],
      ["testr", "tester", "mount", 6],
    ]);
    expect(found[1]?.message).toBe(
      'COPY --from=buidler names no stage, so BuildKit will pull it as an image; did you mean "builder"?',
    );
  });

  it("leaves real image references and far-off names alone", () => {
    expect(
      typos(
        "FROM alpine AS build\nFROM golang:1.22\nCOPY --from=busybox /bin/sh /sh\nCOPY --from=docker.io/build /x /x\n",
      ),
    ).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";

import { createIgnoreMatcher } from "./create-ignore-matcher.js";
import { keepBuildFiles } from "./keep-build-files.js";

const keep = (patterns: string[], dockerfile: string | undefined) =>
  keepBuildFiles(createIgnoreMatcher(patterns, ".dockerignore"), dockerfile);

describe("keepBuildFiles", () => {
  it("adds exceptions for .dockerignore and the Dockerfile when they are excluded", () => {
    expect(keep(["*"], "Dockerfile")).toEqual(["*", "!.dockerignore", "!Dockerfile"]);
  });

  it("adds an exception only for what the patterns exclude", () => {
    expect(keep(["sub"], "sub/app.Dockerfile")).toEqual(["sub", "!sub/app.Dockerfile"]);
    expect(keep(["*.md", ".dockerignore"], "Dockerfile")).toEqual([
      "*.md",
      ".dockerignore",
      "!.dockerignore",
    ]);
    expect(keep(["*.md"], "Dockerfile")).toEqual(["*.md"]);
  });

  it("adds none for a Dockerfile outside the context", () => {
    expect(keep(["*"], undefined)).toEqual(["*", "!.dockerignore"]);
  });
});

describe("createIgnoreMatcher", () => {
  it("walks an excluded directory only for an exception that starts with it", () => {
    expect(createIgnoreMatcher(["sub", "!sub/keep"], "x").mustWalkExcluded("sub")).toBe(true);
    expect(createIgnoreMatcher(["sub", "!sub"], "x").mustWalkExcluded("sub")).toBe(true);
    expect(createIgnoreMatcher(["sub", "!**/keep"], "x").mustWalkExcluded("sub")).toBe(false);
    expect(createIgnoreMatcher(["sub", "!subway/keep"], "x").mustWalkExcluded("sub")).toBe(false);
  });

  it("rejects what docker rejects", () => {
    expect(() => createIgnoreMatcher(["!"], "/c/.dockerignore")).toThrow(
      'illegal exclusion pattern: "!" in /c/.dockerignore',
    );
    expect(() => createIgnoreMatcher(["a\\"], "/c/.dockerignore")).toThrow(
      'invalid pattern "a\\" in /c/.dockerignore: syntax error in pattern',
    );
    expect(() => createIgnoreMatcher(["a\\\\", "[ab]", "\\[x"], "/c/.dockerignore")).not.toThrow();
  });
});

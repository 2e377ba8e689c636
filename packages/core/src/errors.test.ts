import { describe, expect, it } from "vitest";
import { DockerfileError, UnknownStageError, isStagecraftError } from "./errors.js";

describe("errors", () => {
  it("locates a Dockerfile error as FILE:LINE:COL", () => {
    const error = new DockerfileError(
      "DOCKERFILE_SYNTAX",
      "unknown instruction: RUNN",
      { line: 3, column: 1 },
      { file: "app/Dockerfile" },
    );
    expect(error.location).toBe("app/Dockerfile:3:1");
    expect(error.name).toBe("DockerfileError");
    expect(isStagecraftError(error)).toBe(true);
    expect(isStagecraftError(new Error("x"))).toBe(false);
  });

  it("lists the stages and a suggestion for an unknown target", () => {
    const error = new UnknownStageError("biuld", ["base", "build", "app"], "build");
    expect(error.message).toBe('target stage "biuld" could not be found');
    expect(error.hint).toBe('Did you mean "build"? Stages in this Dockerfile: base, build, app.');
  });
});

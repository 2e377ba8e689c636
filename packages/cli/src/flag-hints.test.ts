import {
  BuildCancelledError,
  MissingSecretError,
  MissingSshAgentError,
  UnknownStageError,
} from "@stagecraft/core";
import type { TargetFailure } from "@stagecraft/core/report";
import { describe, expect, it } from "vitest";
import { hintForError, hintForFailure } from "./flag-hints.js";

describe("hintForError", () => {
  it("names the flags where the library names options", () => {
    expect(hintForError(new MissingSecretError("app", "npmrc", "secret npmrc: not found"))).toBe(
      "Pass it with --secret id=npmrc,src=FILE or --secret id=npmrc,env=VARIABLE.",
    );
    expect(hintForError(new MissingSshAgentError("app", "default", "no SSH key"))).toContain(
      "--ssh default",
    );
    expect(hintForError(new MissingSshAgentError("app", "deploy", "no SSH key"))).toBe(
      "Pass --ssh deploy=/path/to/agent.sock.",
    );
    expect(
      hintForError(new BuildCancelledError("test", { kind: "fail-fast", failedTarget: "app" })),
    ).toBe("Use --keep-going to let independent targets finish.");
    expect(hintForError(new UnknownStageError("tset", ["test", "app"], "test"))).toBe(
      'Did you mean "test"? --target takes a stage of this Dockerfile: test, app.',
    );
    expect(hintForError(new UnknownStageError("x", [], undefined))).toContain("--target");
  });

  it("keeps the library's hint where there is no flag to name", () => {
    expect(hintForError(new BuildCancelledError("test", { kind: "interrupted" }))).toBeUndefined();
  });
});

describe("hintForFailure", () => {
  const failure = (code: TargetFailure["code"], missingId: string | null): TargetFailure => ({
    target: "app",
    stopped: [],
    code,
    stage: null,
    step: null,
    line: null,
    message: "m",
    hint: "library hint",
    logTail: [],
    missingId,
  });

  it("words a missing secret or agent in flags, and leaves other failures' hints alone", () => {
    expect(hintForFailure(failure("MISSING_SECRET", "npmrc"))).toContain("--secret id=npmrc");
    expect(hintForFailure(failure("MISSING_SSH_AGENT", "deploy"))).toContain("--ssh deploy=");
    expect(hintForFailure(failure("BUILD_FAILED", null))).toBe("library hint");
  });
});

import { describe, expect, it } from "vitest";
import {
  ContextError,
  EngineError,
  MissingSecretError,
  MissingSshAgentError,
  OutputWriteError,
} from "../../errors.js";
import type { EngineSession } from "../engine.js";
import { describeSessionFailure } from "./describe-session-failure.js";

describe("describeSessionFailure", () => {
  it("blames the output this side could not write, whatever the daemon made of it", () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), {
      code: "ENOSPC",
      syscall: "write",
    });
    const session = { outputFailure: full } as Partial<EngineSession> as EngineSession;
    const daemon = "rpc error: code = Internal desc = writing the output: ENOSPC";
    const error = describeSessionFailure("app", daemon, session);
    expect(error).toBeInstanceOf(OutputWriteError);
    expect(error).toMatchObject({ code: "OUTPUT_WRITE", osCode: "ENOSPC" });
    expect(error?.cause).toBe(full);
    // A session whose output broke off for another reason (the engine went away) is not blamed so.
    const broken = { outputFailure: new Error("premature close") } as Partial<EngineSession>;
    expect(describeSessionFailure("app", daemon, broken as EngineSession)).toBeUndefined();
  });

  it("names the context file this side could not send, in the tar path's words", () => {
    const denied = Object.assign(new Error("EACCES: permission denied, scandir '/src/private'"), {
      code: "EACCES",
      syscall: "scandir",
      path: "/src/private",
    });
    const session = { contextFailure: denied } as Partial<EngineSession> as EngineSession;
    const daemon = `rpc error: code = Internal desc = Error: ${denied.message}`;
    const error = describeSessionFailure("app", daemon, session);
    expect(error).toBeInstanceOf(ContextError);
    expect(error).toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: "/src/private",
      message: "cannot read directory /src/private in the build context: permission denied",
      hint: "Make it readable by the user running stagecraft, or exclude it in .dockerignore.",
    });
    expect(error?.cause).toBe(denied);
    // Another failure of a target on that session is not blamed on it.
    expect(describeSessionFailure("app", "exit code: 2", session)).toBeUndefined();
  });

  it("names a missing secret in Docker 26.1's and 20.10's words", () => {
    for (const message of ["secret npmrc: not found", "secret npmrc not found: not found"]) {
      const error = describeSessionFailure("app", message, undefined);
      expect(error).toBeInstanceOf(MissingSecretError);
      expect(error?.message).toBe(
        'target "app" needs the secret "npmrc", which was not passed to the build',
      );
      expect((error as MissingSecretError).daemonMessage).toBe(message);
      expect(error?.code).toBe("MISSING_SECRET");
    }
  });

  it("names a missing SSH agent", () => {
    const error = describeSessionFailure(
      "app",
      'no SSH key "deploy" forwarded from the client',
      undefined,
    );
    expect(error).toBeInstanceOf(MissingSshAgentError);
    expect(error?.code).toBe("MISSING_SSH_AGENT");
    expect((error as MissingSshAgentError).sshId).toBe("deploy");
    // The library speaks of the run's options; the CLI names its flag (flag-hints.ts).
    expect(error?.hint).toBe('Forward an SSH agent\'s socket with the id "deploy" to the run.');
  });

  it("turns 'no active session' into a session error", () => {
    const error = describeSessionFailure(
      "app",
      "no active session for 0b5f1c9e-1111-2222-3333-444455556666: context deadline exceeded",
      undefined,
    );
    expect(error).toBeInstanceOf(EngineError);
    expect(error?.message).toMatch(/^the BuildKit session ended before target "app" used it/);
  });

  it("leaves other failures alone", () => {
    expect(
      describeSessionFailure(
        "app",
        'process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
        undefined,
      ),
    ).toBeUndefined();
  });
});

import {
  ContextError,
  EngineError,
  MissingSecretError,
  MissingSshAgentError,
  OutputWriteError,
  StagecraftError,
  isOsError,
} from "../../errors.js";
import type { EngineSession } from "../engine.js";

// BuildKit's words (v0.13 `session/secrets/secrets.go`, `solver/llbsolver/mounts/mount.go`; v0.8 wrote
// "secret ID not found: not found"), and moby's "no active session for ID: context deadline exceeded".
const SECRET_NOT_FOUND = /\bsecret ([^\s:]+)(?::| not found:) not found\b/;
const SSH_NOT_FOUND = /\bno SSH key "?([^\s"]+)"? forwarded from the client\b/;
const NO_SESSION = /\bno active session for ([0-9a-f-]*)/;

/**
 * Turns a daemon error caused by the session into a stagecraft error that says so: an output this
 * side could not write (the daemon fails the export with whatever it was told), a missing secret or
 * SSH agent, a build context file this side could not read, or a session that is gone. Undefined
 * for every other failure.
 */
export function describeSessionFailure(
  target: string,
  daemonMessage: string,
  session: EngineSession | undefined,
): StagecraftError | undefined {
  const written = session?.outputFailure;
  if (isOsError(written)) return new OutputWriteError(written);
  // The daemon passes on what this side's FileSync failed with, as text: "rpc error: code = Internal
  // desc = Error: EACCES: permission denied, scandir '/src/private'".
  const unread = session?.contextFailure;
  if (isOsError(unread) && daemonMessage.includes(unread.message)) return contextUnreadable(unread);
  const secret = SECRET_NOT_FOUND.exec(daemonMessage);
  if (secret?.[1] !== undefined) return new MissingSecretError(target, secret[1], daemonMessage);
  const ssh = SSH_NOT_FOUND.exec(daemonMessage);
  if (ssh?.[1] !== undefined) return new MissingSshAgentError(target, ssh[1], daemonMessage);
  const noSession = NO_SESSION.exec(daemonMessage);
  if (noSession !== null) {
    if (session?.failure instanceof StagecraftError) return session.failure;
    return new EngineError(
      "ENGINE_STREAM_ENDED",
      `the BuildKit session ended before target "${target}" used it: ${daemonMessage}`,
      {
        hint:
          session === undefined
            ? "This build needs a session (secrets, SSH or outputs): pass them through the run's session options."
            : "The engine dropped the session; check that it is running (docker info) and retry.",
      },
    );
  }
  return undefined;
}

/** The words the tar path uses for the same file (`walk-context-dir.ts`), with what to do. */
function contextUnreadable(error: NodeJS.ErrnoException & { code: string }): ContextError {
  const kind = error.syscall === "scandir" || error.syscall === "opendir" ? "directory" : "file";
  const path = error.path ?? "";
  const reason =
    error.code === "EACCES" || error.code === "EPERM"
      ? "permission denied"
      : error.code === "ENOENT"
        ? "it disappeared while the context was read"
        : error.code;
  return new ContextError(
    "CONTEXT_UNREADABLE",
    `cannot read ${kind} ${path} in the build context: ${reason}`,
    path,
    {
      hint: "Make it readable by the user running stagecraft, or exclude it in .dockerignore.",
      cause: error,
    },
  );
}

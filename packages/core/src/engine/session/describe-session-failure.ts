import {
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
 * SSH agent, or a session that is gone. Undefined for every other failure.
 */
export function describeSessionFailure(
  target: string,
  daemonMessage: string,
  session: EngineSession | undefined,
): StagecraftError | undefined {
  const written = session?.outputFailure;
  if (isOsError(written)) return new OutputWriteError(written);
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

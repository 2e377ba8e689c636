import type { AnyStagecraftError } from "@stagecraft/core";
import type { TargetFailure } from "@stagecraft/core/report";

/**
 * The library's hints speak of options (`keepGoing`, a secret's id); on the command line the same
 * advice names the flags. Errors without a flag to name keep the library's hint.
 */
export function hintForError(error: AnyStagecraftError): string | undefined {
  switch (error.code) {
    case "MISSING_SECRET":
      return secretHint(error.secretId);
    case "MISSING_SSH_AGENT":
      return sshHint(error.sshId);
    case "BUILD_CANCELLED":
      return error.reason.kind === "fail-fast" ? KEEP_GOING : error.hint;
    case "UNKNOWN_STAGE":
      return (
        (error.suggestion === undefined ? "" : `Did you mean "${error.suggestion}"? `) +
        (error.available.length === 0
          ? "The Dockerfile names no stages; build the last stage (leave out --target) or name one with `FROM … AS name`."
          : `--target takes a stage of this Dockerfile: ${error.available.join(", ")}.`)
      );
    case "INVALID_PLATFORM":
      return "Write --platform as os/arch[/variant], e.g. --platform linux/amd64 or linux/arm64.";
    default:
      return error.hint;
  }
}

/** The same, for a target's failure as the report carries it. */
export function hintForFailure(failure: TargetFailure): string | null {
  switch (failure.code) {
    case "MISSING_SECRET":
      return failure.missingId === null ? failure.hint : secretHint(failure.missingId);
    case "MISSING_SSH_AGENT":
      return failure.missingId === null ? failure.hint : sshHint(failure.missingId);
    default:
      return failure.hint;
  }
}

const KEEP_GOING = "Use --keep-going to let independent targets finish.";

function secretHint(id: string): string {
  return `Pass it with --secret id=${id},src=FILE or --secret id=${id},env=VARIABLE.`;
}

function sshHint(id: string): string {
  return id === "default"
    ? "Pass --ssh default (forwards $SSH_AUTH_SOCK) or --ssh default=/path/to/agent.sock."
    : `Pass --ssh ${id}=/path/to/agent.sock.`;
}

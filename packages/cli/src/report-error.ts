import {
  DockerfileError,
  UnknownStageError,
  UsageError,
  isStagecraftError,
  type StagecraftError,
} from "@stagecraft/core/errors";
import { OutputWriteError } from "./commands/output-write-error.js";
import { hintForError } from "./flag-hints.js";
import type { ExitCode, Io } from "./io.js";
import { sanitizeLine } from "./renderers/sanitize-line.js";

/**
 * Prints an error the way a person can act on it: `FILE:LINE:COL: message` for Dockerfile errors,
 * then a `hint:` line. Returns the exit code it deserves (2 for usage and Dockerfile errors, else 1).
 */
export function reportError(io: Io, error: unknown): ExitCode {
  // Messages quote the user's files (a Dockerfile line, a path): no control byte of theirs may reach
  // the terminal (an OSC title, a clear-screen).
  if (error instanceof DockerfileError) {
    io.stderr.write(`${sanitizeLine(error.location)}: ${sanitizeLine(error.message)}\n`);
    writeHint(io, error.hint ?? dockerfileHint(error));
    return 2;
  }
  if (error instanceof OutputWriteError) {
    io.stderr.write(`stagecraft: ${sanitizeLine(error.message)}\n`);
    writeHint(io, error.hint);
    return 1;
  }
  if (isStagecraftError(error)) {
    io.stderr.write(`stagecraft: ${sanitizeLine(error.message)}\n`);
    writeHint(io, hintForError(error));
    return isUsage(error) ? 2 : 1;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`stagecraft: unexpected error: ${message}\n`);
  io.stderr.write(
    "hint: this is a bug in stagecraft; please report it with the command you ran.\n",
  );
  return 1;
}

/** Usage-like errors: the request was wrong before anything was built. */
export function isUsage(error: StagecraftError): boolean {
  return (
    error instanceof UsageError ||
    error instanceof UnknownStageError ||
    error instanceof DockerfileError ||
    error.code.startsWith("BAKE_") ||
    error.code === "CONTEXT_NOT_FOUND" ||
    error.code === "CONTEXT_UNREADABLE"
  );
}

/** The JSON form of an error, for `--format json` and `--progress json`. */
export function errorToJson(error: unknown): Record<string, unknown> {
  if (error instanceof DockerfileError) {
    return {
      code: error.code,
      message: error.message,
      file: error.file ?? null,
      line: error.line,
      column: error.column,
      hint: error.hint ?? dockerfileHint(error) ?? null,
    };
  }
  if (error instanceof UnknownStageError) {
    return {
      code: error.code,
      message: error.message,
      requested: error.requested,
      available: error.available,
      suggestion: error.suggestion ?? null,
      hint: error.hint ?? null,
    };
  }
  if (error instanceof OutputWriteError) {
    return { code: error.code, message: error.message, hint: error.hint };
  }
  if (isStagecraftError(error)) {
    return { code: error.code, message: error.message, hint: hintForError(error) ?? null };
  }
  return {
    code: "INTERNAL",
    message: error instanceof Error ? error.message : String(error),
    hint: null,
  };
}

function writeHint(io: Io, hint: string | undefined): void {
  if (hint !== undefined && hint !== "") io.stderr.write(`hint: ${sanitizeLine(hint)}\n`);
}

function dockerfileHint(error: DockerfileError): string | undefined {
  switch (error.code) {
    case "DOCKERFILE_NO_STAGES":
      return "Add a FROM instruction: every Dockerfile needs at least one stage.";
    case "STAGE_CYCLE":
      return "Break the cycle: a stage cannot (indirectly) copy from itself.";
    case "DOCKERFILE_UNKNOWN_INSTRUCTION":
      return "Check the spelling of the instruction; Dockerfile instructions are listed at https://docs.docker.com/reference/dockerfile/.";
    default:
      return undefined;
  }
}

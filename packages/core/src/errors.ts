// @stagecraft/core/errors: the error classes, also exported by the root; an entry point of their
// own for code that handles errors without loading the engine's modules (`stagecraft check`).
/** The codes a DockerfileError can carry. */
export type DockerfileErrorCode =
  | "DOCKERFILE_SYNTAX"
  | "DOCKERFILE_UNKNOWN_INSTRUCTION"
  | "DOCKERFILE_FLAG"
  | "DOCKERFILE_EXPANSION"
  | "DOCKERFILE_NO_STAGES"
  | "INVALID_STAGE_NAME"
  | "INVALID_STAGE_INDEX"
  | "INVALID_IMAGE_REFERENCE"
  | "STAGE_ORDER"
  | "STAGE_CYCLE";

/** Word codes for every error stagecraft raises; stable across releases, safe to switch on. */
export type ErrorCode =
  | DockerfileErrorCode
  | "UNKNOWN_STAGE"
  | "INVALID_BUILD_ARG"
  | "INVALID_PLATFORM"
  | "INVALID_TAG"
  | "CONTEXT_NOT_FOUND"
  | "CONTEXT_UNREADABLE"
  | "ENGINE_UNREACHABLE"
  | "ENGINE_UNRESPONSIVE"
  | "ENGINE_UNSUPPORTED"
  | "ENGINE_REQUEST"
  | "ENGINE_STREAM_ENDED"
  | "BUILD_FAILED"
  | "BUILD_CANCELLED"
  | "MISSING_SECRET"
  | "MISSING_SSH_AGENT"
  | "PUSH_FAILED"
  | "OUTPUT_WRITE"
  | BakeErrorCode
  | "USAGE";

/** The codes a BakeError can carry. */
export type BakeErrorCode =
  | "BAKE_SYNTAX"
  | "BAKE_INVALID"
  | "BAKE_UNKNOWN_TARGET"
  | "BAKE_CYCLE"
  | "BAKE_UNDEFINED"
  | "BAKE_UNSUPPORTED"
  | "BAKE_NO_FILE";

/** Options every stagecraft error accepts. */
export interface StagecraftErrorOptions {
  /** One sentence telling the user what to do about it. */
  hint?: string | undefined;
  cause?: unknown;
}

/** The base of every error stagecraft throws or returns: a word code, a message, and a hint. */
export abstract class StagecraftError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(message: string, options: StagecraftErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Where in a Dockerfile something is: 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Options of a Dockerfile error: where it is, and in which file. */
export interface DockerfileErrorOptions extends StagecraftErrorOptions {
  /** The Dockerfile's path as the user named it; unknown to pure code, filled in by the caller. */
  file?: string | undefined;
}

/**
 * An error in a Dockerfile, with BuildKit's own wording where BuildKit has one, and the 1-based line
 * and column it points at.
 */
export class DockerfileError extends StagecraftError {
  readonly code: DockerfileErrorCode;
  readonly line: number;
  readonly column: number;
  file: string | undefined;

  constructor(
    code: DockerfileErrorCode,
    message: string,
    position: SourcePosition,
    options: DockerfileErrorOptions = {},
  ) {
    super(message, options);
    this.code = code;
    this.line = position.line;
    this.column = position.column;
    this.file = options.file;
  }

  /** `FILE:LINE:COL: message`, the form editors and CI annotations understand. */
  get location(): string {
    return `${this.file ?? "Dockerfile"}:${this.line}:${this.column}`;
  }
}

/** A request that names something that does not exist, e.g. a target stage; lists what does exist. */
export class UnknownStageError extends StagecraftError {
  readonly code = "UNKNOWN_STAGE";
  readonly requested: string;
  readonly available: readonly string[];
  readonly suggestion: string | undefined;

  constructor(requested: string, available: readonly string[], suggestion: string | undefined) {
    super(`target stage "${requested}" could not be found`, {
      hint:
        (suggestion === undefined ? "" : `Did you mean "${suggestion}"? `) +
        (available.length === 0
          ? "The Dockerfile names no stages; build the last stage (no target) or name one with `FROM … AS name`."
          : `Stages in this Dockerfile: ${available.join(", ")}.`),
    });
    this.requested = requested;
    this.available = available;
    this.suggestion = suggestion;
  }
}

/** Bad input from the user that is not in a Dockerfile: a malformed flag, build arg or platform. */
export class UsageError extends StagecraftError {
  readonly code: "USAGE" | "INVALID_BUILD_ARG" | "INVALID_PLATFORM" | "INVALID_TAG";
  constructor(
    message: string,
    options: StagecraftErrorOptions & {
      code?: "USAGE" | "INVALID_BUILD_ARG" | "INVALID_PLATFORM" | "INVALID_TAG";
    } = {},
  ) {
    super(message, options);
    this.code = options.code ?? "USAGE";
  }
}

/** The build context cannot be read: missing directory, unreadable file, path escaping the context. */
export class ContextError extends StagecraftError {
  readonly code: "CONTEXT_NOT_FOUND" | "CONTEXT_UNREADABLE";
  readonly path: string;
  constructor(
    code: "CONTEXT_NOT_FOUND" | "CONTEXT_UNREADABLE",
    message: string,
    path: string,
    options: StagecraftErrorOptions = {},
  ) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}

/** The codes an EngineError can carry. */
export type EngineErrorCode =
  | "ENGINE_UNREACHABLE"
  | "ENGINE_UNRESPONSIVE"
  | "ENGINE_UNSUPPORTED"
  | "ENGINE_REQUEST"
  | "ENGINE_STREAM_ENDED";

/** The Docker Engine could not be reached, did not answer, refused a request, or ended a stream early. */
export class EngineError extends StagecraftError {
  readonly code: EngineErrorCode;
  /** HTTP status of the failed request, when there was one. */
  readonly statusCode: number | undefined;
  constructor(
    code: EngineErrorCode,
    message: string,
    options: StagecraftErrorOptions & { statusCode?: number | undefined } = {},
  ) {
    super(message, options);
    this.code = code;
    this.statusCode = options.statusCode;
  }
}

/** Where a failed build broke: the daemon's words, and as much of stage, line and logs as is known. */
export interface BuildFailureDetails {
  /** The requested target whose build failed. */
  target: string;
  /** The daemon's own message (the `errorDetail` text). */
  daemonMessage: string;
  /** The stage id of the failing step, when it could be attributed. */
  stage?: string | undefined;
  /** The failing step's name as BuildKit shows it, e.g. `[build 2/4] RUN make`. */
  step?: string | undefined;
  /** The 1-based Dockerfile line of the failing instruction, when known. */
  line?: number | undefined;
  /** The last lines the failing step printed (at most 20). */
  logTail?: readonly string[] | undefined;
  /** The target the failing step was built for (a shared step's may be another target). */
  stepOwner?: string | undefined;
}

/** A target's build failed on the daemon: a step exited non-zero, an image was missing, … */
export class BuildFailedError extends StagecraftError {
  readonly code = "BUILD_FAILED";
  readonly target: string;
  readonly daemonMessage: string;
  readonly stage: string | undefined;
  readonly step: string | undefined;
  readonly line: number | undefined;
  readonly logTail: readonly string[];
  readonly stepOwner: string | undefined;

  constructor(details: BuildFailureDetails, options: StagecraftErrorOptions = {}) {
    const where = details.stage === undefined ? "" : ` in stage "${details.stage}"`;
    super(`target "${details.target}" failed${where}: ${details.daemonMessage}`, options);
    this.target = details.target;
    this.daemonMessage = details.daemonMessage;
    this.stage = details.stage;
    this.step = details.step;
    this.line = details.line;
    this.logTail = details.logTail ?? [];
    this.stepOwner = details.stepOwner;
  }
}

/**
 * Why a target's build was cancelled: the caller's signal, another target's failure (fail-fast),
 * the engine lost mid-run, or the run's time limit.
 */
export type CancelReason =
  | { kind: "interrupted" }
  | { kind: "fail-fast"; failedTarget: string }
  | { kind: "engine"; message: string }
  | { kind: "timeout"; afterMs: number };

/** A target's build was cancelled before it could finish; `reason` says why. */
export class BuildCancelledError extends StagecraftError {
  readonly code = "BUILD_CANCELLED";
  readonly target: string;
  readonly reason: CancelReason;
  constructor(target: string, reason: CancelReason) {
    super(`target "${target}" was cancelled ${describeCancel(reason)}`, {
      hint:
        reason.kind === "fail-fast"
          ? "Build with keepGoing to let independent targets finish."
          : undefined,
    });
    this.target = target;
    this.reason = reason;
  }
}

/** "because `test` failed", "because the engine was lost (…)", …: the end of a cancel's sentence. */
export function describeCancel(reason: CancelReason): string {
  switch (reason.kind) {
    case "interrupted":
      return "by an interrupt";
    case "fail-fast":
      return `because ${reason.failedTarget} failed`;
    case "engine":
      return `because the engine was lost (${reason.message})`;
    case "timeout":
      return `because the run reached its time limit (${Math.round(reason.afterMs / 1000)} s)`;
    default:
      return reason satisfies never;
  }
}

/** A build needed a secret (`RUN --mount=type=secret,id=ID,required=true`) the run did not pass. */
export class MissingSecretError extends StagecraftError {
  readonly code = "MISSING_SECRET";
  readonly target: string;
  /** The secret's id, as the Dockerfile names it. */
  readonly secretId: string;
  readonly daemonMessage: string;
  constructor(target: string, secretId: string, daemonMessage: string) {
    super(`target "${target}" needs the secret "${secretId}", which was not passed to the build`, {
      hint: `Give the run a secret with the id "${secretId}" (from a file or an environment variable).`,
    });
    this.target = target;
    this.secretId = secretId;
    this.daemonMessage = daemonMessage;
  }
}

/**
 * A target's output (a tar or a directory the session receives) could not be written on this side:
 * a full disk, a read-only mount, a file that cannot be replaced. The build itself ran; the error
 * is the target's alone (other targets of a run go on, whatever the fail-fast policy).
 */
export class OutputWriteError extends StagecraftError {
  readonly code = "OUTPUT_WRITE";
  /** The OS's code, e.g. `ENOSPC`. */
  readonly osCode: string;
  /** The file the OS refused, when it named one (a stream's failed write names none). */
  readonly path: string | undefined;
  // No target name: the engine knows only the stage it was asked for; the event names the target.
  constructor(cause: NodeJS.ErrnoException & { code: string }) {
    super(`the output could not be written: ${cause.message}`, {
      cause,
      hint: "Free space on, or make writable, the file system the output goes to, or export elsewhere.",
    });
    this.osCode = cause.code;
    this.path = cause.path;
  }
}

/** An OS error (from `node:fs`): it has a word code and the system call that failed. */
export function isOsError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  const errno = error as Partial<NodeJS.ErrnoException> | null | undefined;
  return typeof errno?.code === "string" && typeof errno.syscall === "string";
}

/** A build needed an SSH agent (`RUN --mount=type=ssh,id=ID`) the run did not forward. */
export class MissingSshAgentError extends StagecraftError {
  readonly code = "MISSING_SSH_AGENT";
  readonly target: string;
  /** The SSH id, as the Dockerfile names it (`default` when it names none). */
  readonly sshId: string;
  readonly daemonMessage: string;
  constructor(target: string, sshId: string, daemonMessage: string) {
    super(
      `target "${target}" needs the SSH agent "${sshId}", which was not forwarded to the build`,
      {
        hint: `Forward an SSH agent's socket with the id "${sshId}" to the run.`,
      },
    );
    this.target = target;
    this.sshId = sshId;
    this.daemonMessage = daemonMessage;
  }
}

/**
 * Pushing a built image to its registry failed: the registry refused the login (`denied`, with
 * the `docker login` command in the hint), could not be reached, or said something else. The
 * image stays in the engine's store.
 */
export class PushFailedError extends StagecraftError {
  readonly code = "PUSH_FAILED";
  /** The registry host, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** The image name and tag that was being pushed. */
  readonly tag: string;
  /** The engine's (or registry's) own words. */
  readonly registryMessage: string;
  /** True when the registry refused the credentials (HTTP 401/403). */
  readonly denied: boolean;
  constructor(
    details: { registry: string; tag: string; registryMessage: string; denied: boolean },
    options: StagecraftErrorOptions = {},
  ) {
    super(
      details.denied
        ? `pushing ${details.tag}: the registry ${details.registry} refused the credentials: ${details.registryMessage}`
        : `pushing ${details.tag} to ${details.registry} failed: ${details.registryMessage}`,
      {
        ...options,
        hint:
          options.hint ??
          (details.denied
            ? `Log in with \`docker login ${details.registry}\` (stagecraft reads the docker CLI's logins), then push again.`
            : `Check that the registry ${details.registry} is up and reachable from the engine, then push again.`),
      },
    );
    this.registry = details.registry;
    this.tag = details.tag;
    this.registryMessage = details.registryMessage;
    this.denied = details.denied;
  }
}

/**
 * Every error stagecraft throws or returns, as one union: `switch (error.code)` narrows it to its
 * class, e.g. `error.code === "BUILD_FAILED"` gives `error.logTail`.
 */
export type AnyStagecraftError =
  | DockerfileError
  | UnknownStageError
  | UsageError
  | ContextError
  | EngineError
  | BuildFailedError
  | BuildCancelledError
  | MissingSecretError
  | MissingSshAgentError
  | PushFailedError
  | OutputWriteError
  | BakeError;

/** Where in a bake or compose file something is, and which key. */
export interface BakeErrorOptions extends StagecraftErrorOptions {
  file?: string | undefined;
  line?: number | undefined;
  /** The block and key, e.g. `target "app".inherits`. */
  key?: string | undefined;
}

/**
 * An error in a bake file (HCL or JSON) or a compose file: syntax, an unknown target, a cycle, an
 * undefined variable, a function stagecraft does not support yet. Its message starts with
 * `FILE:LINE:` when the place is known.
 */
export class BakeError extends StagecraftError {
  readonly code: BakeErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(code: BakeErrorCode, message: string, options: BakeErrorOptions = {}) {
    const where =
      options.file === undefined
        ? ""
        : options.line === undefined
          ? `${options.file}: `
          : `${options.file}:${options.line}: `;
    const key = options.key === undefined ? "" : `${options.key}: `;
    super(`${where}${key}${message}`, options);
    this.code = code;
    this.file = options.file;
    this.line = options.line;
    this.key = options.key;
  }
}

/** Narrows an unknown thrown value to one of stagecraft's errors. */
export function isStagecraftError(value: unknown): value is AnyStagecraftError {
  return value instanceof StagecraftError;
}

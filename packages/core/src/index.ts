// The public API of @stagecraft/core: explicit named re-exports only.
export type {
  DockerfileErrorCode,
  DockerfileErrorOptions,
  ErrorCode,
  SourcePosition,
  StagecraftErrorOptions,
} from "./errors.js";
export {
  ContextError,
  DockerfileError,
  EngineError,
  StagecraftError,
  UnknownStageError,
  UsageError,
  isStagecraftError,
} from "./errors.js";
export type { BuildFailureDetails } from "./errors.js";
export { BuildCancelledError, BuildFailedError } from "./errors.js";

export type {
  BuildRequest,
  BuildResponse,
  Engine,
  EngineInfo,
  ImageDetails,
  NetworkMode,
} from "./engine/engine.js";
export { DockerEngine } from "./engine/docker-engine.js";
export type { DockerEngineOptions } from "./engine/docker-engine.js";
export { resolveEngineEndpoint } from "./engine/resolve-endpoint.js";
export type { EndpointOptions, EngineEndpoint } from "./engine/resolve-endpoint.js";

export { MANAGED_LABEL, TARGET_LABEL, runTargets } from "./scheduler/run-targets.js";
export type {
  ContextSource,
  RunResult,
  RunTargetsOptions,
  SchedulerNotice,
  TargetResult,
  TargetSpec,
} from "./scheduler/run-targets.js";

export { packBuildContext } from "./context/pack-build-context.js";
export type { BuildContext, PackBuildContextOptions } from "./context/pack-build-context.js";
export type { ContextDirent, ContextFs, ContextWarning } from "./context/walk-context-dir.js";

export type { Logger } from "./logger.js";
export { silentLogger } from "./logger.js";
export type { Redactor } from "./redact.js";
export { REDACTED, createRedactor, redactDeep } from "./redact.js";

export { runBuild, toTargetError } from "./scheduler/run-build.js";
export type { BuildOutcome, RunBuildOptions } from "./scheduler/run-build.js";

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

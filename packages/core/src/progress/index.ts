// @stagecraft/core/progress: from the daemon's stream to stage-attributed events, and the events' members.
export { createBuildStreamReader } from "./read-build-stream.js";
export type { BuildStreamReader, BuildStreamResult } from "./read-build-stream.js";
export { decodeStatusResponse, parseDaemonLine } from "./decode-status.js";
export type { DaemonLine, DecodedStatus, DecodedVertexLog } from "./decode-status.js";
export { createProgressTracker } from "./create-progress-tracker.js";
export type {
  FailureContext,
  ProgressSummary,
  ProgressTracker,
  ProgressTrackerOptions,
  StageStatus,
  StageSummary,
  StepStatus,
  StepSummary,
  TargetSummary,
} from "./create-progress-tracker.js";
export type { DockerfileMap, DockerfileMapStage } from "./attribute-stage.js";

export { BUILD_EVENT_SCHEMA_VERSION } from "../events.js";
export type {
  BuildEvent,
  BuildEventListener,
  BuildEventType,
  ContextWarning,
  DaemonStatus,
  DaemonStatusEvent,
  DaemonVertex,
  DaemonVertexLog,
  DaemonVertexStatus,
  DaemonVertexWarning,
  EngineQuietEvent,
  LogEvent,
  RunContext,
  RunEngine,
  RunFinishedEvent,
  RunStartedEvent,
  SourceRange,
  StageCachedEvent,
  StageFailedEvent,
  StageFinishedEvent,
  StageStartedEvent,
  StepCachedEvent,
  StepFailedEvent,
  StepFinishedEvent,
  StepInfo,
  StepKind,
  StepStartedEvent,
  TargetCancelledEvent,
  TargetError,
  TargetFailedEvent,
  TargetFinishedEvent,
  TargetQueuedEvent,
  TargetStartedEvent,
  TransferEvent,
  WarningEvent,
} from "../events.js";

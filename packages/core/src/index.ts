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
export type { EndpointTransport, EngineEndpoint } from "./engine/resolve-endpoint.js";

export { MANAGED_LABEL, TARGET_LABEL, runTargets } from "./scheduler/run-targets.js";
export type {
  ContextSource,
  RunResult,
  RunTargetsOptions,
  SchedulerNotice,
  TargetResult,
  TargetSpec,
} from "./scheduler/run-targets.js";

export { packBuildContext, packBuildContextUnder } from "./context/pack-build-context.js";
export type {
  BuildContext,
  PackBuildContextOptions,
  SizedBuildContext,
} from "./context/pack-build-context.js";
export type { ContextDirent, ContextFs, ContextWarning } from "./context/walk-context-dir.js";

export type { Logger } from "./logger.js";
export { silentLogger } from "./logger.js";
export type { Redactor } from "./redact.js";
export { REDACTED, createRedactor, redactDeep } from "./redact.js";

export { runBuild, toTargetError } from "./scheduler/run-build.js";
export type { BuildOutcome, RunBuildOptions } from "./scheduler/run-build.js";

export { BUILD_EVENT_SCHEMA_VERSION } from "./events.js";
export type {
  BuildEvent,
  BuildEventListener,
  BuildEventType,
  DaemonStatus,
  DaemonStatusEvent,
  DaemonVertex,
  DaemonVertexLog,
  DaemonVertexStatus,
  DaemonVertexWarning,
  LogEvent,
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
} from "./events.js";

export { parseDockerfile } from "./dockerfile/parse-dockerfile.js";
export { dumpDockerfile } from "./dockerfile/dump-dockerfile.js";
export type {
  DirectiveName,
  DockerfileAst,
  DockerfileInstruction,
  EscapeToken,
  Heredoc,
  ParserDirective,
  ParserWarning,
} from "./dockerfile/ast.js";
export { expandWord, expandWords } from "./dockerfile/expand-words.js";
export type { ExpandWordOptions, ShellEnv, ShellWordExpansion } from "./dockerfile/expand-words.js";

export { buildStageGraph } from "./stages/build-stage-graph.js";
export type { StageGraphOptions } from "./stages/build-stage-graph.js";
export type {
  GraphStage,
  ImageUse,
  StageBase,
  StageDependency,
  StageGraph,
  StageGraphWarning,
  UseKind,
} from "./stages/stage-graph.js";
export type { Platform } from "./stages/parse-platform.js";
export { formatPlatform } from "./stages/parse-platform.js";

export { analyzeDockerfile } from "./plan/analyze-dockerfile.js";
export type { AnalyzeDockerfileOptions, DockerfileAnalysis } from "./plan/analyze-dockerfile.js";
export { planTargets } from "./plan/plan-targets.js";
export type { TargetPlan, TargetsPlan } from "./plan/plan-targets.js";
export { serializePlan } from "./plan/serialize-plan.js";
export type { PlanJson, StageBaseJson, StageJson } from "./plan/serialize-plan.js";
export { createDockerfileMap } from "./plan/create-dockerfile-map.js";
export { findStageTypos } from "./plan/find-stage-typos.js";
export type { StageTypo } from "./plan/find-stage-typos.js";

export { createProgressTracker } from "./progress/create-progress-tracker.js";
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
} from "./progress/create-progress-tracker.js";
export type { DockerfileMap, DockerfileMapStage } from "./progress/attribute-stage.js";
export {
  createLineSplitter,
  decodeStatusResponse,
  parseDaemonLine,
} from "./progress/decode-status.js";
export type { DaemonLine, LineSplitter } from "./progress/decode-status.js";

export { BUILD_REPORT_SCHEMA_VERSION, createBuildReport } from "./report/create-build-report.js";
export type {
  BuildReport,
  BuildReportInput,
  CriticalPath,
  CriticalPathStage,
  ImageSummary,
  ReportWarning,
  SizeComparison,
  SlowStep,
  StageReport,
  TargetFailure,
  TargetReport,
  TargetStatus,
} from "./report/create-build-report.js";
export { formatBytes } from "./report/format-bytes.js";
export { formatDuration } from "./report/format-duration.js";

export type {
  EngineSession,
  SessionCredentials,
  SessionOptions,
  SessionOutput,
  SessionSshAgent,
} from "./engine/engine.js";
export {
  MissingSecretError,
  MissingSshAgentError,
} from "./engine/session/describe-session-failure.js";
export {
  parseOutputFlag,
  parseSecretFlag,
  parseSshFlag,
  resolveSecretSource,
} from "./engine/session/parse-session-flags.js";
export type { OutputFlag, SecretFlag, SshFlag } from "./engine/session/parse-session-flags.js";

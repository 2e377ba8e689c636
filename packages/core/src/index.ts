// The front door of @stagecraft/core: the common path (analyse a Dockerfile, build its targets on an
// engine, read the events and the report, handle the errors). Advanced pieces are behind subpaths:
// `/dockerfile` (parser, stage graph, plan), `/progress` (daemon stream, tracker, event members),
// `/report` (report builder and shapes), `/engine` (the engine port, endpoints, contexts, sessions),
// `/testing` (a scripted fake engine) and `/errors` (the error classes, without the engine's code
// this entry point loads). Explicit named re-exports only.

/** Reads a Dockerfile as BuildKit does and plans the requested targets. */
export { analyzeDockerfile } from "./plan/analyze-dockerfile.js";
export type { AnalyzeDockerfileOptions, DockerfileAnalysis } from "./plan/analyze-dockerfile.js";

/** Builds the analysed targets on an engine, with events and a report. */
export { runBuild } from "./scheduler/run-build.js";
export type { BuildOutcome, RunBuildOptions } from "./scheduler/run-build.js";
export type { TargetResult } from "./scheduler/run-targets.js";

/** The Docker Engine, found as the docker CLI finds it. */
export { DockerEngine } from "./engine/docker-engine.js";
export type { Engine } from "./engine/engine.js";

/** What a run reports as it goes, and at the end. */
export type { BuildEvent } from "./events.js";
export type { BuildReport } from "./report/build-report.js";

/** Errors: values with a word code, a message and a hint. */
export {
  BuildCancelledError,
  BuildFailedError,
  ContextError,
  DockerfileError,
  EngineError,
  MissingSecretError,
  MissingSshAgentError,
  PushFailedError,
  StagecraftError,
  UnknownStageError,
  UsageError,
  isStagecraftError,
} from "./errors.js";
export type { AnyStagecraftError, CancelReason, ErrorCode } from "./errors.js";

// @stagecraft/core/dockerfile: the front end's parts, for tools that work on Dockerfiles themselves.
export { parseDockerfile } from "./parse-dockerfile.js";
export { dumpDockerfile } from "./dump-dockerfile.js";
export type {
  DirectiveName,
  DockerfileAst,
  DockerfileInstruction,
  EscapeToken,
  Heredoc,
  ParserDirective,
  ParserWarning,
} from "./ast.js";
export { expandWord, expandWords } from "./expand-words.js";
export type { ExpandWordOptions, ShellEnv, ShellWordExpansion } from "./expand-words.js";

export { buildStageGraph } from "../stages/build-stage-graph.js";
export type { StageGraphOptions } from "../stages/build-stage-graph.js";
export type {
  GraphStage,
  ImageUse,
  StageBase,
  StageDependency,
  StageGraph,
  StageGraphWarning,
  UseKind,
} from "../stages/stage-graph.js";
export type { Platform } from "../stages/parse-platform.js";
export { formatPlatform } from "../stages/parse-platform.js";
export { validateImageReference } from "../stages/validate-image-reference.js";

export { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
export type { AnalyzeDockerfileOptions, DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
export { planTargets } from "../plan/plan-targets.js";
export type { TargetPlan, TargetsPlan } from "../plan/plan-targets.js";
export { serializePlan } from "../plan/serialize-plan.js";
export type { PlanJson, StageBaseJson, StageJson } from "../plan/serialize-plan.js";
export { createDockerfileMap } from "../plan/create-dockerfile-map.js";
export { findStageTypos } from "../plan/find-stage-typos.js";
export { checkEngineReadiness, listEngineImages } from "../plan/check-engine-readiness.js";
export type {
  EngineCheck,
  EngineCheckRule,
  EngineImageQuery,
  EngineReadinessFacts,
  PullProbe,
} from "../plan/check-engine-readiness.js";
export type { StageTypo } from "../plan/find-stage-typos.js";
export type { DockerfileErrorCode, DockerfileErrorOptions, SourcePosition } from "../errors.js";

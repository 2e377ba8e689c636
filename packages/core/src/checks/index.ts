// @stagecraft/core/checks: target-aware Dockerfile checks (BuildKit's rules and stagecraft's own),
// pure: the engine and context facts they can use are gathered by `gatherContextFacts` and
// `inspectBaseImages` from `@stagecraft/core/engine`.
export { checkDockerfile } from "./check-dockerfile.js";
export { attributeLayerFiles } from "./attribute-layer-files.js";
export { CHECK_RULES } from "./check-rules.js";
export type {
  BaseImageConfig,
  BuildkitRuleName,
  CheckConfig,
  CheckFinding,
  CheckLocation,
  CheckOptions,
  CheckReport,
  CheckRule,
  CheckRuleName,
  CheckSeverity,
  ContextFacts,
  ContextHazard,
  ImageLayerFiles,
  StagecraftRuleName,
} from "./check-types.js";

// @stagecraft/core/bake: docker-bake (HCL, JSON) and compose files read and resolved as
// `docker buildx bake` does. Explicit named re-exports only.

/** Reads and resolves bake files into targets and groups, and prints them as bake --print. */
export { resolveBake, resolveBakeDefinition, formatBakePrint } from "./resolve-bake.js";
export type { BakeConfig, ResolveBakeOptions } from "./resolve-bake.js";
export { readBakeFiles, bakeFileSyntax } from "./read-bake-files.js";
export type {
  BakeDefinition,
  BakeFile,
  DefinedTarget,
  ReadBakeFilesOptions,
} from "./read-bake-files.js";
export { loadBakeFiles, DEFAULT_BAKE_FILES } from "./load-bake-files.js";
export { BAKE_TARGET_FIELDS, formatBakeTarget } from "./bake-target.js";
export type { BakeGroup, BakeTarget, BakeTargetKey } from "./bake-target.js";
export { SUPPORTED_BAKE_FUNCTIONS, UNSUPPORTED_BAKE_FUNCTIONS } from "./bake-functions.js";
export { parseHcl } from "./parse-hcl.js";
export type { HclAttribute, HclBlock, HclBody, HclExpression, HclValue } from "./parse-hcl.js";
export { imageNamesOf, planBakeRuns } from "./plan-bake-runs.js";
/** Refuses several platforms per target where no image index fits, and explains foreign ones. */
export { checkBakePlatforms } from "./check-bake-platforms.js";
export type { CheckBakePlatformsOptions, PlatformEngine } from "./check-bake-platforms.js";
export type { BakeRun } from "./plan-bake-runs.js";
/** Runs several (context, Dockerfile) groups as one run: one limit, one event stream, one report. */
export { runBuildGroups } from "../scheduler/run-build-groups.js";
export type {
  BuildGroup,
  BuildGroupOutcome,
  BuildGroupsOutcome,
  RunBuildGroupsOptions,
} from "../scheduler/run-build-groups.js";
export type { BuildLimit } from "../scheduler/run-targets.js";
export { BakeError } from "../errors.js";
export type { BakeErrorCode, BakeErrorOptions } from "../errors.js";

import type { DockerfileAnalysis, AnalyzeDockerfileOptions } from "../plan/analyze-dockerfile.js";

/** How much a finding matters: `error` fails `check` by default, `info` never fails it. */
export type CheckSeverity = "error" | "warning" | "info";

/** The rules BuildKit's Dockerfile frontend has (`frontend/dockerfile/linter/ruleset.go`), by its names. */
export type BuildkitRuleName =
  | "StageNameCasing"
  | "FromAsCasing"
  | "NoEmptyContinuation"
  | "ConsistentInstructionCasing"
  | "DuplicateStageName"
  | "ReservedStageName"
  | "JSONArgsRecommended"
  | "MaintainerDeprecated"
  | "UndefinedArgInFrom"
  | "WorkdirRelativePath"
  | "UndefinedVar"
  | "MultipleInstructionsDisallowed"
  | "LegacyKeyValueFormat"
  | "RedundantTargetPlatform"
  | "SecretsUsedInArgOrEnv"
  | "InvalidDefaultArgInFrom"
  | "FromPlatformFlagConstDisallowed"
  | "CopyIgnoredFile"
  | "InvalidDefinitionDescription"
  | "ExposeProtoCasing"
  | "ExposeInvalidFormat"
  | "InvalidBaseImagePlatform";

/** stagecraft's own rules: the ones that need to know which stages ship, or what the context holds. */
export type StagecraftRuleName =
  | "StageRootUser"
  | "ShippedBuildTools"
  | "CacheBustingCopyOrder"
  | "SecretValueInArgOrEnv"
  | "StageNameTypo"
  | "UnpinnedBaseImage"
  | "SharedCacheMountRace"
  | "ContextNotIgnored";

/** Any rule `checkDockerfile` runs. */
export type CheckRuleName = BuildkitRuleName | StagecraftRuleName;

/** What a rule is, for help texts and SARIF: where it comes from, how severe, how to fix what it finds. */
export interface CheckRule {
  readonly name: CheckRuleName;
  /** `buildkit` when BuildKit has the same rule (same name, same message); else `stagecraft`. */
  readonly origin: "buildkit" | "stagecraft";
  /** The severity of its findings unless `# check=error=true` raises it. */
  readonly severity: CheckSeverity;
  /** One sentence: what it finds (BuildKit's own description for its rules). */
  readonly description: string;
  /** One sentence: what to do about a finding, in general. */
  readonly fix: string;
  /** BuildKit's documentation page for its rules. */
  readonly url: string | undefined;
  /** BuildKit runs experimental rules only when `# check=experimental=…` names them. */
  readonly experimental: boolean;
}

/** Where a finding points: 1-based lines and columns of the Dockerfile. */
export interface CheckLocation {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
}

/** One thing `checkDockerfile` found. */
export interface CheckFinding {
  readonly rule: CheckRuleName;
  readonly severity: CheckSeverity;
  /** What is wrong, naming the stage and the lines involved (BuildKit's text for its rules). */
  readonly message: string;
  /** One sentence: what to change. */
  readonly fix: string;
  readonly location: CheckLocation;
  /** The stage it is about (its id), when it is about one. */
  readonly stage: string | undefined;
}

/**
 * The config of a base image as the engine reports it (`docker image inspect`'s `Config`): what the
 * stage built on it inherits.
 */
export interface BaseImageConfig {
  /** `Config.User`; empty means root. */
  readonly user: string;
  /** `Config.Env`, as `KEY=value` strings. */
  readonly env: readonly string[];
  /** `Config.Shell`; empty when the image does not set one. */
  readonly shell: readonly string[];
  /** The image's OS, architecture and variant; undefined when the engine did not say. */
  readonly platform?:
    { readonly os: string; readonly architecture: string; readonly variant?: string } | undefined;
}

/** A directory of the context that should usually stay out of it, with what it weighs. */
export interface ContextHazard {
  /** Context-relative path, e.g. `.git`. */
  readonly path: string;
  readonly kind: "vcs" | "dependencies" | "build-output";
  readonly bytes: number;
  readonly files: number;
  /** True when the walk stopped counting before the end (a huge directory). */
  readonly truncated: boolean;
  /** True when the context's ignore file excludes it. */
  readonly ignored: boolean;
}

/** What the CLI (or an embedder) learnt about the build context directory. */
export interface ContextFacts {
  /** The ignore file used (`Dockerfile.dockerignore` or `.dockerignore`), context-relative; undefined when none. */
  readonly ignoreFile: string | undefined;
  /** Its patterns; BuildKit skips CopyIgnoredFile when any is an exception (`!…`). */
  readonly ignorePatterns: readonly string[];
  /** Whether a context-relative, slash-separated path is excluded (by itself or a parent), docker's semantics. */
  readonly isIgnored: (path: string) => boolean;
  /** The heavy directories found at the top of the context. */
  readonly hazards: readonly ContextHazard[];
}

/**
 * The files of one layer of a built image, for the image-aware half of ShippedBuildTools
 * (`scanImageLayers` + `attributeLayerFiles`): what the layer adds, and which stage and line made it.
 */
export interface ImageLayerFiles {
  /** 0-based index in the image's layers. */
  readonly index: number;
  /** The Dockerfile line that created the layer, when the build's history says so. */
  readonly line: number | undefined;
  /** The stage that created it, or undefined for a base-image layer. */
  readonly stage: string | undefined;
  /** Paths the layer adds, absolute (`/usr/bin/gcc`). */
  readonly paths: readonly string[];
  /** Why the layer's files could not be read (see `ScannedLayer`); `paths` is then empty. */
  readonly unreadable?: string;
}

/** Inputs of {@link checkDockerfile}: those of `analyzeDockerfile`, plus what only I/O can learn. */
export interface CheckOptions extends AnalyzeDockerfileOptions {
  /** The front end's result when the caller has it already; otherwise the text is analysed. */
  readonly analysis?: DockerfileAnalysis;
  /**
   * Base images as found on the engine, by reference as written after expansion (`node:20`):
   * a config, or `undefined` when the engine does not have the image. Leave a reference out (or the
   * whole map) when no engine was asked: `missing` says why, for the notes.
   */
  readonly baseImages?: ReadonlyMap<string, BaseImageConfig | undefined>;
  /** Why base images were not inspected, e.g. `no engine is reachable at unix:///var/run/docker.sock`. */
  readonly baseImagesUnavailable?: string;
  /** Facts about the build context directory; context rules are skipped without them. */
  readonly context?: ContextFacts;
  /** The layers of each built target's image, by target stage id (post-build image scan). */
  readonly imageLayers?: ReadonlyMap<string, readonly ImageLayerFiles[]>;
}

/** The `# check=` directive as BuildKit reads it (`linter.ParseLintOptions`). */
export interface CheckConfig {
  readonly skipAll: boolean;
  readonly skip: readonly string[];
  readonly experimentalAll: boolean;
  readonly experimental: readonly string[];
  /** `error=true`: every finding fails the build. */
  readonly errorOnWarning: boolean;
}

/** What `checkDockerfile` returns. */
export interface CheckReport {
  /** The findings, by line, then column, then rule name. */
  readonly findings: readonly CheckFinding[];
  /** What could not be checked and why (no engine, image not on the engine, …). */
  readonly notes: readonly string[];
  /**
   * The stages UndefinedVar did not check, because the environment of their base image is unknown
   * (not inspected, or not on the engine): all of them, where the note names the first few.
   */
  readonly unknownEnvStages: readonly string[];
  /** The stages whose images are delivered: the final stages of the requested targets. */
  readonly shippedStages: readonly string[];
  /** The stages that would be built for the requested targets. */
  readonly plannedStages: readonly string[];
  /** The Dockerfile's `# check=` directive, parsed. */
  readonly config: CheckConfig;
}

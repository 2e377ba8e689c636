import type { DockerfileError, SourcePosition } from "../errors.js";
import type { EscapeToken } from "../dockerfile/ast.js";
import type { Instruction, StageInstruction } from "../dockerfile/instructions.js";
import type { Platform } from "./parse-platform.js";

/** What a stage starts from once its `FROM` is expanded. */
export type StageBase =
  /** An earlier stage of the same Dockerfile, by index. */
  | { readonly kind: "stage"; readonly index: number }
  /** An image reference, as written after ARG expansion (not normalized). */
  | { readonly kind: "image"; readonly reference: string }
  /** The empty filesystem. */
  | { readonly kind: "scratch" };

/** How one stage uses another stage or an image. */
export type UseKind =
  /** `FROM <x>`. */
  | "base"
  /** `COPY --from=<x>`. */
  | "copy"
  /** `RUN --mount=…,from=<x>` (or, with no `from`, a stage named `scratch`). */
  | "mount";

/** One edge of the graph: this stage needs stage `stage`. */
export interface StageDependency {
  readonly kind: UseKind;
  /** The index of the stage depended on. */
  readonly stage: number;
  /** The reference as written: the expanded base name, or the `--from` / `from=` value. */
  readonly reference: string;
  /** True when it comes from an `ONBUILD` trigger inherited from the base stage. */
  readonly onbuild: boolean;
  /** The instruction that creates it (for ONBUILD: the inheriting stage's `FROM`). */
  readonly position: SourcePosition;
}

/** One use of an external image by a stage. */
export interface ImageUse {
  readonly kind: UseKind;
  readonly reference: string;
  readonly onbuild: boolean;
  readonly position: SourcePosition;
}

/** A stage of the graph, with everything resolved that can be resolved without a daemon. */
export interface GraphStage {
  /** 0-based, in file order. */
  readonly index: number;
  /** The `AS` name lower-cased, or undefined. */
  readonly name: string | undefined;
  /** The name, or `stage-<index>` for an unnamed stage (BuildKit's own naming); not unique when names repeat. */
  readonly id: string;
  /** Where its `FROM` keyword is. */
  readonly position: SourcePosition;
  /** The `FROM` base as written, before ARG expansion. */
  readonly from: string;
  /** The base name after ARG expansion (quotes removed). */
  readonly baseName: string;
  /** The `--platform` value as written, or undefined. */
  readonly platform: string | undefined;
  /** The `--platform` value expanded and parsed, or undefined when not given. */
  readonly resolvedPlatform: Platform | undefined;
  readonly base: StageBase;
  /** Every use of another stage, in order of use (base first, then inherited ONBUILD triggers, then own instructions). */
  readonly dependencies: readonly StageDependency[];
  /** The indices of the stages it needs, each once, in order of first use. */
  readonly dependsOn: readonly number[];
  /** Every use of an external image, in the same order. */
  readonly imageUses: readonly ImageUse[];
  /** The external images it needs (base image first), each once, as written after expansion. */
  readonly externalImages: readonly string[];
  /** Its instructions, without `FROM`. */
  readonly instructions: readonly StageInstruction[];
  /** The triggers it inherits from its base stage's `ONBUILD`s, parsed (they run before its own instructions). */
  readonly inheritedTriggers: readonly Instruction[];
  /**
   * Errors BuildKit raises when this stage is to be built, before anything runs: an ONBUILD trigger
   * inherited from the base stage that does not parse or names a bad `--from`.
   */
  readonly triggerErrors: readonly DockerfileError[];
  /**
   * Errors BuildKit raises when it reaches this stage while building, in order: `COPY --from` or
   * `RUN --mount from=` a stage defined later (`cannot copy from stage "b", it needs to be defined
   * before current stage "a"`).
   */
  readonly dispatchErrors: readonly DockerfileError[];
}

/** A warning about the Dockerfile that does not stop a build (BuildKit lint rule names). */
export interface StageGraphWarning {
  readonly rule: "DuplicateStageName" | "ReservedStageName" | "TargetStageVaries";
  readonly message: string;
  readonly position: SourcePosition;
}

/** The stages of a Dockerfile and how they depend on each other and on images. */
export interface StageGraph {
  readonly escapeToken: EscapeToken;
  readonly stages: readonly GraphStage[];
  /** The variables `FROM` lines saw: predefined platform args, then meta ARGs. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly buildPlatform: Platform;
  readonly targetPlatform: Platform;
  /** The index of the stage built when no target is requested: the last one. */
  readonly defaultTarget: number;
  readonly warnings: readonly StageGraphWarning[];
  /**
   * Errors every build of this Dockerfile raises whatever the target, e.g. an invalid image
   * reference (`failed to parse stage name "Builder": …`); BuildKit checks them for all stages.
   */
  readonly buildErrors: readonly DockerfileError[];
}

import type { SourcePosition } from "../errors.js";
import type { DockerfileInstruction, EscapeToken, Heredoc } from "./ast.js";

/** What every typed instruction carries: its AST node and where it starts. */
export interface InstructionBase {
  /** The parser's node this instruction was made from. */
  readonly node: DockerfileInstruction;
  /** The keyword's position (BuildKit's StartLine; the column of the keyword). */
  readonly position: SourcePosition;
}

/** `FROM [--platform=…] <base> [AS <name>]`: opens a stage. */
export interface FromInstruction extends InstructionBase {
  readonly kind: "from";
  /** The base as written, before ARG expansion (quotes kept, e.g. `golang:${GO}`). */
  readonly baseName: string;
  /** The stage name lower-cased, or undefined for an unnamed stage. */
  readonly stageName: string | undefined;
  /** The `--platform` value as written, or undefined. */
  readonly platform: string | undefined;
}

/** `COPY`: `from` is the `--from` value as written, undefined when absent or empty. */
export interface CopyInstruction extends InstructionBase {
  readonly kind: "copy";
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Heredoc sources (`COPY <<EOF /dest`), by name. */
  readonly heredocSources: readonly Heredoc[];
  readonly destination: string;
  readonly chown: string;
  readonly chmod: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly excludes: readonly string[];
}

/** `ADD`. */
export interface AddInstruction extends InstructionBase {
  readonly kind: "add";
  readonly sources: readonly string[];
  readonly heredocSources: readonly Heredoc[];
  readonly destination: string;
  readonly chown: string;
  readonly chmod: string;
  readonly link: boolean;
  /** Undefined when `--keep-git-dir` was not given. */
  readonly keepGitDir: boolean | undefined;
  readonly checksum: string;
  /** Undefined when `--unpack` was not given. */
  readonly unpack: boolean | undefined;
  readonly excludes: readonly string[];
}

/** One `RUN --mount=…` as BuildKit reads it before dispatch: only `from` is looked at this early. */
export interface RunMount {
  /** The flag value as written, e.g. `type=cache,target=/root/.cache`. */
  readonly spec: string;
  /** Its CSV fields. */
  readonly fields: readonly string[];
  /** The `from=` value, undefined when absent. */
  readonly from: string | undefined;
}

/** One `RUN --device=…`. */
export interface RunDevice {
  readonly name: string;
  readonly required: boolean;
}

/** `RUN`. */
export interface RunInstruction extends InstructionBase {
  readonly kind: "run";
  readonly mounts: readonly RunMount[];
  readonly network: "default" | "none" | "host";
  readonly security: "sandbox" | "insecure";
  readonly devices: readonly RunDevice[];
  /** The exec-form words, or the one shell-form string. */
  readonly command: readonly string[];
  /** True for the shell form. */
  readonly prependShell: boolean;
  readonly heredocs: readonly Heredoc[];
}

/** One `ARG` name with its default as written (undefined when none). */
export interface ArgDefinition {
  readonly key: string;
  readonly value: string | undefined;
}

/** `ARG a=1 b`. */
export interface ArgInstruction extends InstructionBase {
  readonly kind: "arg";
  readonly args: readonly ArgDefinition[];
}

/** A key/value pair of `ENV` or `LABEL`; the value is as written (quotes removed at dispatch). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The legacy `ENV KEY value` form. */
  readonly noDelimiter: boolean;
}

/** `ENV` or `LABEL`. */
export interface KeyValueInstruction extends InstructionBase {
  readonly kind: "env" | "label";
  readonly pairs: readonly KeyValue[];
}

/** `ONBUILD <trigger>`: stored as text, run when a later stage builds on this one. */
export interface OnbuildInstruction extends InstructionBase {
  readonly kind: "onbuild";
  /** The trigger as BuildKit stores it: the line without `ONBUILD`, heredoc bodies re-attached. */
  readonly expression: string;
}

/** `HEALTHCHECK`; durations in nanoseconds (0 when not given). */
export interface HealthcheckInstruction extends InstructionBase {
  readonly kind: "healthcheck";
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  readonly test: readonly string[];
  readonly interval: bigint;
  readonly timeout: bigint;
  readonly startPeriod: bigint;
  readonly startInterval: bigint;
  readonly retries: number;
}

/** The instructions whose details the front end does not need: their arguments as parsed. */
export interface OtherInstruction extends InstructionBase {
  readonly kind:
    | "cmd"
    | "entrypoint"
    | "shell"
    | "expose"
    | "user"
    | "workdir"
    | "volume"
    | "stopsignal"
    | "maintainer";
  readonly values: readonly string[];
}

/** A typed instruction other than `FROM`. */
export type StageInstruction =
  | CopyInstruction
  | AddInstruction
  | RunInstruction
  | ArgInstruction
  | KeyValueInstruction
  | OnbuildInstruction
  | HealthcheckInstruction
  | OtherInstruction;

/** Any typed instruction. */
export type Instruction = FromInstruction | StageInstruction;

/** A stage: its `FROM` and the instructions up to the next `FROM`. */
export interface DockerfileStage {
  /** 0-based, in file order. */
  readonly index: number;
  readonly from: FromInstruction;
  readonly instructions: readonly StageInstruction[];
}

/** A Dockerfile as BuildKit's `instructions.Parse` sees it. */
export interface DockerfileInstructions {
  readonly escapeToken: EscapeToken;
  /** The `ARG`s before the first `FROM`. */
  readonly metaArgs: readonly ArgInstruction[];
  /** The stages in file order; may be empty (only meta ARGs), which the stage graph rejects. */
  readonly stages: readonly DockerfileStage[];
}

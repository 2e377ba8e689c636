import { DockerfileError, type SourcePosition } from "../errors.js";
import type { EscapeToken } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import { parseGoInt } from "../dockerfile/go/strconv.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import type { DockerfileStage, Instruction, RunMount } from "../dockerfile/instructions.js";
import type { ResolvedFrom } from "./resolve-from.js";
import type { UseKind } from "./stage-graph.js";

/** A use of a stage or of an image by one instruction. */
export type Use =
  | {
      readonly kind: "stage";
      readonly use: UseKind;
      readonly stage: number;
      readonly reference: string;
      readonly onbuild: boolean;
      readonly position: SourcePosition;
      /** For mounts: the mount's type and target as written, for BuildKit's ordering error. */
      readonly type: string | undefined;
      readonly target: string | undefined;
    }
  | {
      readonly kind: "image";
      readonly use: UseKind;
      readonly reference: string;
      readonly onbuild: boolean;
      readonly position: SourcePosition;
    };

/** The resolved stages, and the last index of each name (what `--from` and `from=` find). */
export interface StageLookup {
  readonly stages: readonly ResolvedFrom[];
  readonly byName: ReadonlyMap<string, number>;
}

export function lastStageByName(stages: readonly ResolvedFrom[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (const stage of stages) if (stage.name !== undefined) byName.set(stage.name, stage.index);
  return byName;
}

/**
 * An instruction that uses another stage or an image, or has mounts to validate: a COPY with
 * `--from`, a RUN with `--mount`s. Other instructions neither depend on anything nor fail here.
 */
export interface Command {
  /** Where errors are reported: the instruction, or for a trigger the inheriting FROM. */
  readonly position: SourcePosition;
  readonly mounts: readonly RunMount[];
  readonly uses: readonly Use[];
}

/**
 * BuildKit's `toCommand` + `detectRunMount` for one instruction: the command it makes, or
 * undefined when it uses nothing and has no mounts. `position` defaults to the instruction's.
 */
export function commandOf(
  instruction: Instruction,
  lookup: StageLookup,
  escapeToken: EscapeToken,
  onbuild: boolean,
  position: SourcePosition | undefined,
): Command | undefined {
  switch (instruction.kind) {
    case "copy": {
      const from = instruction.from;
      if (from === undefined) return undefined;
      const at = position ?? instruction.position;
      return { position: at, mounts: [], uses: copyUses(from, lookup, escapeToken, onbuild, at) };
    }
    case "run": {
      const mounts = instruction.mounts;
      if (mounts.length === 0) return undefined;
      const at = position ?? instruction.position;
      return { position: at, mounts, uses: mountUses(mounts, lookup, onbuild, at) };
    }
    default:
      return undefined;
  }
}

/** `COPY --from=<from>`: the stage or image it uses. */
function copyUses(
  from: string,
  lookup: StageLookup,
  escapeToken: EscapeToken,
  onbuild: boolean,
  position: SourcePosition,
): readonly Use[] {
  // Without `$`, quotes, escapes or a byte-order mark, expansion returns the word unchanged.
  const plain = /^[^$'"\\`\uFEFF]*$/.test(from);
  if (!plain && expandShellWord(from, {}, { escapeToken, position }).value !== from) {
    throw new DockerfileError(
      "DOCKERFILE_EXPANSION",
      "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
      position,
      {
        hint: "Declare the ARG before the first FROM and add `FROM ${ARG} AS alias`; copy --from=alias.",
      },
    );
  }
  const stages = lookup.stages;
  // Go's `strconv.Atoi`: a 64-bit base-10 int is an index, anything else a name. Digits are tested
  // first: nearly every --from is a name, and parseGoInt would quote it in an error text for nothing.
  const index = /^[+-]?[0-9]+$/.test(from) ? parseGoInt(from, 64) : undefined;
  if (typeof index === "bigint") {
    if (index < 0n || index >= BigInt(stages.length)) {
      throw new DockerfileError("INVALID_STAGE_INDEX", `invalid stage index ${index}`, position, {
        hint: `Stage indices run from 0 to ${stages.length - 1}; prefer naming the stage with AS.`,
      });
    }
    return [stageUse("copy", Number(index), from, onbuild, position)];
  }
  const stage = findStageByName(lookup, from);
  if (stage !== undefined) return [stageUse("copy", stage, from, onbuild, position)];
  if (from === "scratch") return noUses;
  return [{ kind: "image", use: "copy", reference: from, onbuild, position }];
}

/** `RUN --mount=…`: the stages and images its mounts use. */
function mountUses(
  mounts: readonly RunMount[],
  lookup: StageLookup,
  onbuild: boolean,
  position: SourcePosition,
): readonly Use[] {
  const uses: Use[] = [];
  for (const mount of mounts) {
    // A mount without `from` is looked up as `scratch`: a stage of that name becomes a dependency.
    const from = mount.from ?? "";
    const stage = findStageByName(lookup, from === "" ? "scratch" : from);
    if (stage !== undefined) {
      uses.push({
        kind: "stage",
        use: "mount",
        stage,
        reference: from,
        onbuild,
        position,
        type: mountField(mount.fields, ["type"])?.toLowerCase() ?? "bind",
        target: mountField(mount.fields, ["target", "dst", "destination"]) ?? "",
      });
    } else if (from !== "" && from !== "scratch") {
      uses.push({ kind: "image", use: "mount", reference: from, onbuild, position });
    }
  }
  return uses.length === 0 ? noUses : uses;
}

/** What most instructions use: nothing (shared, never modified). */
export const noUses: readonly Use[] = [];

function stageUse(
  use: UseKind,
  stage: number,
  reference: string,
  onbuild: boolean,
  position: SourcePosition,
): Use {
  return {
    kind: "stage",
    use,
    stage,
    reference,
    onbuild,
    position,
    type: undefined,
    target: undefined,
  };
}

function mountField(fields: readonly string[], keys: readonly string[]): string | undefined {
  let value: string | undefined;
  for (const field of fields) {
    const equals = field.indexOf("=");
    if (equals >= 0 && keys.includes(field.slice(0, equals).toLowerCase())) {
      value = field.slice(equals + 1);
    }
  }
  return value;
}

/** The last stage named `name` (case-insensitive), as `COPY --from` and `--mount from=` see them. */
function findStageByName(lookup: StageLookup, name: string): number | undefined {
  return lookup.byName.get(toLowerGo(name));
}

/**
 * A stage's commands: only COPY --from and RUN --mount use other stages or images, or can fail at
 * dispatch, so only those are kept, reading each instruction once.
 */
export function stageCommandsOf(
  stage: DockerfileStage,
  lookup: StageLookup,
  escapeToken: EscapeToken,
): Command[] {
  const commands: Command[] = [];
  for (const instruction of stage.instructions) {
    const command = commandOf(instruction, lookup, escapeToken, false, undefined);
    if (command !== undefined) commands.push(command);
  }
  return commands;
}

/** What a stage's `FROM` uses: its base stage or image (nothing for scratch). */
export function baseUses(stage: ResolvedFrom): Use[] {
  if (stage.base.kind === "stage") {
    return [
      {
        kind: "stage",
        use: "base",
        stage: stage.base.index,
        reference: stage.baseName,
        onbuild: false,
        position: stage.position,
        target: undefined,
        type: undefined,
      },
    ];
  }
  if (stage.base.kind === "image") {
    return [
      {
        kind: "image",
        use: "base",
        reference: stage.baseName,
        onbuild: false,
        position: stage.position,
      },
    ];
  }
  return [];
}

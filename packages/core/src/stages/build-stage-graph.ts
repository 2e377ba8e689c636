import { DockerfileError, UsageError, type SourcePosition } from "../errors.js";
import type { DockerfileAst, EscapeToken } from "../dockerfile/ast.js";
import { expandShellWord, quoteGo } from "../dockerfile/expand-words.js";
import {
  parseInstruction,
  parseInstructions,
  type DockerfileStage,
  type Instruction,
} from "../dockerfile/instructions.js";
import { toLowerGo } from "../dockerfile/go-strings.js";
import { suggestClosest, withSuggestion } from "../dockerfile/parse-flags.js";
import { parseDockerfile } from "../dockerfile/parse-dockerfile.js";
import { findTargetStage } from "./find-target-stage.js";
import { defaultPlatform, parsePlatform, type Platform } from "./parse-platform.js";
import { resolveGlobalArgs } from "./resolve-global-args.js";
import type {
  GraphStage,
  ImageUse,
  StageBase,
  StageDependency,
  StageGraph,
  StageGraphWarning,
  UseKind,
} from "./stage-graph.js";
import { validateImageReference } from "./validate-image-reference.js";
import { validateMount } from "./validate-mount.js";

/** What the graph depends on besides the Dockerfile: the same inputs as `docker build`. */
export interface StageGraphOptions {
  /** `--build-arg`s. Only declared meta ARGs and the predefined platform args reach `FROM`. */
  readonly buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** The target platform (`--platform`), e.g. `linux/arm64`; defaults to the build platform. */
  readonly platform?: string;
  /** The platform of the builder; defaults to `linux/amd64`. */
  readonly buildPlatform?: string;
  /**
   * Requested targets: checked (case-insensitively) before dependencies are resolved, as BuildKit
   * does, and the first one sets TARGETSTAGE (else the last stage's name, else `default`).
   */
  readonly targets?: readonly string[];
}

/**
 * Resolves a parsed Dockerfile into its stage graph the way BuildKit's `dockerfile2llb` does:
 * global args, `FROM` bases and platforms, `COPY --from` and `RUN --mount from=` edges, inherited
 * ONBUILD triggers, cycles, and the errors a build would meet.
 *
 * @example
 * const graph = buildStageGraph(parseDockerfile("FROM golang AS build\nFROM alpine\nCOPY --from=build /app /app\n"));
 * graph.stages[1]?.dependsOn; // [0]
 * @throws DockerfileError for what BuildKit rejects before building anything (no stages, blank base,
 *   bad platform, `--from=$X`, `invalid stage index N`, cycles), with its text, line and column.
 * @throws UnknownStageError when a requested target does not exist.
 * @throws UsageError (`INVALID_PLATFORM`) for a malformed `platform` / `buildPlatform` option.
 */
export function buildStageGraph(ast: DockerfileAst, options: StageGraphOptions = {}): StageGraph {
  const parsed = parseInstructions(ast);
  const lastStage = parsed.stages.at(-1);
  if (lastStage === undefined) {
    throw new DockerfileError(
      "DOCKERFILE_NO_STAGES",
      "dockerfile contains no stages to build",
      ast.range.start,
      { hint: "Add a FROM instruction; ARGs alone build nothing." },
    );
  }
  const escapeToken = parsed.escapeToken;
  const buildArgs = toMap(options.buildArgs);
  const buildPlatform = platformOption(options.buildPlatform, "buildPlatform", defaultPlatform);
  const targetPlatform = platformOption(options.platform, "platform", buildPlatform);
  const targets = options.targets ?? [];
  const warnings = stageNameWarnings(parsed.stages);
  const targetStage = targets[0] ?? lastStage.from.stageName ?? "";
  const globalArgs = resolveGlobalArgs(parsed.metaArgs, {
    buildArgs,
    buildPlatform,
    targetPlatform,
    targetStage,
    escapeToken,
  });

  const resolved = parsed.stages.map((stage) =>
    resolveFrom(stage, parsed.stages, globalArgs, escapeToken, buildPlatform),
  );
  if (targets.length > 1 && resolved.some((stage) => stage.usesTargetStage)) {
    warnings.push({
      rule: "TargetStageVaries",
      message: `TARGETSTAGE is used in FROM; the graph uses its value for the first target "${targets[0] ?? ""}"`,
      position: lastStage.from.position,
    });
  }
  for (const target of targets) findTargetStage(resolved, target);

  const commandUses = parsed.stages.map((stage) =>
    stage.instructions.flatMap((instruction) =>
      instructionUses(instruction, resolved, escapeToken, false, instruction.position),
    ),
  );
  checkCycles(resolved, commandUses);

  const buildErrors: DockerfileError[] = [];
  for (const stage of resolved) {
    if (stage.base.kind === "image") {
      const error = referenceError(stage.baseName, stage.position);
      if (error !== undefined) buildErrors.push(error);
    }
  }
  for (const uses of commandUses) {
    for (const use of uses) {
      if (use.kind === "image") {
        const error = referenceError(use.reference, use.position);
        if (error !== undefined) buildErrors.push(error);
      }
    }
  }

  const stages = parsed.stages.map((stage, index): GraphStage => {
    const own = resolved[index] ?? unreachable();
    const triggers = inheritTriggers(own, parsed.stages, resolved, escapeToken);
    const uses: Use[] = [];
    if (own.base.kind === "stage") {
      uses.push({
        kind: "stage",
        use: "base",
        stage: own.base.index,
        reference: own.baseName,
        onbuild: false,
        position: own.position,
        target: undefined,
        type: undefined,
      });
    } else if (own.base.kind === "image") {
      uses.push({
        kind: "image",
        use: "base",
        reference: own.baseName,
        onbuild: false,
        position: own.position,
      });
    }
    uses.push(...triggers.uses, ...(commandUses[index] ?? []));
    const commands = [
      ...triggers.instructions.map((instruction) => ({
        instruction,
        onbuild: true,
        position: own.position,
      })),
      ...stage.instructions.map((instruction) => ({
        instruction,
        onbuild: false,
        position: instruction.position,
      })),
    ];
    const dispatchErrors = commands.flatMap(({ instruction, onbuild, position }) =>
      commandDispatchErrors(
        own,
        instruction,
        instructionUses(instruction, resolved, escapeToken, onbuild, position),
        position,
      ),
    );
    return summarize(stage, own, uses, triggers, dispatchErrors);
  });

  return {
    escapeToken,
    stages,
    globalArgs,
    buildPlatform,
    targetPlatform,
    defaultTarget: stages.length - 1,
    warnings,
    buildErrors,
  };
}

/** A stage after its `FROM` is resolved. */
interface ResolvedFrom {
  readonly index: number;
  readonly name: string | undefined;
  readonly id: string;
  readonly position: SourcePosition;
  readonly baseName: string;
  readonly base: StageBase;
  readonly resolvedPlatform: Platform | undefined;
  readonly usesTargetStage: boolean;
}

/** A use of a stage or of an image by one instruction. */
type Use =
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

function unreachable(): never {
  throw new Error("stage index out of range");
}

function toMap(
  values: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
): ReadonlyMap<string, string> {
  if (values === undefined) return new Map();
  if (values instanceof Map) return values as ReadonlyMap<string, string>;
  return new Map(Object.entries(values as Readonly<Record<string, string>>));
}

function platformOption(value: string | undefined, option: string, fallback: Platform): Platform {
  if (value === undefined) return fallback;
  const result = parsePlatform(value, fallback);
  if (!result.ok) {
    throw new UsageError(`invalid ${option} ${quoteGo(value)}: ${result.message}`, {
      code: "INVALID_PLATFORM",
      hint: "Write a platform as os/arch[/variant], e.g. linux/amd64 or linux/arm64.",
    });
  }
  return result.platform;
}

function stageNameWarnings(stages: readonly DockerfileStage[]): StageGraphWarning[] {
  const warnings: StageGraphWarning[] = [];
  const seen = new Set<string>();
  for (const { from } of stages) {
    const name = from.stageName;
    if (name === undefined) continue;
    if (name === "scratch" || name === "context") {
      warnings.push({
        rule: "ReservedStageName",
        message: `Stage name should not use the same name as reserved stage ${quoteGo(name)}`,
        position: from.position,
      });
    }
    if (seen.has(name)) {
      warnings.push({
        rule: "DuplicateStageName",
        message: `Duplicate stage name ${quoteGo(name)}, stage names should be unique`,
        position: from.position,
      });
    }
    seen.add(name);
  }
  return warnings;
}

/** BuildKit's `buildDispatchStates` for one stage: expand the base and platform, find the base. */
function resolveFrom(
  stage: DockerfileStage,
  all: readonly DockerfileStage[],
  globalArgs: ReadonlyMap<string, string>,
  escapeToken: EscapeToken,
  buildPlatform: Platform,
): ResolvedFrom {
  const { from, index } = stage;
  const position = from.position;
  const expanded = expandShellWord(from.baseName, globalArgs, { escapeToken, position });
  if (expanded.value === "") {
    throw new DockerfileError(
      "DOCKERFILE_EXPANSION",
      `base name (${from.baseName}) should not be blank`,
      position,
      { hint: "Give the ARG used in FROM a default, or pass it with --build-arg." },
    );
  }
  let usesTargetStage = [...expanded.matched, ...expanded.unmatched].includes("TARGETSTAGE");
  let resolvedPlatform: Platform | undefined;
  if (from.platform !== undefined && from.platform !== "") {
    let platform;
    try {
      platform = expandShellWord(from.platform, globalArgs, { escapeToken, position });
    } catch (error) {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        `failed to process arguments for platform : ${(error as Error).message}`,
        position,
      );
    }
    usesTargetStage ||= [...platform.matched, ...platform.unmatched].includes("TARGETSTAGE");
    const suggestion = suggestUnmatched(platform.unmatched, [...globalArgs.keys()]);
    if (platform.value === "") {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        withSuggestion(`empty platform value from expression ${from.platform}`, suggestion),
        position,
      );
    }
    const parsedPlatform = parsePlatform(platform.value, buildPlatform);
    if (!parsedPlatform.ok) {
      throw new DockerfileError(
        "DOCKERFILE_FLAG",
        `failed to parse platform ${from.platform}: ${withSuggestion(parsedPlatform.message, suggestion)}`,
        position,
      );
    }
    resolvedPlatform = parsedPlatform.platform;
  }
  const name = from.stageName;
  if (name !== undefined && name !== "scratch" && name !== "context") {
    // A named stage is also a named-context key, so BuildKit requires it to be a valid reference.
    const problem = validateImageReference(name);
    if (problem !== undefined) {
      throw new DockerfileError(
        "INVALID_STAGE_NAME",
        `invalid context name ${name}: ${problem}`,
        position,
        {
          hint: "Stage names must also be valid image names: no trailing or doubled '.', '_' or '-'.",
        },
      );
    }
  }
  // FROM sees only earlier stages, matched exactly (names are lower-cased), the latest of a name.
  let base: StageBase | undefined;
  for (let earlier = index - 1; earlier >= 0; earlier--) {
    if (all[earlier]?.from.stageName === expanded.value) {
      base = { kind: "stage", index: earlier };
      break;
    }
  }
  base ??=
    expanded.value === "scratch"
      ? { kind: "scratch" }
      : { kind: "image", reference: expanded.value };
  return {
    index,
    name,
    id: name ?? `stage-${index}`,
    position,
    baseName: expanded.value,
    base,
    resolvedPlatform,
    usesTargetStage,
  };
}

function suggestUnmatched(
  unmatched: readonly string[],
  keys: readonly string[],
): string | undefined {
  for (const name of unmatched) {
    const suggestion = suggestClosest(name, keys, true);
    if (suggestion !== undefined) return suggestion;
  }
  return undefined;
}

/** The last stage named `name` (case-insensitive), as `COPY --from` and `--mount from=` see them. */
function findStageByName(stages: readonly ResolvedFrom[], name: string): number | undefined {
  const wanted = toLowerGo(name);
  for (let index = stages.length - 1; index >= 0; index--) {
    if (stages[index]?.name === wanted) return index;
  }
  return undefined;
}

/** Go's `strconv.Atoi` for base-10 ints that fit in 64 bits; undefined when it would fail. */
function parseGoInt(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value > 9223372036854775807n || value < -9223372036854775808n ? undefined : value;
}

/** BuildKit's `toCommand` + `detectRunMount`: what one instruction uses. */
function instructionUses(
  instruction: Instruction,
  stages: readonly ResolvedFrom[],
  escapeToken: EscapeToken,
  onbuild: boolean,
  position: SourcePosition,
): Use[] {
  if (instruction.kind === "copy" && instruction.from !== undefined) {
    const from = instruction.from;
    if (expandShellWord(from, {}, { escapeToken, position }).value !== from) {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
        position,
        {
          hint: "Declare the ARG before the first FROM and add `FROM ${ARG} AS alias`; copy --from=alias.",
        },
      );
    }
    const index = parseGoInt(from);
    if (index !== undefined) {
      if (index < 0n || index >= BigInt(stages.length)) {
        throw new DockerfileError("INVALID_STAGE_INDEX", `invalid stage index ${index}`, position, {
          hint: `Stage indices run from 0 to ${stages.length - 1}; prefer naming the stage with AS.`,
        });
      }
      return [stageUse("copy", Number(index), from, onbuild, position)];
    }
    const stage = findStageByName(stages, from);
    if (stage !== undefined) return [stageUse("copy", stage, from, onbuild, position)];
    if (from === "scratch") return [];
    return [{ kind: "image", use: "copy", reference: from, onbuild, position }];
  }
  if (instruction.kind !== "run") return [];
  return instruction.mounts.flatMap((mount): Use[] => {
    // A mount without `from` is looked up as `scratch`: a stage of that name becomes a dependency.
    const from = mount.from ?? "";
    const stage = findStageByName(stages, from === "" ? "scratch" : from);
    if (stage !== undefined) {
      return [
        {
          kind: "stage",
          use: "mount",
          stage,
          reference: from,
          onbuild,
          position,
          type: mountField(mount.fields, ["type"])?.toLowerCase() ?? "bind",
          target: mountField(mount.fields, ["target", "dst", "destination"]) ?? "",
        },
      ];
    }
    if (from === "" || from === "scratch") return [];
    return [{ kind: "image", use: "mount", reference: from, onbuild, position }];
  });
}

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

/**
 * BuildKit's `validateCircularDependency`: a depth-first search over `--from` and mount edges
 * (bases cannot loop), stages in file order; it names the stage the search started from.
 */
function checkCycles(stages: readonly ResolvedFrom[], uses: readonly (readonly Use[])[]): void {
  const edges = uses.map((list) => {
    const byStage = new Map<number, SourcePosition>();
    for (const use of list) {
      if (use.kind === "stage" && !byStage.has(use.stage)) byStage.set(use.stage, use.position);
    }
    return byStage;
  });
  const visited = new Set<number>();
  const path = new Set<number>();
  const visit = (stage: number, via: SourcePosition[]): SourcePosition[] | undefined => {
    if (visited.has(stage)) return undefined;
    visited.add(stage);
    path.add(stage);
    for (const [next, position] of edges[stage] ?? []) {
      const trail = [...via, position];
      if (path.has(next)) return trail;
      const found = visit(next, trail);
      if (found !== undefined) return found;
    }
    path.delete(stage);
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.index, []);
    if (cycle !== undefined) {
      throw new DockerfileError(
        "STAGE_CYCLE",
        `circular dependency detected on stage: ${stage.id}`,
        cycle[0] ?? stage.position,
        { hint: "A stage cannot copy or mount from itself or from a stage that depends on it." },
      );
    }
  }
}

function referenceError(reference: string, position: SourcePosition): DockerfileError | undefined {
  const problem = validateImageReference(reference);
  if (problem === undefined) return undefined;
  return new DockerfileError(
    "DOCKERFILE_SYNTAX",
    `failed to parse stage name ${quoteGo(reference)}: ${problem}`,
    position,
    { hint: "Image names are lower-case; a FROM naming a stage must match its AS name exactly." },
  );
}

/**
 * The ONBUILD triggers a stage inherits from its base stage (only the direct base's own), parsed
 * as BuildKit does when the stage is built; their `--from`s become this stage's dependencies.
 */
function inheritTriggers(
  stage: ResolvedFrom,
  all: readonly DockerfileStage[],
  resolved: readonly ResolvedFrom[],
  escapeToken: EscapeToken,
): { instructions: Instruction[]; uses: Use[]; errors: DockerfileError[] } {
  const result = {
    instructions: [] as Instruction[],
    uses: [] as Use[],
    errors: [] as DockerfileError[],
  };
  if (stage.base.kind !== "stage") return result;
  const parent = all[stage.base.index];
  const expressions = (parent?.instructions ?? []).flatMap((instruction) =>
    instruction.kind === "onbuild" ? [instruction.expression] : [],
  );
  for (const expression of expressions) {
    try {
      const trigger = parseTrigger(expression, stage.position);
      const uses = instructionUses(trigger, resolved, escapeToken, true, stage.position);
      result.instructions.push(trigger);
      result.uses.push(...uses);
      for (const use of uses) {
        if (use.kind !== "image") continue;
        const error = referenceError(use.reference, stage.position);
        if (error !== undefined) result.errors.push(error);
      }
    } catch (error) {
      if (!(error instanceof DockerfileError)) throw error;
      // BuildKit reports a trigger's error at the FROM of the stage that inherits it.
      result.errors.push(
        new DockerfileError(error.code, error.message, stage.position, { hint: error.hint }),
      );
      break;
    }
  }
  return result;
}

function parseTrigger(expression: string, position: SourcePosition): Instruction {
  const ast = parseDockerfile(expression);
  const [node, ...rest] = ast.children;
  if (node === undefined || rest.length > 0) {
    throw new DockerfileError(
      "DOCKERFILE_SYNTAX",
      "onbuild trigger should be a single expression",
      position,
    );
  }
  return parseInstruction(node);
}

/**
 * What BuildKit rejects when it dispatches one instruction of the stage: a `RUN --mount` that does
 * not validate, then `--from` / mount edges to a stage that is not built yet.
 */
function commandDispatchErrors(
  stage: ResolvedFrom,
  instruction: Instruction,
  uses: readonly Use[],
  position: SourcePosition,
): DockerfileError[] {
  const errors: DockerfileError[] = [];
  if (instruction.kind === "run") {
    for (const mount of instruction.mounts) {
      const problem = validateMount(mount.fields);
      if (problem !== undefined)
        errors.push(new DockerfileError("DOCKERFILE_FLAG", problem, position));
    }
  }
  for (const use of uses) {
    if (use.kind !== "stage" || use.use === "base" || use.stage < stage.index) continue;
    if (use.use === "copy") {
      errors.push(
        new DockerfileError(
          "UNKNOWN_STAGE",
          `cannot copy from stage ${quoteGo(use.reference)}, it needs to be defined before current stage ${quoteGo(stage.id)}`,
          use.position,
          { hint: "Move the stage it copies from above this one." },
        ),
      );
    } else if (use.reference !== "" || use.type === "cache") {
      errors.push(
        new DockerfileError(
          "UNKNOWN_STAGE",
          `cannot mount from stage ${quoteGo(use.reference === "" ? "scratch" : use.reference)} to ${quoteGo(use.target ?? "")}, stage needs to be defined before current command`,
          use.position,
          { hint: "Move the stage it mounts from above this one." },
        ),
      );
    }
  }
  return errors;
}

function summarize(
  stage: DockerfileStage,
  own: ResolvedFrom,
  uses: readonly Use[],
  triggers: { instructions: readonly Instruction[]; errors: readonly DockerfileError[] },
  dispatchErrors: readonly DockerfileError[],
): GraphStage {
  const dependencies: StageDependency[] = [];
  const imageUses: ImageUse[] = [];
  for (const use of uses) {
    if (use.kind === "stage") {
      dependencies.push({
        kind: use.use,
        stage: use.stage,
        reference: use.reference,
        onbuild: use.onbuild,
        position: use.position,
      });
    } else {
      imageUses.push({
        kind: use.use,
        reference: use.reference,
        onbuild: use.onbuild,
        position: use.position,
      });
    }
  }
  return {
    index: own.index,
    name: own.name,
    id: own.id,
    position: own.position,
    from: stage.from.baseName,
    baseName: own.baseName,
    platform: stage.from.platform,
    resolvedPlatform: own.resolvedPlatform,
    base: own.base,
    dependencies,
    dependsOn: [...new Set(dependencies.map((dependency) => dependency.stage))],
    imageUses,
    externalImages: [...new Set(imageUses.map((use) => use.reference))],
    instructions: stage.instructions,
    inheritedTriggers: triggers.instructions,
    triggerErrors: triggers.errors,
    dispatchErrors,
  };
}

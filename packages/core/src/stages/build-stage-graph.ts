import { DockerfileError, UsageError, type SourcePosition } from "../errors.js";
import type { DockerfileAst, EscapeToken } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import { parseGoInt, quoteGo } from "../dockerfile/go/strconv.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import type { DockerfileStage, Instruction, RunMount } from "../dockerfile/instructions.js";
import { parseInstruction, parseInstructions } from "../dockerfile/parse-instructions.js";
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

  // FROM sees only earlier stages: the latest earlier stage of each name, filled in file order.
  const earlierByName = new Map<string, number>();
  const globalArgNames = lazy(() => [...globalArgs.keys()]);
  const resolved = parsed.stages.map((stage) => {
    const own = resolveFrom(
      stage,
      earlierByName,
      globalArgs,
      globalArgNames,
      escapeToken,
      buildPlatform,
    );
    if (stage.from.stageName !== undefined) earlierByName.set(stage.from.stageName, stage.index);
    return own;
  });
  const lookup: StageLookup = { stages: resolved, byName: lastStageByName(resolved) };
  if (targets.length > 1 && resolved.some((stage) => stage.usesTargetStage)) {
    warnings.push({
      rule: "TargetStageVaries",
      message: `TARGETSTAGE is used in FROM; the graph uses its value for the first target "${targets[0] ?? ""}"`,
      position: lastStage.from.position,
    });
  }
  for (const target of targets) findTargetStage(resolved, target);

  // Only COPY --from and RUN --mount use other stages or images, or can fail at dispatch: keep
  // those, reading each instruction once (instruction objects come in many shapes).
  const stageCommands = parsed.stages.map((stage) => {
    const commands: Command[] = [];
    for (const instruction of stage.instructions) {
      const command = commandOf(instruction, lookup, escapeToken, false, undefined);
      if (command !== undefined) commands.push(command);
    }
    return commands;
  });
  checkCycles(resolved, stageCommands);

  const buildErrors: DockerfileError[] = [];
  for (const stage of resolved) {
    if (stage.base.kind === "image") {
      const error = referenceError(stage.baseName, stage.position);
      if (error !== undefined) buildErrors.push(error);
    }
  }
  for (const commands of stageCommands) {
    for (const { uses } of commands) {
      for (const use of uses) {
        if (use.kind === "image") {
          const error = referenceError(use.reference, use.position);
          if (error !== undefined) buildErrors.push(error);
        }
      }
    }
  }

  const triggerCache = new Map<number, InheritedTriggers>();
  const stages = parsed.stages.map((stage, index): GraphStage => {
    const own = resolved[index] ?? unreachable();
    const triggers = inheritTriggers(own, parsed.stages, triggerCache, lookup, escapeToken);
    const commands = stageCommands[index] ?? [];
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
    for (const command of triggers.commands) appendAll(uses, command.uses);
    for (const command of commands) appendAll(uses, command.uses);
    // Triggers run first, at the FROM of the inheriting stage; then the stage's own instructions.
    const dispatchErrors: DockerfileError[] = [];
    for (const command of triggers.commands) {
      appendAll(dispatchErrors, commandDispatchErrors(own, command));
    }
    for (const command of commands) appendAll(dispatchErrors, commandDispatchErrors(own, command));
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

/** The resolved stages, and the last index of each name (what `--from` and `from=` find). */
interface StageLookup {
  readonly stages: readonly ResolvedFrom[];
  readonly byName: ReadonlyMap<string, number>;
}

/** An ONBUILD trigger of a stage, parsed once for all the stages that inherit it. */
type ParsedTrigger =
  | { readonly ok: true; readonly instruction: Instruction }
  | { readonly ok: false; readonly error: DockerfileError };

/** A base stage's ONBUILD expressions, and each one parsed once first needed. */
interface InheritedTriggers {
  readonly expressions: readonly string[];
  readonly parsed: (ParsedTrigger | undefined)[];
}

function unreachable(): never {
  throw new Error("stage index out of range");
}

/** Appends without spreading arguments (a spread of a huge array overflows the call stack). */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/** A value computed on first use. */
function lazy<T>(compute: () => T): () => T {
  let value: { readonly current: T } | undefined;
  return () => (value ??= { current: compute() }).current;
}

function lastStageByName(stages: readonly ResolvedFrom[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (const stage of stages) if (stage.name !== undefined) byName.set(stage.name, stage.index);
  return byName;
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
  earlierByName: ReadonlyMap<string, number>,
  globalArgs: ReadonlyMap<string, string>,
  globalArgNames: () => readonly string[],
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
      { hint: "Give the ARG used in FROM a default, or pass it as a build arg." },
    );
  }
  let usesTargetStage = usesName(expanded, "TARGETSTAGE");
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
    usesTargetStage ||= usesName(platform, "TARGETSTAGE");
    // Only an error needs the suggestion (a scan of every global arg name).
    const suggestion = (): string | undefined =>
      suggestUnmatched(platform.unmatched, globalArgNames());
    if (platform.value === "") {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        withSuggestion(`empty platform value from expression ${from.platform}`, suggestion()),
        position,
      );
    }
    const parsedPlatform = parsePlatform(platform.value, buildPlatform);
    if (!parsedPlatform.ok) {
      throw new DockerfileError(
        "DOCKERFILE_FLAG",
        `failed to parse platform ${from.platform}: ${withSuggestion(parsedPlatform.message, suggestion())}`,
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
  const earlier = earlierByName.get(expanded.value);
  const base: StageBase =
    earlier !== undefined
      ? { kind: "stage", index: earlier }
      : expanded.value === "scratch"
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

function usesName(expansion: { matched: string[]; unmatched: string[] }, name: string): boolean {
  return expansion.matched.includes(name) || expansion.unmatched.includes(name);
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
function findStageByName(lookup: StageLookup, name: string): number | undefined {
  return lookup.byName.get(toLowerGo(name));
}

/**
 * An instruction that uses another stage or an image, or has mounts to validate: a COPY with
 * `--from`, a RUN with `--mount`s. Other instructions neither depend on anything nor fail here.
 */
interface Command {
  /** Where errors are reported: the instruction, or for a trigger the inheriting FROM. */
  readonly position: SourcePosition;
  readonly mounts: readonly RunMount[];
  readonly uses: readonly Use[];
}

/**
 * BuildKit's `toCommand` + `detectRunMount` for one instruction: the command it makes, or
 * undefined when it uses nothing and has no mounts. `position` defaults to the instruction's.
 */
function commandOf(
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
  // Go's `strconv.Atoi`: a 64-bit base-10 int is an index, anything else a name.
  const index = parseGoInt(from, 64);
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
const noUses: readonly Use[] = [];

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
function checkCycles(
  stages: readonly ResolvedFrom[],
  commands: readonly (readonly Command[])[],
): void {
  const edges = commands.map((list) => {
    const byStage = new Map<number, SourcePosition>();
    for (const { uses } of list) {
      for (const use of uses) {
        if (use.kind === "stage" && !byStage.has(use.stage)) byStage.set(use.stage, use.position);
      }
    }
    return [...byStage];
  });
  const visited = new Uint8Array(stages.length);
  const onPath = new Uint8Array(stages.length);
  // An explicit stack (a chain of thousands of stages must not overflow the call stack). The error
  // is reported at the first edge of the path from the starting stage, so only that is kept.
  interface Frame {
    readonly stage: number;
    next: number;
    readonly first: SourcePosition | undefined;
  }
  const visit = (start: number): SourcePosition | undefined => {
    if (visited[start] === 1) return undefined;
    visited[start] = 1;
    onPath[start] = 1;
    const stack: Frame[] = [{ stage: start, next: 0, first: undefined }];
    for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
      const [target, position] = edges[frame.stage]?.[frame.next] ?? [];
      if (target === undefined || position === undefined) {
        onPath[frame.stage] = 0;
        stack.pop();
        continue;
      }
      frame.next++;
      const first = frame.first ?? position;
      if (onPath[target] === 1) return first;
      if (visited[target] === 1) continue;
      visited[target] = 1;
      onPath[target] = 1;
      stack.push({ stage: target, next: 0, first });
    }
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.index);
    if (cycle !== undefined) {
      throw new DockerfileError(
        "STAGE_CYCLE",
        `circular dependency detected on stage: ${stage.id}`,
        cycle,
        { hint: "A stage cannot copy or mount from itself or from a stage that depends on it." },
      );
    }
  }
}

function referenceError(reference: string, position: SourcePosition): DockerfileError | undefined {
  const problem = validateImageReference(reference);
  if (problem === undefined) return undefined;
  return new DockerfileError(
    "INVALID_IMAGE_REFERENCE",
    `failed to parse stage name ${quoteGo(reference)}: ${problem}`,
    position,
    { hint: "Image names are lower-case; a FROM naming a stage must match its AS name exactly." },
  );
}

/**
 * The ONBUILD triggers a stage inherits from its base stage (only the direct base's own), parsed
 * as BuildKit does when the stage is built; their `--from`s become this stage's dependencies.
 * `uses` holds one list per trigger in `instructions`. Each trigger is parsed once, on first need,
 * for all the stages that inherit it (`cache`, by base stage index).
 */
function inheritTriggers(
  stage: ResolvedFrom,
  all: readonly DockerfileStage[],
  cache: Map<number, InheritedTriggers>,
  lookup: StageLookup,
  escapeToken: EscapeToken,
): { instructions: Instruction[]; commands: Command[]; errors: DockerfileError[] } {
  const result = {
    instructions: [] as Instruction[],
    commands: [] as Command[],
    errors: [] as DockerfileError[],
  };
  if (stage.base.kind !== "stage") return result;
  const parentIndex = stage.base.index;
  let inherited = cache.get(parentIndex);
  if (inherited === undefined) {
    inherited = { expressions: onbuildExpressions(all[parentIndex]), parsed: [] };
    cache.set(parentIndex, inherited);
  }
  const { expressions, parsed } = inherited;
  for (const [index, expression] of expressions.entries()) {
    try {
      const trigger = (parsed[index] ??= parseTriggerOnce(expression));
      if (!trigger.ok) throw trigger.error;
      const command = commandOf(trigger.instruction, lookup, escapeToken, true, stage.position);
      result.instructions.push(trigger.instruction);
      if (command !== undefined) result.commands.push(command);
      for (const use of command?.uses ?? noUses) {
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

function onbuildExpressions(stage: DockerfileStage | undefined): string[] {
  const expressions: string[] = [];
  for (const instruction of stage?.instructions ?? []) {
    if (instruction.kind === "onbuild") expressions.push(instruction.expression);
  }
  return expressions;
}

/** A trigger parsed, or the DockerfileError it raises (any other error is thrown). */
function parseTriggerOnce(expression: string): ParsedTrigger {
  try {
    // The position is replaced by the inheriting stage's FROM when the error is reported.
    return { ok: true, instruction: parseTrigger(expression, { line: 1, column: 1 }) };
  } catch (error) {
    if (error instanceof DockerfileError) return { ok: false, error };
    throw error;
  }
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
function commandDispatchErrors(stage: ResolvedFrom, command: Command): DockerfileError[] {
  const errors: DockerfileError[] = [];
  for (const mount of command.mounts) {
    const problem = validateMount(mount.fields);
    if (problem !== undefined) {
      errors.push(new DockerfileError("DOCKERFILE_FLAG", problem, command.position));
    }
  }
  for (const use of command.uses) {
    if (use.kind !== "stage" || use.use === "base" || use.stage < stage.index) continue;
    if (use.use === "copy") {
      errors.push(
        new DockerfileError(
          "STAGE_ORDER",
          `cannot copy from stage ${quoteGo(use.reference)}, it needs to be defined before current stage ${quoteGo(stage.id)}`,
          use.position,
          { hint: "Move the stage it copies from above this one." },
        ),
      );
    } else if (use.reference !== "" || use.type === "cache") {
      errors.push(
        new DockerfileError(
          "STAGE_ORDER",
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

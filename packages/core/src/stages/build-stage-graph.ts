import { DockerfileError, UsageError } from "../errors.js";
import type { DockerfileAst } from "../dockerfile/ast.js";
import { quoteGo } from "../dockerfile/go/strconv.js";
import type { DockerfileStage, Instruction } from "../dockerfile/instructions.js";
import { parseInstructions } from "../dockerfile/parse-instructions.js";
import { checkCycles } from "./check-cycles.js";
import {
  baseUses,
  lastStageByName,
  stageCommandsOf,
  type StageLookup,
  type Use,
} from "./collect-uses.js";
import { commandDispatchErrors, imageReferenceErrors } from "./dispatch-errors.js";
import { findTargetStage } from "./find-target-stage.js";
import { inheritTriggers, type InheritedTriggers } from "./inherit-triggers.js";
import { defaultPlatform, parsePlatform, type Platform } from "./parse-platform.js";
import { resolveFroms, type ResolvedFrom } from "./resolve-from.js";
import { resolveGlobalArgs } from "./resolve-global-args.js";
import type {
  GraphStage,
  ImageUse,
  StageDependency,
  StageGraph,
  StageGraphWarning,
} from "./stage-graph.js";
import { toBuildArgMap } from "./to-build-arg-map.js";

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
   * `undefined` is the default target (the last stage), e.g. for a bake target that names none
   * among others that do.
   */
  readonly targets?: readonly (string | undefined)[];
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
  const buildArgs = toBuildArgMap(options.buildArgs);
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

  const resolved = resolveFroms(parsed.stages, globalArgs, escapeToken, buildPlatform);
  const lookup: StageLookup = { stages: resolved, byName: lastStageByName(resolved) };
  if (targets.length > 1 && resolved.some((stage) => stage.usesTargetStage)) {
    warnings.push({
      rule: "TargetStageVaries",
      message: `TARGETSTAGE is used in FROM; the graph uses its value for the first target "${targetStage}"`,
      position: lastStage.from.position,
    });
  }
  for (const target of targets) if (target !== undefined) findTargetStage(resolved, target);

  const stageCommands = parsed.stages.map((stage) => stageCommandsOf(stage, lookup, escapeToken));
  checkCycles(resolved, stageCommands);
  const buildErrors = imageReferenceErrors(resolved, stageCommands);

  const triggerCache = new Map<number, InheritedTriggers>();
  const stages = parsed.stages.map((stage, index): GraphStage => {
    const own = resolved[index] ?? unreachable();
    const triggers = inheritTriggers(own, parsed.stages, triggerCache, lookup, escapeToken);
    const commands = stageCommands[index] ?? [];
    const uses: Use[] = baseUses(own);
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

function unreachable(): never {
  throw new Error("stage index out of range");
}

/** Appends without spreading arguments (a spread of a huge array overflows the call stack). */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
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

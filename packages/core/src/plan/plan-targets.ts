import type { DockerfileError } from "../errors.js";
import { findTargetStage } from "../stages/find-target-stage.js";
import type { StageGraph } from "../stages/stage-graph.js";

/** One requested target and what BuildKit builds for it. */
export interface TargetPlan {
  /** The target as the user wrote it; undefined for the default target (the last stage). */
  readonly requested: string | undefined;
  /** The index of the target stage. */
  readonly stage: number;
  /** The target stage's id (its name, or `stage-<index>`). */
  readonly id: string;
  /** The stages BuildKit builds for this target (nothing else), in file order. */
  readonly reachable: readonly number[];
  /**
   * The error BuildKit would stop this build with although the Dockerfile parsed, e.g. an invalid
   * image reference or a `--from` a later stage; undefined when none is known statically.
   */
  readonly buildError: DockerfileError | undefined;
}

/** What to build for a set of targets, and in which order. */
export interface TargetsPlan {
  readonly graph: StageGraph;
  /** One per distinct target stage, in the order requested (the default target when none). */
  readonly targets: readonly TargetPlan[];
  /** The union of the targets' reachable stages, in file order. */
  readonly stages: readonly number[];
  /** The stages that more than one target needs, in file order. */
  readonly shared: readonly number[];
  /** The union in a dependency order: by level, then by file order. */
  readonly order: readonly number[];
  /** The union by level: 0 = needs no other stage; n = longest path of n edges to such a stage. */
  readonly levels: readonly (readonly number[])[];
  /** The external images the union needs (bases and `--from` images), each once, in file order. */
  readonly externalImages: readonly string[];
}

/**
 * Plans one or several targets: the stages each one needs (BuildKit builds nothing else), their
 * union, the stages they share, a dependency order with levels, and the images to resolve.
 * Targets match stage names case-insensitively; none, or `undefined` among them, means the last
 * stage.
 *
 * @example
 * const plan = planTargets(graph, ["test", "app"]);
 * plan.shared.map((index) => graph.stages[index]?.id); // e.g. ["deps", "build"]
 * @throws UnknownStageError when a target names no stage, with the closest name as a suggestion.
 */
export function planTargets(
  graph: StageGraph,
  targets: readonly (string | undefined)[] = [],
): TargetsPlan {
  const requested: (string | undefined)[] = targets.length === 0 ? [undefined] : [...targets];
  const plans: TargetPlan[] = [];
  const seen = new Set<number>();
  for (const target of requested) {
    const stage =
      target === undefined ? graph.defaultTarget : findTargetStage(graph.stages, target);
    if (seen.has(stage)) continue;
    seen.add(stage);
    const reachable = reachableFrom(graph, stage);
    plans.push({
      // The unnamed last stage, asked for by its id, is the default target (no `target=`).
      requested: graph.stages[stage]?.name === undefined ? undefined : target,
      stage,
      id: graph.stages[stage]?.id ?? "",
      reachable,
      buildError: firstBuildError(graph, reachable),
    });
  }

  const useCount = new Map<number, number>();
  for (const plan of plans) {
    for (const stage of plan.reachable) useCount.set(stage, (useCount.get(stage) ?? 0) + 1);
  }
  const stages = [...useCount.keys()].sort((a, b) => a - b);
  const shared = stages.filter((stage) => (useCount.get(stage) ?? 0) > 1);
  const level = levelsOf(graph, stages);
  const order = [...stages].sort((a, b) => (level.get(a) ?? 0) - (level.get(b) ?? 0) || a - b);
  const levels: number[][] = [];
  for (const stage of order) (levels[level.get(stage) ?? 0] ??= []).push(stage);
  const externalImages = [
    ...new Set(stages.flatMap((stage) => graph.stages[stage]?.externalImages ?? [])),
  ];
  return { graph, targets: plans, stages, shared, order, levels, externalImages };
}

/** The stages a target needs: the closure over bases and dependencies, in file order. */
function reachableFrom(graph: StageGraph, target: number): number[] {
  const found = new Uint8Array(graph.stages.length);
  const pending = [target];
  const reachable: number[] = [];
  for (let stage = pending.pop(); stage !== undefined; stage = pending.pop()) {
    if (found[stage] === 1) continue;
    found[stage] = 1;
    reachable.push(stage);
    for (const dependency of graph.stages[stage]?.dependsOn ?? []) pending.push(dependency);
  }
  return reachable.sort((a, b) => a - b);
}

/** BuildKit's order: image references (all stages), then ONBUILD triggers, then dispatch. */
function firstBuildError(
  graph: StageGraph,
  reachable: readonly number[],
): DockerfileError | undefined {
  const stages = reachable.flatMap((index) => graph.stages[index] ?? []);
  return (
    graph.buildErrors[0] ??
    stages.find((stage) => stage.triggerErrors.length > 0)?.triggerErrors[0] ??
    stages.find((stage) => stage.dispatchErrors.length > 0)?.dispatchErrors[0]
  );
}

/**
 * Level = longest number of dependency edges down to a stage without dependencies. An edge that
 * closes a loop (only possible through inherited ONBUILD triggers, which BuildKit does not check
 * for cycles and whose build fails) is ignored.
 */
function levelsOf(graph: StageGraph, stages: readonly number[]): Map<number, number> {
  const level = new Map<number, number>();
  const inProgress = new Uint8Array(graph.stages.length);
  // A depth-first walk on an explicit stack: a chain of thousands of bases must not overflow it.
  interface Frame {
    readonly stage: number;
    next: number;
    deepest: number;
  }
  for (const root of stages) {
    if (level.has(root)) continue;
    inProgress[root] = 1;
    const stack: Frame[] = [{ stage: root, next: 0, deepest: -1 }];
    for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
      const dependsOn = graph.stages[frame.stage]?.dependsOn ?? [];
      if (frame.next < dependsOn.length) {
        const dependency = dependsOn[frame.next++] ?? 0;
        if (inProgress[dependency] === 1) continue;
        const known = level.get(dependency);
        if (known !== undefined) {
          frame.deepest = Math.max(frame.deepest, known);
          continue;
        }
        inProgress[dependency] = 1;
        stack.push({ stage: dependency, next: 0, deepest: -1 });
        continue;
      }
      inProgress[frame.stage] = 0;
      level.set(frame.stage, frame.deepest + 1);
      stack.pop();
      const parent = stack.at(-1);
      if (parent !== undefined) parent.deepest = Math.max(parent.deepest, frame.deepest + 1);
    }
  }
  return level;
}

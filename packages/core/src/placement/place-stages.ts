import { UsageError } from "../errors.js";
import type { TargetsPlan } from "../plan/plan-targets.js";
import type { StageCost } from "./estimate-stage-costs.js";
import { improveSchedule } from "./improve-schedule.js";
import { scheduleInOrder, type Schedule, type ScheduleModel } from "./schedule-stages.js";

/** An engine of a pool, as placement sees it: a name, how much it builds at once, what it holds. */
export interface PoolEngine {
  readonly name: string;
  /** How many stages it builds at once (its share of a machine's CPUs, in stages); at least 1. */
  readonly capacity: number;
  /** Images (as written after `FROM`, expanded) it already has: no pull before using them. */
  readonly images?: readonly string[] | undefined;
  /** Stage ids whose cache it holds from an earlier run (e.g. the targets it built last). */
  readonly cachedStages?: readonly string[] | undefined;
}

/** How long moving a stage's result between two engines takes: push by digest, then pull as a named context. */
export interface TransferModel {
  /** Per transfer: the push's and the importing build's round trips to the registry. */
  readonly fixedMs: number;
  /** Bytes a millisecond through the registry (push and pull together). */
  readonly bytesPerMs: number;
  /** Time to build a stage whose cache an engine already holds. */
  readonly cachedMs: number;
  /** Time to pull an external image an engine does not have (0: not known). */
  readonly missingImageMs: number;
}

/**
 * Measured on the loopback registry with Docker 26.1 (docs/decisions/placement.md): 117 MB pushed in
 * 10.4 s and pulled by another engine in 4.4 s; a 2 MB image in 0.15 s + 0.06 s.
 */
export const DEFAULT_TRANSFER: TransferModel = {
  fixedMs: 500,
  bytesPerMs: 8000,
  cachedMs: 100,
  missingImageMs: 0,
};

/** What {@link placeStages} needs. */
export interface PlacementInput {
  /** The requested targets and their stages (`analyzeDockerfile(...).plan`). */
  readonly plan: TargetsPlan;
  /** The pool; the first engine is the default one. */
  readonly engines: readonly PoolEngine[];
  /** Per stage index (`estimateStageCosts`). */
  readonly costs: readonly StageCost[];
  readonly transfer?: Partial<TransferModel> | undefined;
}

/** One stage of the plan, where and (as predicted) when it is built. */
export interface PlacedStage {
  readonly stage: number;
  readonly id: string;
  readonly engine: string;
  readonly startMs: number;
  readonly finishMs: number;
}

/** A stage built on one engine whose result other engines import (by digest, as a named context). */
export interface StageTransfer {
  readonly stage: number;
  readonly id: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly bytes: number;
  /** Predicted time of one transfer. */
  readonly ms: number;
}

/** Which engine builds what, what travels between engines, and the predicted times. */
export interface Placement {
  readonly engines: readonly string[];
  /** Per requested target: the engine its image is built on. */
  readonly targets: readonly { readonly target: string; readonly engine: string }[];
  /** Every planned stage, in the order placed. */
  readonly stages: readonly PlacedStage[];
  readonly transfers: readonly StageTransfer[];
  /** When the last stage ends, as predicted. */
  readonly makespanMs: number;
  /** Predicted time each engine spends building (all its slots together). */
  readonly busyMs: Readonly<Record<string, number>>;
  /** No placement can beat the larger of these (transfers ignored). */
  readonly bounds: {
    readonly criticalPathMs: number;
    readonly workPerCapacityMs: number;
    readonly lowerBoundMs: number;
  };
}

/**
 * Places the planned stages on a pool of engines: each stage, most urgent first (longest path to
 * the end of the run, its own time included), goes to the engine where it would finish first,
 * counting the time to bring it the results of its dependencies built elsewhere, the engine's free
 * slots, the images it lacks and the cache it holds. A stage needed on several engines is built once
 * and travels to the others (a transfer). A target is built where its own stage is placed.
 *
 * @example
 * const placement = placeStages({ plan: analysis.plan, engines: [{ name: "a", capacity: 2 }, { name: "b", capacity: 2 }], costs: estimateStageCosts(analysis.graph) });
 * placement.targets; // [{ target: "app", engine: "a" }, { target: "test", engine: "b" }]
 * @throws UsageError for an empty pool, a repeated engine name or a capacity below 1.
 */
export function placeStages(input: PlacementInput): Placement {
  return placeStagesWith(input, { searchEvaluations: SEARCH_EVALUATIONS });
}

/**
 * {@link placeStages} with the local search's budget given (0: list scheduling alone), and with
 * `kicks` the budget spent in full on restarts (the bench's long search).
 */
export function placeStagesWith(
  input: PlacementInput,
  options: { readonly searchEvaluations: number; readonly kicks?: boolean },
): Placement {
  const placementModel = modelPlacement(input);
  const { engines, dependencies, dependents, position, id, timeOn, moveMs, bestTime, model } =
    placementModel;
  const { plan, costs } = input;
  const meanTime = (stage: number): number =>
    engines.reduce((sum, _, engine) => sum + timeOn(stage, engine), 0) / engines.length;
  const schedule = (weight: number, used: number): { order: number[]; schedule: Schedule } => {
    // Upward rank: the stage's mean time plus the longest chain after it, transfers weighted.
    const rank = new Map<number, number>();
    for (const stage of [...plan.order].reverse()) {
      const after = (dependents.get(stage) ?? []).map(
        (next) => weight * moveMs(stage) + (rank.get(next) ?? 0),
      );
      rank.set(stage, meanTime(stage) + Math.max(0, ...after));
    }
    const order = [...plan.order].sort(
      (a, b) =>
        (rank.get(b) ?? 0) - (rank.get(a) ?? 0) || (position.get(a) ?? 0) - (position.get(b) ?? 0),
    );
    return { order, schedule: scheduleInOrder(order, model(used)) };
  };
  // The chance that the next stage lands elsewhere weights the transfers; other weights, and the
  // pool's first 1, 2, … engines only, are tried too (a greedy choice that spreads a stage can make
  // a later one wait for a transfer), and the shortest schedule kept (each takes under 0.1 ms).
  const share = engines.length === 1 ? 0 : (engines.length - 1) / engines.length;
  const tried = [share, 0, 1, 2].flatMap((weight) =>
    engines.map((_, index) => schedule(weight, index + 1)),
  );
  const listed = tried.reduce((best, next) =>
    next.schedule.makespanMs < best.schedule.makespanMs ? next : best,
  );
  // Then moves of single stages, of a target's own chain, and swaps, while the schedule shortens.
  const chosen = improveSchedule(listed.order, model(engines.length), listed.schedule, {
    maxEvaluations: options.searchEvaluations,
    kicks: options.kicks,
    chains: privateChains(plan, dependencies),
  }).schedule;
  const { placedOn, arrival, busy } = chosen;
  const placed: PlacedStage[] = chosen.placed.map((entry) => ({
    stage: entry.stage,
    id: id(entry.stage),
    engine: engines[entry.engine]?.name ?? "",
    startMs: entry.startMs,
    finishMs: entry.finishMs,
  }));

  const name = (engine: number): string => engines[engine]?.name ?? "";
  const transfers: StageTransfer[] = plan.order.flatMap((stage) => {
    const to = [...(arrival.get(stage)?.keys() ?? [])].sort((a, b) => a - b);
    if (to.length === 0) return [];
    return [
      {
        stage,
        id: id(stage),
        from: name(placedOn.get(stage) ?? 0),
        to: to.map(name),
        bytes: Math.max(0, costs[stage]?.sizeBytes ?? 0),
        ms: moveMs(stage),
      },
    ];
  });

  // Lower bounds: the longest chain at each stage's best time; all the work spread over every slot.
  const chain = new Map<number, number>();
  for (const stage of plan.order) {
    const before = (dependencies.get(stage) ?? []).map((dependency) => chain.get(dependency) ?? 0);
    chain.set(stage, Math.max(0, ...before) + bestTime(stage));
  }
  const criticalPathMs = Math.max(0, ...chain.values());
  const capacity = engines.reduce((sum, engine) => sum + engine.capacity, 0);
  const workPerCapacityMs = plan.order.reduce((sum, stage) => sum + bestTime(stage), 0) / capacity;

  return {
    engines: engines.map((engine) => engine.name),
    targets: plan.targets.map((target) => ({
      target: target.id,
      engine: name(placedOn.get(target.stage) ?? 0),
    })),
    stages: placed,
    transfers,
    makespanMs: chosen.makespanMs,
    busyMs: Object.fromEntries(engines.map((engine, index) => [engine.name, busy[index] ?? 0])),
    bounds: {
      criticalPathMs,
      workPerCapacityMs,
      lowerBoundMs: Math.max(criticalPathMs, workPerCapacityMs),
    },
  };
}

/** The numbers placement works on: edges within the plan, each stage's time per engine, its move. */
export interface PlacementModel {
  readonly engines: readonly PoolEngine[];
  readonly dependencies: ReadonlyMap<number, readonly number[]>;
  readonly dependents: ReadonlyMap<number, readonly number[]>;
  readonly position: ReadonlyMap<number, number>;
  readonly id: (stage: number) => string;
  readonly timeOn: (stage: number, engine: number) => number;
  readonly moveMs: (stage: number) => number;
  readonly bestTime: (stage: number) => number;
  /** The schedule model on the pool's first `used` engines. */
  readonly model: (used: number) => ScheduleModel;
}

/**
 * The model {@link placeStages} schedules on, for the bounds and searches that judge it.
 * @throws UsageError as {@link placeStages}.
 */
export function modelPlacement(input: PlacementInput): PlacementModel {
  const { plan, costs } = input;
  const engines = checkEngines(input.engines);
  const transfer = { ...DEFAULT_TRANSFER, ...input.transfer };
  const graph = plan.graph;
  const id = (stage: number): string => graph.stages[stage]?.id ?? `stage-${stage}`;
  const duration = (stage: number): number => Math.max(0, costs[stage]?.durationMs ?? 0);
  const computeMoveMs = (stage: number): number =>
    transfer.fixedMs + Math.max(0, costs[stage]?.sizeBytes ?? 0) / transfer.bytesPerMs;

  // Edges within the plan, in dependency order only (a loop through ONBUILD triggers is dropped).
  const position = new Map(plan.order.map((stage, index) => [stage, index]));
  const dependencies = new Map<number, number[]>();
  const dependents = new Map<number, number[]>();
  for (const stage of plan.order) {
    const own = (graph.stages[stage]?.dependsOn ?? []).filter(
      (dependency) => (position.get(dependency) ?? Infinity) < (position.get(stage) ?? 0),
    );
    dependencies.set(stage, own);
    for (const dependency of own) {
      const list = dependents.get(dependency);
      if (list === undefined) dependents.set(dependency, [stage]);
      else list.push(stage);
    }
  }

  const cached = engines.map((engine) => new Set(engine.cachedStages ?? []));
  const images = engines.map((engine) => new Set(engine.images ?? []));
  const computeTimeOn = (stage: number, engine: number): number => {
    const base =
      cached[engine]?.has(id(stage)) === true
        ? Math.min(transfer.cachedMs, duration(stage))
        : duration(stage);
    const missing = (graph.stages[stage]?.externalImages ?? []).filter(
      (image) => images[engine]?.has(image) !== true,
    ).length;
    return base + missing * transfer.missingImageMs;
  };
  // Tables: the searches ask for these times millions of times.
  const stageCount = graph.stages.length;
  const times = new Float64Array(stageCount * engines.length);
  const moves = new Float64Array(stageCount);
  const bests = new Float64Array(stageCount);
  for (let stage = 0; stage < stageCount; stage++) {
    moves[stage] = computeMoveMs(stage);
    bests[stage] = Infinity;
    for (let engine = 0; engine < engines.length; engine++) {
      const value = computeTimeOn(stage, engine);
      times[stage * engines.length + engine] = value;
      bests[stage] = Math.min(bests[stage] ?? Infinity, value);
    }
  }
  const timeOn = (stage: number, engine: number): number =>
    times[stage * engines.length + engine] ?? computeTimeOn(stage, engine);
  const moveMs = (stage: number): number => moves[stage] ?? computeMoveMs(stage);
  const bestTime = (stage: number): number => bests[stage] ?? 0;

  const model = (used: number): ScheduleModel => ({
    capacity: engines.slice(0, used).map((engine) => engine.capacity),
    dependencies: (stage) => dependencies.get(stage) ?? [],
    timeOn,
    moveMs,
  });
  return {
    engines,
    dependencies,
    dependents,
    position,
    id,
    timeOn,
    moveMs,
    bestTime,
    model,
  };
}

function checkEngines(engines: readonly PoolEngine[]): readonly PoolEngine[] {
  if (engines.length === 0) throw new UsageError("a pool needs at least one engine");
  const seen = new Set<string>();
  for (const engine of engines) {
    if (seen.has(engine.name)) {
      throw new UsageError(`engine "${engine.name}" is named twice in the pool`, {
        hint: "Give each engine its own name.",
      });
    }
    seen.add(engine.name);
    if (!Number.isInteger(engine.capacity) || engine.capacity < 1) {
      throw new UsageError(
        `engine "${engine.name}" has capacity ${engine.capacity}; it must be a whole number of at least 1`,
      );
    }
  }
  return engines;
}

/**
 * Schedules the local search evaluates at most per placement: each is one list-scheduling pass
 * (about 35 µs of CPU for 46 stages on 8 engines, less when cut short), so a placement of that
 * size takes 14–21 ms of CPU on a machine at load 8–10 (docs/decisions/placement.md); 1000 gained
 * 0.01 on one worst case for 25 % more time.
 */
export const SEARCH_EVALUATIONS = 700;

/** Per target: its own stage and the stages of the plan that no other target needs. */
function privateChains(
  plan: TargetsPlan,
  dependencies: ReadonlyMap<number, readonly number[]>,
): number[][] {
  const closures = plan.targets.map((target) => {
    const seen = new Set<number>();
    const visit = (stage: number): void => {
      if (seen.has(stage)) return;
      seen.add(stage);
      for (const dependency of dependencies.get(stage) ?? []) visit(dependency);
    };
    visit(target.stage);
    return seen;
  });
  const needs = new Map<number, number>();
  for (const closure of closures) {
    for (const stage of closure) needs.set(stage, (needs.get(stage) ?? 0) + 1);
  }
  return closures.map((closure) =>
    plan.order.filter((stage) => closure.has(stage) && needs.get(stage) === 1),
  );
}

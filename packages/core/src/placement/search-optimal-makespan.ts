import { earliestGap } from "./schedule-stages.js";
import type { PlacementModel } from "./place-stages.js";

/** What {@link searchOptimalMakespan} found. */
export interface OptimalMakespan {
  /** The shortest makespan found (at most `upperMs`). */
  readonly makespanMs: number;
  /** Whether the search ran to its end: then no placement of the model is shorter. */
  readonly exact: boolean;
  readonly nodes: number;
}

/**
 * Branch and bound over every placement of the model: which stage next (in a topological order),
 * on which engine, each in the earliest slot gap after its inputs arrive. Any schedule of the
 * model is matched or beaten by one of these (list the stages by their start in it: each then
 * starts no later), so a finished search gives the optimum. Cuts: a partial schedule whose bound
 * reaches the best so far; of two adjacent stages on different engines that do not depend on each
 * other only one order (they commute); of the engines still unused and interchangeable, only the
 * first. For small graphs (up to about 10 stages); `maxNodes` ends it early (then `exact` is false).
 */
export function searchOptimalMakespan(
  model: PlacementModel,
  order: readonly number[],
  options: { readonly upperMs: number; readonly maxNodes: number },
): OptimalMakespan {
  const epsilon = 1e-6;
  const count = order.length;
  const engines = model.engines.length;
  // Per engine: the first engine it is interchangeable with (same capacity and holdings), so the
  // search tries one of a set of twins that nothing has been placed on yet.
  const holdings = model.engines.map((engine) =>
    JSON.stringify([
      engine.capacity,
      [...(engine.images ?? [])].sort(),
      [...(engine.cachedStages ?? [])].sort(),
    ]),
  );
  const classes = holdings.map((key) => holdings.indexOf(key));
  const local = new Map(order.map((stage, index) => [stage, index]));
  const deps = order.map((stage) =>
    (model.dependencies.get(stage) ?? []).flatMap((dependency) => {
      const index = local.get(dependency);
      return index === undefined ? [] : [index];
    }),
  );
  const best = order.map((stage) => model.bestTime(stage));
  const time = order.map((stage) =>
    Array.from({ length: engines }, (_, engine) => model.timeOn(stage, engine)),
  );
  const move = order.map((stage) => model.moveMs(stage));
  const dependents = order.map(() => [] as number[]);
  deps.forEach((own, stage) => {
    for (const dependency of own) dependents[dependency]?.push(stage);
  });
  const tail = new Array<number>(count).fill(0);
  for (let stage = count - 1; stage >= 0; stage--) {
    for (const next of dependents[stage] ?? []) {
      tail[stage] = Math.max(tail[stage] ?? 0, (best[next] ?? 0) + (tail[next] ?? 0));
    }
  }
  const slots = model.engines.map((engine) =>
    Array.from({ length: engine.capacity }, () => [] as { start: number; end: number }[]),
  );
  const totalSlots = model.engines.reduce((sum, engine) => sum + engine.capacity, 0);
  const engineOf = new Array<number>(count).fill(-1);
  const finish = new Array<number>(count).fill(0);
  const arrival = new Array<number>(count * engines).fill(-1);
  const used = new Array<number>(engines).fill(0);
  const waiting = deps.map((own) => own.length);
  let upper = options.upperMs;
  let nodes = 0;
  let stopped = false;

  const readyOn = (stage: number, engine: number): number => {
    let ready = 0;
    for (const dependency of deps[stage] ?? []) {
      const home = engineOf[dependency] ?? -1;
      const done = finish[dependency] ?? 0;
      const at =
        home === engine
          ? done
          : (arrival[dependency * engines + engine] ?? -1) >= 0
            ? (arrival[dependency * engines + engine] ?? 0)
            : done + (move[dependency] ?? 0);
      if (at > ready) ready = at;
    }
    return ready;
  };
  // Unplaced stages: the earliest each can start (inputs at their earliest, no transfer), plus the
  // chain after it; and all remaining work on the slot time left after the earliest of them.
  const bound = (makespan: number): number => {
    let lower = makespan;
    const start = new Array<number>(count).fill(0);
    let earliest = Infinity;
    let work = 0;
    for (let stage = 0; stage < count; stage++) {
      if ((engineOf[stage] ?? -1) >= 0) continue;
      let at = 0;
      for (const dependency of deps[stage] ?? []) {
        const done =
          (engineOf[dependency] ?? -1) >= 0
            ? (finish[dependency] ?? 0)
            : (start[dependency] ?? 0) + (best[dependency] ?? 0);
        if (done > at) at = done;
      }
      start[stage] = at;
      earliest = Math.min(earliest, at);
      work += best[stage] ?? 0;
      lower = Math.max(lower, at + (best[stage] ?? 0) + (tail[stage] ?? 0));
    }
    if (work > 0) {
      let taken = 0;
      for (const engine of slots) {
        for (const intervals of engine) {
          for (const interval of intervals) {
            taken += Math.max(0, interval.end - Math.max(interval.start, earliest));
          }
        }
      }
      lower = Math.max(lower, earliest + (work + taken) / totalSlots);
    }
    return lower;
  };

  const visit = (placed: number, previous: number, makespan: number): void => {
    if (stopped) return;
    nodes += 1;
    if (nodes > options.maxNodes) {
      stopped = true;
      return;
    }
    if (placed === count) {
      if (makespan < upper) upper = makespan;
      return;
    }
    if (bound(makespan) >= upper - epsilon) return;
    for (let stage = 0; stage < count; stage++) {
      if ((engineOf[stage] ?? -1) >= 0 || (waiting[stage] ?? 0) > 0) continue;
      for (let engine = 0; engine < engines; engine++) {
        if (previous >= 0 && stage < previous && engineOf[previous] !== engine) {
          if (!(deps[stage] ?? []).includes(previous)) continue;
        }
        if ((used[engine] ?? 0) === 0 && hasUnusedTwin(engine)) continue;
        place(stage, engine, placed, makespan);
        if (nodes > options.maxNodes) return;
      }
    }
  };
  const hasUnusedTwin = (engine: number): boolean => {
    const kind = classes[engine];
    for (let other = 0; other < engine; other++) {
      if (classes[other] === kind && (used[other] ?? 0) === 0) return true;
    }
    return false;
  };
  const place = (stage: number, engine: number, placed: number, makespan: number): void => {
    const ready = readyOn(stage, engine);
    const length = time[stage]?.[engine] ?? 0;
    const own = slots[engine] ?? [];
    let slot = 0;
    let start = Infinity;
    own.forEach((intervals, index) => {
      const at = earliestGap(intervals, ready, length);
      if (at < start) {
        start = at;
        slot = index;
      }
    });
    const end = start + length;
    if (Math.max(makespan, end + (tail[stage] ?? 0)) >= upper - epsilon) return;
    const arrived: number[] = [];
    for (const dependency of deps[stage] ?? []) {
      const key = dependency * engines + engine;
      if (engineOf[dependency] !== engine && (arrival[key] ?? -1) < 0) {
        arrival[key] = (finish[dependency] ?? 0) + (move[dependency] ?? 0);
        arrived.push(key);
      }
    }
    const intervals = own[slot] ?? [];
    const interval = { start, end };
    intervals.push(interval);
    intervals.sort((a, b) => a.start - b.start);
    engineOf[stage] = engine;
    finish[stage] = end;
    used[engine] = (used[engine] ?? 0) + 1;
    for (const next of dependents[stage] ?? []) waiting[next] = (waiting[next] ?? 0) - 1;

    visit(placed + 1, stage, Math.max(makespan, end));

    for (const next of dependents[stage] ?? []) waiting[next] = (waiting[next] ?? 0) + 1;
    used[engine] = (used[engine] ?? 0) - 1;
    finish[stage] = 0;
    engineOf[stage] = -1;
    intervals.splice(intervals.indexOf(interval), 1);
    for (const key of arrived) arrival[key] = -1;
  };

  visit(0, -1, 0);
  return { makespanMs: upper, exact: !stopped, nodes };
}

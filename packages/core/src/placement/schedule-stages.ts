// The placement's model of a run: stages on engines' slots, results moving between engines.

/** What a schedule is built from: per engine its slots, per stage its inputs and times. */
export interface ScheduleModel {
  /** Per engine that may be used: how many stages it builds at once. */
  readonly capacity: readonly number[];
  readonly dependencies: (stage: number) => readonly number[];
  readonly timeOn: (stage: number, engine: number) => number;
  /** Time to move a stage's result to another engine (once per engine, however many need it). */
  readonly moveMs: (stage: number) => number;
}

/** Stages on engines and slots, with predicted times. */
export interface Schedule {
  readonly placedOn: ReadonlyMap<number, number>;
  readonly finish: ReadonlyMap<number, number>;
  /** When a stage's result is available on an engine other than its own (after one transfer). */
  readonly arrival: ReadonlyMap<number, ReadonlyMap<number, number>>;
  readonly placed: readonly ScheduledStage[];
  readonly busy: readonly number[];
  readonly makespanMs: number;
  /** The sum of every stage's finish: among equal makespans, the smaller leaves more room. */
  readonly totalFinishMs: number;
}

export interface ScheduledStage {
  readonly stage: number;
  readonly engine: number;
  readonly slot: number;
  readonly startMs: number;
  readonly finishMs: number;
}

/**
 * List scheduling in the given order (a topological one): each stage on the engine where it ends
 * first (or on `engineOf`'s engine when given), in the earliest gap of one of its slots that is long
 * enough (insertion), after the results it needs have arrived. A stage that would end after
 * `cutMs` ends the pass: the schedule returned then has an infinite makespan (a search's shortcut).
 */
export function scheduleInOrder(
  order: readonly number[],
  model: ScheduleModel,
  engineOf?: ReadonlyMap<number, number>,
  cutMs = Infinity,
): Schedule {
  const engines = model.capacity.length;
  const size = Math.max(-1, ...order) + 1;
  // Per engine, per slot: busy intervals sorted by start. Arrays by stage: this runs in the searches.
  const slots = model.capacity.map((capacity) =>
    Array.from({ length: capacity }, () => [] as { start: number; end: number }[]),
  );
  const home = new Int32Array(size).fill(-1);
  const done = new Float64Array(size);
  const arrived = new Float64Array(size * engines).fill(-1);
  const placed: ScheduledStage[] = [];
  const busy = new Array<number>(engines).fill(0);
  let makespanMs = 0;
  let totalFinishMs = 0;
  for (const stage of order) {
    const dependencies = model.dependencies(stage);
    const fixed = engineOf?.get(stage);
    const first = fixed ?? 0;
    const last = fixed ?? engines - 1;
    let bestEngine = -1;
    let bestSlot = 0;
    let bestStart = 0;
    let bestEnd = Infinity;
    for (let engine = first; engine <= last; engine++) {
      let ready = 0;
      for (const dependency of dependencies) {
        const from = home[dependency] ?? -1;
        const finish = done[dependency] ?? 0;
        let at = finish;
        if (from >= 0 && from !== engine) {
          const known = arrived[dependency * engines + engine] ?? -1;
          at = known >= 0 ? known : finish + model.moveMs(dependency);
        }
        if (at > ready) ready = at;
      }
      const length = model.timeOn(stage, engine);
      const own = slots[engine] ?? [];
      for (let slot = 0; slot < own.length; slot++) {
        const start = earliestGap(own[slot] ?? [], ready, length);
        if (start + length < bestEnd) {
          bestEngine = engine;
          bestSlot = slot;
          bestStart = start;
          bestEnd = start + length;
        }
      }
    }
    if (bestEngine < 0) continue;
    if (bestEnd > cutMs) {
      makespanMs = Infinity;
      break;
    }
    for (const dependency of dependencies) {
      const from = home[dependency] ?? -1;
      const key = dependency * engines + bestEngine;
      if (from < 0 || from === bestEngine || (arrived[key] ?? -1) >= 0) continue;
      arrived[key] = (done[dependency] ?? 0) + model.moveMs(dependency);
    }
    const intervals = slots[bestEngine]?.[bestSlot] ?? [];
    let at = intervals.length;
    while (at > 0 && (intervals[at - 1]?.start ?? 0) > bestStart) at -= 1;
    intervals.splice(at, 0, { start: bestStart, end: bestEnd });
    busy[bestEngine] = (busy[bestEngine] ?? 0) + (bestEnd - bestStart);
    home[stage] = bestEngine;
    done[stage] = bestEnd;
    placed.push({
      stage,
      engine: bestEngine,
      slot: bestSlot,
      startMs: bestStart,
      finishMs: bestEnd,
    });
    if (bestEnd > makespanMs) makespanMs = bestEnd;
    totalFinishMs += bestEnd;
  }
  const placedOn = new Map<number, number>();
  const finish = new Map<number, number>();
  const arrival = new Map<number, Map<number, number>>();
  for (const entry of placed) {
    placedOn.set(entry.stage, entry.engine);
    finish.set(entry.stage, entry.finishMs);
    for (let engine = 0; engine < engines; engine++) {
      const at = arrived[entry.stage * engines + engine] ?? -1;
      if (at < 0) continue;
      const known = arrival.get(entry.stage) ?? new Map<number, number>();
      known.set(engine, at);
      arrival.set(entry.stage, known);
    }
  }
  return { placedOn, finish, arrival, placed, busy, makespanMs, totalFinishMs };
}

/** The earliest start at or after `ready` where `length` fits between the busy intervals. */
export function earliestGap(
  intervals: readonly { start: number; end: number }[],
  ready: number,
  length: number,
): number {
  let start = ready;
  for (const interval of intervals) {
    if (start + length <= interval.start) return start;
    start = Math.max(start, interval.end);
  }
  return start;
}

/** Whether `next` is the better schedule: a shorter makespan, or as short with less total finish. */
export function isBetterSchedule(next: Schedule, best: Schedule): boolean {
  const epsilon = 1e-6;
  if (next.makespanMs < best.makespanMs - epsilon) return true;
  return (
    next.makespanMs <= best.makespanMs + epsilon &&
    next.totalFinishMs < best.totalFinishMs - epsilon
  );
}

import {
  isBetterSchedule,
  scheduleInOrder,
  type Schedule,
  type ScheduleModel,
} from "./schedule-stages.js";
import { seededRandom } from "./seeded-random.js";

/** Limits and moves of {@link improveSchedule}. */
export interface ImproveOptions {
  /** Schedules evaluated at most (each one list-scheduling pass over every stage). */
  readonly maxEvaluations: number;
  /** Groups of stages moved together: a target's own stage with the stages only it needs. */
  readonly chains: readonly (readonly number[])[];
  /** Once no move helps, spend what is left of the budget kicking the best schedule and descending again. */
  readonly kicks?: boolean | undefined;
}

/** A neighbour of the current schedule: another stage order, or other engines. */
interface Move {
  readonly order?: readonly number[];
  readonly assignment?: Map<number, number>;
}

/** The schedule found and the work it took. */
export interface ImprovedSchedule {
  readonly schedule: Schedule;
  readonly evaluations: number;
  /** Moves kept (each one shortened the makespan, or kept it and lowered the total finish). */
  readonly moves: number;
}

/**
 * Local search after list scheduling: keeps the stage order and changes the engines, one move at a
 * time while the schedule gets better (a shorter makespan, or the same one with less total finish):
 * one stage to another engine, a whole chain to another engine, or two stages swapping engines.
 * Stages on the critical chain are tried first; with `kicks`, restarts from perturbed copies of
 * the best schedule while the budget lasts. Never returns a schedule worse than `start`.
 */
export function improveSchedule(
  order: readonly number[],
  model: ScheduleModel,
  start: Schedule,
  options: ImproveOptions,
): ImprovedSchedule {
  const engines = model.capacity.length;
  let evaluations = 0;
  let moves = 0;
  let best = start;
  let assignment = new Map(start.placedOn);
  let list = order;
  let current: Schedule | undefined;
  const evaluate = (next: Move): Schedule | undefined => {
    if (evaluations >= options.maxEvaluations) return undefined;
    evaluations += 1;
    // A schedule ending later than the current one cannot be better: stop it there.
    const cut = current === undefined ? Infinity : current.makespanMs + 1e-6;
    return scheduleInOrder(next.order ?? list, model, next.assignment ?? assignment, cut);
  };
  // The start as re-scheduled on its own engines (the same schedule when it came from this model).
  const again = evaluate({});
  current = again !== undefined && !isBetterSchedule(start, again) ? again : start;
  if (again !== undefined && isBetterSchedule(again, best)) best = again;

  const tryMoves = function* (schedule: Schedule): Generator<Move> {
    const critical = criticalChain(schedule, model);
    const rest = [...schedule.placed]
      .sort((a, b) => b.finishMs - a.finishMs)
      .map((entry) => entry.stage)
      .filter((stage) => !critical.includes(stage));
    const candidates = [...critical, ...rest];
    for (const stage of candidates) {
      for (let engine = 0; engine < engines; engine++) {
        if (assignment.get(stage) === engine) continue;
        yield { assignment: new Map(assignment).set(stage, engine) };
      }
    }
    for (const chain of options.chains) {
      if (chain.length < 2 || !chain.some((stage) => critical.includes(stage))) continue;
      for (let engine = 0; engine < engines; engine++) {
        if (chain.every((stage) => assignment.get(stage) === engine)) continue;
        const next = new Map(assignment);
        for (const stage of chain) next.set(stage, engine);
        yield { assignment: next };
      }
    }
    for (const stage of critical) {
      for (const other of candidates) {
        const here = assignment.get(stage);
        const there = assignment.get(other);
        if (here === undefined || there === undefined || here === there) continue;
        yield { assignment: new Map(assignment).set(stage, there).set(other, here) };
      }
    }
    // A critical stage earlier in the list (after its inputs): it then takes its slot first.
    for (const stage of critical) {
      const at = list.indexOf(stage);
      const inputs = model.dependencies(stage);
      let first = at;
      while (first > 0 && !inputs.includes(list[first - 1] ?? -1)) first -= 1;
      for (let to = first; to < at; to++) {
        const next = list.filter((other) => other !== stage);
        next.splice(to, 0, stage);
        yield { order: next };
      }
    }
  };

  const descend = (): void => {
    let improved = true;
    while (improved && evaluations < options.maxEvaluations && current !== undefined) {
      improved = false;
      for (const next of tryMoves(current)) {
        const schedule = evaluate(next);
        if (schedule === undefined) break;
        if (isBetterSchedule(schedule, current)) {
          current = schedule;
          assignment = next.assignment ?? assignment;
          list = next.order ?? list;
          moves += 1;
          improved = true;
          break;
        }
      }
    }
  };
  descend();
  // Budget left: kick the best schedule (two stages, one of them critical, to other engines,
  // drawn from a fixed seed) and descend again from there; keep whatever ends best.
  if (isBetterSchedule(current, best)) best = current;
  let bestAssignment = assignment;
  let bestList = list;
  const random = seededRandom(engines * 7919 + order.length);
  while (options.kicks === true && engines > 1 && evaluations < options.maxEvaluations) {
    const critical = criticalChain(best, model);
    const kicked = new Map(bestAssignment);
    const pick = [
      critical[Math.floor(random() * critical.length)],
      bestList[Math.floor(random() * bestList.length)],
    ];
    for (const stage of pick) {
      if (stage === undefined) continue;
      const engine = kicked.get(stage) ?? 0;
      kicked.set(stage, (engine + 1 + Math.floor(random() * (engines - 1))) % engines);
    }
    current = undefined;
    const schedule = evaluate({ order: bestList, assignment: kicked });
    if (schedule === undefined) break;
    current = schedule;
    assignment = kicked;
    list = bestList;
    descend();
    if (isBetterSchedule(current, best)) {
      best = current;
      bestAssignment = assignment;
      bestList = list;
    }
  }
  return { schedule: best, evaluations, moves };
}

/**
 * The stages the makespan waits on, last first: from the stage that ends last, back through
 * whatever made each one start when it did (an input's arrival, or the stage before it in its slot).
 */
export function criticalChain(schedule: Schedule, model: ScheduleModel): number[] {
  const epsilon = 1e-6;
  const byStage = new Map(schedule.placed.map((entry) => [entry.stage, entry]));
  let entry = schedule.placed.reduce<Schedule["placed"][number] | undefined>(
    (last, next) => (last === undefined || next.finishMs > last.finishMs ? next : last),
    undefined,
  );
  const chain: number[] = [];
  while (entry !== undefined && !chain.includes(entry.stage)) {
    chain.push(entry.stage);
    const { startMs, engine, slot } = entry;
    if (startMs <= epsilon) break;
    let previous: Schedule["placed"][number] | undefined;
    for (const dependency of model.dependencies(entry.stage)) {
      const before = byStage.get(dependency);
      if (before === undefined) continue;
      const at =
        before.engine === engine
          ? before.finishMs
          : (schedule.arrival.get(dependency)?.get(engine) ?? Infinity);
      if (Math.abs(at - startMs) <= epsilon) previous = before;
    }
    previous ??= schedule.placed.find(
      (other) =>
        other.engine === engine &&
        other.slot === slot &&
        Math.abs(other.finishMs - startMs) <= epsilon,
    );
    entry = previous;
  }
  return chain;
}

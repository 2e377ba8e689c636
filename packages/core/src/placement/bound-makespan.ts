import type { PlacementModel } from "./place-stages.js";

/** Lower bounds on the makespan of any placement of the plan on the model's pool. */
export interface MakespanBounds {
  /** The longest chain of stages, each at its best time (no transfer). */
  readonly criticalPathMs: number;
  /** All the work spread over every slot of the pool. */
  readonly workPerCapacityMs: number;
  /** Per group of stages that start no earlier than A and leave at least B after them: A + work / slots + B. */
  readonly energyMs: number;
  /**
   * Per stage U and the stages after it: those on U's engine share its slots, the others wait at
   * least one transfer (docs/decisions/placement.md, "A bound that counts transfers").
   */
  readonly transferMs: number;
  /** All the work plus the slot time that must stay idle at the start (inputs not ready) and the end. */
  readonly idleMs: number;
  /** The classic bound: max(criticalPathMs, workPerCapacityMs). */
  readonly classicMs: number;
  /** The largest of all. */
  readonly lowerBoundMs: number;
}

/**
 * Lower bounds on the makespan that no placement on the pool can beat, the last one counting the
 * transfers a spread placement cannot avoid. Pure; quadratic to cubic in the number of stages.
 */
export function boundMakespan(model: PlacementModel, order: readonly number[]): MakespanBounds {
  const time = new Map(order.map((stage) => [stage, model.bestTime(stage)]));
  const p = (stage: number): number => time.get(stage) ?? 0;
  const head = new Map<number, number>();
  for (const stage of order) {
    let at = 0;
    for (const dependency of model.dependencies.get(stage) ?? []) {
      at = Math.max(at, (head.get(dependency) ?? 0) + p(dependency));
    }
    head.set(stage, at);
  }
  const tail = new Map<number, number>();
  for (const stage of [...order].reverse()) {
    let after = 0;
    for (const next of model.dependents.get(stage) ?? []) {
      after = Math.max(after, p(next) + (tail.get(next) ?? 0));
    }
    tail.set(stage, after);
  }
  const r = (stage: number): number => head.get(stage) ?? 0;
  const q = (stage: number): number => tail.get(stage) ?? 0;
  const slots = model.engines.reduce((sum, engine) => sum + engine.capacity, 0);
  const widest = Math.max(...model.engines.map((engine) => engine.capacity));

  const criticalPathMs = Math.max(0, ...order.map((stage) => r(stage) + p(stage) + q(stage)));
  const workPerCapacityMs = order.reduce((sum, stage) => sum + p(stage), 0) / slots;

  // Every stage with head >= a and tail >= b runs inside [a, T - b] on at most `slots` slots.
  let energyMs = 0;
  const heads = [...new Set(order.map(r))];
  const tails = [...new Set(order.map(q))];
  for (const a of heads) {
    for (const b of tails) {
      let work = 0;
      for (const stage of order) if (r(stage) >= a && q(stage) >= b) work += p(stage);
      if (work > 0) energyMs = Math.max(energyMs, a + b + work / slots);
    }
  }

  // For a stage U and a group S of the stages after it (tail >= b): all of S runs in
  // [finish(U), T - b]; on U's engine on at most `widest` slots, elsewhere only after a transfer
  // of U or of a stage after U (at least `delta`), so on the other slots in [finish(U) + delta, T - b].
  // Then the same for U's later stages one by one, longest chain first (L = own time + tail): if
  // the k longest are on U's engine and the (k+1)-th is not, T >= finish(U) + max(the k sharing at
  // most `widest` slots, delta + L of the (k+1)-th). Mirrored for a stage V and the stages before
  // it (L = head + own time): each one elsewhere reaches V only after a transfer.
  let transferMs = 0;
  for (const stage of order) {
    const after = reachable(stage, model.dependents);
    if (after.size > 0) {
      let delta = model.moveMs(stage);
      for (const other of after) {
        if ((model.dependents.get(other) ?? []).some((next) => after.has(next))) {
          delta = Math.min(delta, model.moveMs(other));
        }
      }
      const finish = r(stage) + p(stage);
      for (const b of new Set([...after].map(q))) {
        let work = 0;
        for (const other of after) if (q(other) >= b) work += p(other);
        const span =
          work <= widest * delta ? work / widest : delta + (work - widest * delta) / slots;
        transferMs = Math.max(transferMs, finish + b + span);
      }
      const group = [...after].map((other) => ({ own: p(other), rest: q(other) }));
      transferMs = Math.max(transferMs, finish + splitBound(group, delta, widest));
    }
    const before = reachable(stage, model.dependencies);
    if (before.size > 0) {
      const delta = Math.min(...[...before].map((other) => model.moveMs(other)));
      const group = [...before].map((other) => ({ own: p(other), rest: r(other) }));
      transferMs = Math.max(transferMs, splitBound(group, delta, widest) + p(stage) + q(stage));
    }
  }

  // Slot time the pool must leave idle: before t, a stage of head r can fill at most t - r of it
  // (and no more than its own time); the same at the end with tails. For windows that fit in the
  // run (t1 + t2 <= T): slots * T >= work + idle at the start + idle at the end. T is raised to the
  // least value that satisfies every window fitting in it (each step stays below the true makespan).
  const work = order.reduce((sum, stage) => sum + p(stage), 0);
  const idle = (t: number, edge: (stage: number) => number): number => {
    let filled = 0;
    for (const stage of order) filled += Math.min(p(stage), Math.max(0, t - edge(stage)));
    return Math.max(0, slots * t - filled);
  };
  const windows = (edge: (stage: number) => number): { t: number; idle: number }[] =>
    [0, ...new Set(order.flatMap((stage) => [edge(stage), edge(stage) + p(stage)]))]
      .sort((a, b) => a - b)
      .map((t) => ({ t, idle: idle(t, edge) }));
  const starts = windows(r);
  const ends = windows(q);
  let idleMs = Math.max(criticalPathMs, workPerCapacityMs, energyMs, transferMs);
  for (let raised = true; raised;) {
    raised = false;
    for (const first of starts) {
      if (first.t > idleMs) break;
      for (const last of ends) {
        if (first.t + last.t > idleMs) break;
        const spread = (work + first.idle + last.idle) / slots;
        if (spread > idleMs + 1e-6) {
          idleMs = spread;
          raised = true;
        }
      }
    }
  }

  const classicMs = Math.max(criticalPathMs, workPerCapacityMs);
  return {
    criticalPathMs,
    workPerCapacityMs,
    energyMs,
    transferMs,
    idleMs,
    classicMs,
    lowerBoundMs: Math.max(classicMs, energyMs, transferMs, idleMs),
  };
}

/** The stages reached from `stage` through `edges` (its descendants, or its ancestors). */
function reachable(stage: number, edges: ReadonlyMap<number, readonly number[]>): Set<number> {
  const seen = new Set<number>();
  const visit = (next: number): void => {
    for (const other of edges.get(next) ?? []) {
      if (seen.has(other)) continue;
      seen.add(other);
      visit(other);
    }
  };
  visit(stage);
  return seen;
}

/**
 * The least time a group of stages needs after a common moment when each one either shares one
 * engine's `slots` with the others there, or starts `delta` later elsewhere: `own` is a stage's
 * time, `rest` what must follow (or precede) it. With the group sorted by `own + rest`, the first
 * stage elsewhere decides: the ones before it share the one engine (their work over its slots, and
 * of its `slots + 1` longest two share a slot).
 */
export function splitBound(
  group: readonly { readonly own: number; readonly rest: number }[],
  delta: number,
  slots: number,
): number {
  const sorted = [...group].sort((a, b) => b.own + b.rest - (a.own + a.rest));
  const longest = sorted[0] === undefined ? 0 : sorted[0].own + sorted[0].rest;
  let least = Infinity;
  let work = 0;
  let rest = Infinity;
  // The `slots + 1` longest own times of the shared ones: two of them share a slot, one after the other.
  const longestOwn: number[] = [];
  for (let shared = 0; shared <= sorted.length; shared++) {
    const away = sorted[shared];
    const paired =
      longestOwn.length > slots ? (longestOwn[slots - 1] ?? 0) + (longestOwn[slots] ?? 0) : 0;
    const home = shared === 0 ? 0 : Math.max(work / slots, paired) + rest;
    const elsewhere = away === undefined ? 0 : delta + away.own + away.rest;
    least = Math.min(least, Math.max(home, elsewhere, longest));
    if (away !== undefined) {
      work += away.own;
      rest = Math.min(rest, away.rest);
      longestOwn.push(away.own);
      longestOwn.sort((a, b) => b - a);
      longestOwn.length = Math.min(longestOwn.length, slots + 1);
    }
  }
  return least;
}

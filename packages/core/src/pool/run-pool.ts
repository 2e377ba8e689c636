import type { Engine } from "../engine/engine.js";
import { EngineError, isStagecraftError, type AnyStagecraftError } from "../errors.js";
import type { BuildEvent } from "../events.js";
import { analyzeDockerfile, type DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { Placement } from "../placement/place-stages.js";
import { runBuild, type BuildOutcome, type RunBuildOptions } from "../scheduler/run-build.js";
import type { TargetResult } from "../scheduler/run-targets.js";

/** An engine of the pool, reachable. */
export interface PoolMember {
  readonly name: string;
  readonly engine: Engine;
  /** Target builds it runs at once. */
  readonly capacity: number;
}

/** Options of {@link runPool}: those of `runBuild` for every engine, the pool and its placement. */
export interface RunPoolOptions extends Omit<
  RunBuildOptions,
  "engine" | "concurrency" | "onEvent" | "signal"
> {
  readonly pool: readonly PoolMember[];
  /** Which engine builds which target (`placeStages`). */
  readonly placement: Pick<Placement, "targets">;
  readonly signal?: AbortSignal | undefined;
  /** Every event of every engine's run, with the engine's name. */
  readonly onEvent?: ((event: BuildEvent, engine: string) => void) | undefined;
}

/** A target that left the engine it was placed on, and why. */
export interface MovedTarget {
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** One engine's share of the run. */
export interface PoolRun {
  readonly engine: string;
  readonly targets: readonly string[];
  /** Undefined when the run could not start or ended in an engine error. */
  readonly outcome: BuildOutcome | undefined;
  readonly error: AnyStagecraftError | undefined;
  /** From its start to its end. */
  readonly busyMs: number;
}

/** The outcome of a pool run: every target's result, each engine's runs, what moved. */
export interface PoolOutcome {
  readonly status: TargetResult["status"];
  /** One per requested target, in the requested order; its last attempt. */
  readonly targets: readonly (TargetResult & { readonly engine: string })[];
  readonly runs: readonly PoolRun[];
  readonly moved: readonly MovedTarget[];
  /** Per engine, the time it was building (its runs together). */
  readonly busyMs: Readonly<Record<string, number>>;
}

/**
 * Builds the analysed targets over a pool: each engine runs the targets placed on it with
 * `runBuild` (at most its capacity at once), all engines at the same time. When an engine cannot be
 * reached or drops its builds, its unfinished targets move to the engine of the pool with the fewest
 * targets that has not failed, and the outcome says what moved and why. A failed build stops the
 * others unless `keepGoing` (fail-fast keeps its meaning across engines).
 *
 * @example
 * const outcome = await runPool({ analysis, context, pool: [{ name: "a", engine: a, capacity: 2 }, { name: "b", engine: b, capacity: 2 }], placement });
 * outcome.moved; // [{ target: "app", from: "b", to: "a", reason: "…" }]
 */
export async function runPool(options: RunPoolOptions): Promise<PoolOutcome> {
  const { pool, placement } = options;
  const stop = new AbortController();
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  const requested = options.analysis.plan.targets;
  const engineOf = new Map(placement.targets.map((entry) => [entry.target, entry.engine]));
  const down = new Set<string>();
  const assigned = new Map<string, number>(pool.map((member) => [member.name, 0]));
  const results = new Map<string, TargetResult & { engine: string }>();
  const runs: PoolRun[] = [];
  const moved: MovedTarget[] = [];
  const running: Promise<void>[] = [];

  const start = (member: PoolMember, targets: readonly string[]): void => {
    assigned.set(member.name, (assigned.get(member.name) ?? 0) + targets.length);
    running.push(runOn(member, targets));
  };
  const runOn = async (member: PoolMember, targets: readonly string[]): Promise<void> => {
    const startedAt = Date.now();
    let outcome: BuildOutcome | undefined;
    let error: AnyStagecraftError | undefined;
    try {
      outcome = await runBuild({
        ...options,
        engine: member.engine,
        analysis: subset(options.analysis, targets),
        tags: Object.fromEntries(
          Object.entries(options.tags ?? {}).filter(([target]) =>
            targets.includes(target.toLowerCase()),
          ),
        ),
        concurrency: member.capacity,
        signal,
        onEvent: (event) => options.onEvent?.(event, member.name),
      });
    } catch (thrown) {
      if (!isStagecraftError(thrown)) throw thrown;
      error = thrown;
    }
    runs.push({ engine: member.name, targets, outcome, error, busyMs: Date.now() - startedAt });
    const lost: { target: string; reason: string }[] = [];
    if (outcome === undefined) {
      const reason = error?.message ?? "the run did not start";
      if (error instanceof EngineError) {
        down.add(member.name);
        for (const target of targets) lost.push({ target, reason });
      } else {
        for (const target of targets) {
          results.set(target, {
            name: target,
            status: "failed",
            tags: [],
            error,
            engine: member.name,
          });
        }
        if (options.keepGoing !== true) stop.abort(error);
      }
    } else {
      for (const result of outcome.targets) {
        if (result.status !== "succeeded" && isEngineFault(result.error) && !signal.aborted) {
          down.add(member.name);
          lost.push({ target: result.name, reason: result.error?.message ?? "engine fault" });
          continue;
        }
        results.set(result.name, { ...result, engine: member.name });
        if (result.status === "failed" && options.keepGoing !== true) stop.abort(result.error);
      }
    }
    if (lost.length === 0) return;
    const healthy = pool.filter((candidate) => !down.has(candidate.name));
    const target = [...healthy].sort(
      (a, b) => (assigned.get(a.name) ?? 0) - (assigned.get(b.name) ?? 0),
    )[0];
    if (target === undefined || signal.aborted) {
      for (const entry of lost) {
        results.set(entry.target, {
          name: entry.target,
          status: "failed",
          tags: [],
          error: new EngineError(
            "ENGINE_UNREACHABLE",
            `no engine of the pool is left for ${entry.target}: ${entry.reason}`,
          ),
          engine: member.name,
        });
      }
      return;
    }
    for (const entry of lost) {
      moved.push({
        target: entry.target,
        from: member.name,
        to: target.name,
        reason: entry.reason,
      });
    }
    start(
      target,
      lost.map((entry) => entry.target),
    );
  };

  for (const member of pool) {
    const mine = requested
      .filter((target) => (engineOf.get(target.id) ?? pool[0]?.name) === member.name)
      .map((target) => target.id);
    if (mine.length > 0) start(member, mine);
  }
  // A run that moves targets starts another; wait until none is left.
  // (An array iterator reads the length at each step, so runs started meanwhile are awaited too.)
  for (const run of running) await run;

  const targets = requested.map(
    (target) =>
      results.get(target.id) ?? {
        name: target.id,
        status: "cancelled" as const,
        tags: [],
        engine: engineOf.get(target.id) ?? "",
      },
  );
  const busyMs: Record<string, number> = Object.fromEntries(pool.map((member) => [member.name, 0]));
  for (const run of runs) busyMs[run.engine] = (busyMs[run.engine] ?? 0) + run.busyMs;
  const status = targets.some((target) => target.status === "failed")
    ? "failed"
    : targets.some((target) => target.status !== "succeeded")
      ? "cancelled"
      : "succeeded";
  return { status, targets, runs, moved, busyMs };
}

/** An engine that stopped answering mid-build, not a step that failed. */
function isEngineFault(error: AnyStagecraftError | undefined): boolean {
  return (
    error instanceof EngineError &&
    (error.code === "ENGINE_UNREACHABLE" ||
      error.code === "ENGINE_UNRESPONSIVE" ||
      error.code === "ENGINE_STREAM_ENDED")
  );
}

/** The analysis of the same Dockerfile for some of its targets. */
function subset(analysis: DockerfileAnalysis, targets: readonly string[]): DockerfileAnalysis {
  const requested = analysis.plan.targets
    .filter((target) => targets.includes(target.id))
    .map((target) => target.requested);
  if (requested.length === analysis.plan.targets.length) return analysis;
  // The default target (requested as nothing) is the last stage: asking for nothing else keeps it.
  const named = requested.filter((name): name is string => name !== undefined);
  return analyzeDockerfile(analysis.input.text, { ...analysis.input.options, targets: named });
}

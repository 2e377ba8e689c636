import pLimit from "p-limit";
import type { Engine } from "../engine/engine.js";
import { replaceBuild } from "../engine/replace-build.js";
import {
  BuildCancelledError,
  EngineError,
  UsageError,
  isStagecraftError,
  type AnyStagecraftError,
} from "../errors.js";
import type { BuildEvent } from "../events.js";
import { analyzeDockerfile, type DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { Placement } from "../placement/place-stages.js";
import type { BuildReport } from "../report/build-report.js";
import {
  externalImagesOf,
  pinMirrorOf,
  runBuild,
  type BuildOutcome,
  type RunBuildOptions,
} from "../scheduler/run-build.js";
import type { TargetResult } from "../scheduler/run-targets.js";
import { contextNameOf } from "../stages/context-name-of.js";
import { pinPoolBases, type PoolBasePins } from "./pin-pool-bases.js";
import { trackContextPulls, type SharedStageReader } from "./track-context-pulls.js";
import { unionMs } from "./union-ms.js";

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
  /**
   * Which engine builds which target, and which stages travel (`placeStages`); without
   * `transfers` every engine builds the stages its targets need.
   */
  readonly placement: Pick<Placement, "targets"> & Partial<Pick<Placement, "transfers">>;
  /**
   * `HOST/PREFIX` where shared stages travel: a stage of `placement.transfers` is built once, pushed
   * there and read by the other engines' targets as a named context (their engines need BuildKit's
   * Control API). Without it nothing travels.
   */
  readonly registry?: string | undefined;
  /**
   * Where the bases are pinned, once for the pool (`pinPoolBases`): a mirror `REGISTRY/PATH`, or
   * `false` for none. By default, when every engine builds through the Control API,
   * `<registry>/stagecraft-bases` with a registry (or a registry cache's, as `runBuild` does), so
   * every engine reads each base by the same digest.
   */
  readonly pinBases?: string | false | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Every event of every engine's run; those about a target carry the engine's name (`engine`). A
   * shared stage's temporary build sends no target events of its own (`shared` reports it), and its
   * steps are reported for a requested target that reads the stage.
   */
  readonly onEvent?: ((event: BuildEvent, engine: string) => void) | undefined;
}

/** A target that left the engine it was placed on, and why. */
export interface MovedTarget {
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** A stage built once on one engine and read by the targets of others, through the registry. */
export interface SharedStage {
  readonly stage: string;
  /** The engine that built and pushed it. */
  readonly engine: string;
  /** The engines whose targets read it as a named context. */
  readonly to: readonly string[];
  /** `HOST/PREFIX/STAGE@sha256:…` once pushed; undefined when it could not be shared. */
  readonly reference: string | undefined;
  /**
   * Building it (as a temporary target, from the moment it had its engine's slot and the shared
   * stages it reads) and pushing it.
   */
  readonly buildMs: number;
  readonly pushMs: number;
  /** Layer bytes the push sent (layers the registry already had count 0). */
  readonly bytes: number;
  /**
   * The engines whose builds read it by its reference, each with the time and bytes it took them
   * to fetch it (from BuildKit's own timestamps): the other half of moving it.
   */
  readonly readers: readonly SharedStageReader[];
  /** Why it was not shared; the targets that needed it then built it on their own engines. */
  readonly error: string | undefined;
  /**
   * The report of its temporary build (its stages and steps, with BuildKit's timestamps: what the
   * next placement's estimates read); undefined when the build did not run.
   */
  readonly report: BuildReport | undefined;
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
  /** The stages built once and read by other engines (`placement.transfers` with a registry). */
  readonly shared: readonly SharedStage[];
  /** Per engine, the time it was building anything (the union of its runs and shared stages). */
  readonly busyMs: Readonly<Record<string, number>>;
  /** The bases pinned once for the pool, and those left as they are; undefined when not pinning. */
  readonly pins: PoolBasePins | undefined;
}

/**
 * Builds the analysed targets over a pool: each engine runs the targets placed on it with
 * `runBuild` (at most its capacity at once), all engines at the same time. A stage the placement
 * shares (`transfers`) is built once, on the engine it was placed on, pushed to the registry by
 * digest, and the targets on other engines that need it wait for the push and read it as a named
 * context instead of building it. When an engine cannot be reached or drops its builds, its
 * unfinished targets move to the engine of the pool with the fewest targets that has not failed,
 * and the outcome says what moved and why. A failed build stops the others unless `keepGoing`
 * (fail-fast keeps its meaning across engines). Before anything is built, each base image is
 * pinned once (`pinPoolBases`: pushed from one engine that has it) and every engine's builds read
 * it by that registry digest, so a step's cache key is the same on every engine.
 *
 * @example
 * const outcome = await runPool({ analysis, context, pool: [{ name: "a", engine: a, capacity: 2 }, { name: "b", engine: b, capacity: 2 }], placement, registry: "127.0.0.1:5000/ci" });
 * outcome.moved; // [{ target: "app", from: "b", to: "a", reason: "…" }]
 * outcome.shared; // [{ stage: "deps", engine: "a", to: ["b"], reference: "127.0.0.1:5000/ci/deps@sha256:…", … }]
 */
export async function runPool(options: RunPoolOptions): Promise<PoolOutcome> {
  const { pool, placement } = options;
  const stop = new AbortController();
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  // A function: TypeScript would keep a check of `signal.aborted` made before an await.
  const stopped = (): boolean => signal.aborted;
  const requested = options.analysis.plan.targets;
  const graph = options.analysis.graph;
  const stageIndex = new Map(graph.stages.map((stage, index) => [stage.id, index]));
  const reachableOf = new Map(requested.map((target) => [target.id, target.reachable]));
  const engineOf = new Map(placement.targets.map((entry) => [entry.target, entry.engine]));
  const down = new Set<string>();
  const assigned = new Map<string, number>(pool.map((member) => [member.name, 0]));
  const results = new Map<string, TargetResult & { engine: string }>();
  const runs: PoolRun[] = [];
  const moved: MovedTarget[] = [];
  const running: Promise<void>[] = [];
  const sharesFailed = new Set<string>();
  const busy = new Map<string, [number, number][]>(pool.map((member) => [member.name, []]));
  // One limit per engine over all its runs, so runs that start at different times share its slots.
  const limits = new Map(
    pool.map((member) => [member.name, limitBuilds(member.engine, member.capacity)]),
  );
  const limited = new Map([...limits].map(([name, limit]) => [name, limit.engine]));
  const pulls = trackContextPulls();
  /** Every event of `engine`'s builds: to the caller, and to the pulls of shared stages. */
  const emit = (event: BuildEvent, engine: string): void => {
    pulls.observe(event, engine);
    options.onEvent?.(withEngine(event, engine), engine);
  };
  const pins = await pinBasesOnce(options, signal);
  // Every build of every engine reads the pool's pins (and pins nothing of its own).
  const runOptions: Omit<RunPoolOptions, "pinBases"> & Pick<RunBuildOptions, "pinBases"> = {
    ...options,
    pinBases:
      pins === undefined
        ? false
        : {
            pinned: pins.pinned.map((pin) => ({ reference: pin.reference, pinned: pin.pinned })),
            unpinned: [...pins.unpinned],
          },
  };
  const shares = startShares();

  /** The first requested target that reads `stage`: a shared stage's steps are reported for it. */
  function readerOf(stage: string): string {
    const index = stageIndex.get(stage) ?? -1;
    return requested.find((target) => target.reachable.includes(index))?.id ?? stage;
  }

  /** The named contexts for targets built on `engine`: the shared stages they reach, once pushed. */
  async function contextsFor(
    engine: string,
    targets: readonly string[],
  ): Promise<Record<string, string>> {
    const needed = shares.filter(
      (share) =>
        share.engine !== engine &&
        targets.some((target) => reachableOf.get(target)?.includes(share.index) === true),
    );
    const contexts: Record<string, string> = {};
    for (const share of needed) {
      const done = await share.done;
      if (done.reference !== undefined) contexts[share.stage] = `docker-image://${done.reference}`;
    }
    return contexts;
  }

  /** Starts building every shared stage, a dependency before the stages that read it. */
  function startShares(): Share[] {
    const registry = options.registry?.replace(/\/+$/, "");
    if (registry === undefined || registry === "") return [];
    const suffix = `pool-${Date.now().toString(36)}`;
    const order = new Map(options.analysis.plan.order.map((stage, position) => [stage, position]));
    const transfers = (placement.transfers ?? [])
      .filter((transfer) => stageIndex.has(transfer.id))
      .sort(
        (a, b) =>
          (order.get(stageIndex.get(a.id) ?? 0) ?? 0) - (order.get(stageIndex.get(b.id) ?? 0) ?? 0),
      );
    const list: Share[] = [];
    for (const transfer of transfers) {
      const index = stageIndex.get(transfer.id) ?? 0;
      const member = pool.find((candidate) => candidate.name === transfer.from);
      if (member === undefined) continue;
      const tag = `${registry}/${transfer.id}:${suffix}`;
      const done = buildShare(member, transfer.id, tag, [...transfer.to], [...list]);
      list.push({ stage: transfer.id, index, engine: member.name, done });
    }
    return list;
  }

  /** Builds one shared stage as a temporary target, pushes it and removes the local tag. */
  async function buildShare(
    member: PoolMember,
    stage: string,
    tag: string,
    to: string[],
    earlier: readonly Share[],
  ): Promise<SharedStage> {
    let report: BuildReport | undefined;
    /** The stage as it ends, said to the caller's live view once its build was tried. */
    const told = (entry: SharedStage, pushMs = entry.pushMs): SharedStage => {
      options.onEvent?.(
        {
          type: "shared-pushed",
          time: Date.now(),
          stage,
          engine: member.name,
          reference: entry.reference ?? null,
          bytes: entry.bytes,
          durationMs: pushMs,
          error: entry.error ?? null,
        },
        member.name,
      );
      return entry;
    };
    const unshared = (error: string, buildMs = 0, pushMs = 0, bytes = 0): SharedStage => ({
      stage,
      engine: member.name,
      to,
      reference: undefined,
      buildMs,
      pushMs,
      bytes,
      readers: [],
      error,
      report,
    });
    // BuildKit replaces a stage by a named context of the same name; an unnamed stage has none.
    if (graph.stages[stageIndex.get(stage) ?? -1]?.name === undefined) {
      return unshared("an unnamed stage cannot be replaced by a named context");
    }
    const analysis = analyzeDockerfile(options.analysis.input.text, {
      ...options.analysis.input.options,
      targets: [stage],
    });
    // A shared stage that itself reads another engine's shared stage waits for that one.
    const reached = analysis.plan.targets[0]?.reachable ?? [];
    const before = earlier.filter(
      (share) =>
        share.engine !== member.name && share.stage !== stage && reached.includes(share.index),
    );
    const namedContexts: Record<string, string> = { ...options.namedContexts };
    for (const share of before) {
      const done = await share.done;
      if (done.reference !== undefined)
        namedContexts[share.stage] = `docker-image://${done.reference}`;
    }
    let result: TargetResult | undefined;
    // Other engines' targets wait for this stage: it takes a slot of its engine as soon as it can
    // start (at once, unless it reads another share), before that engine's own targets, started
    // right after, fill them while this run still reads the context; it holds the slot for its one
    // build, which goes to the engine directly.
    const slots = limits.get(member.name);
    const hold = (build: () => Promise<BuildOutcome>): Promise<BuildOutcome> =>
      slots === undefined ? build() : slots.hold(build);
    // Its build time starts with the slot: waiting for another engine's share is not building.
    let startedAt = Date.now();
    try {
      const outcome = await hold(() => {
        startedAt = Date.now();
        return runBuild({
          ...runOptions,
          engine: member.engine,
          analysis,
          tags: { [stage]: [tag] },
          push: false,
          stageSizes: false,
          concurrency: 1,
          namedContexts: Object.keys(namedContexts).length === 0 ? undefined : namedContexts,
          signal,
          onEvent: (event) => {
            const forwarded = asSharedStage(event, readerOf(stage));
            if (forwarded !== undefined) emit(forwarded, member.name);
          },
        });
      });
      result = outcome.targets[0];
      report = outcome.report;
    } catch (thrown) {
      if (!isStagecraftError(thrown)) throw thrown;
      if (thrown instanceof EngineError) down.add(member.name);
      return told(unshared(thrown.message, Date.now() - startedAt));
    } finally {
      busy.get(member.name)?.push([startedAt, Date.now()]);
    }
    const buildMs = Date.now() - startedAt;
    if (result?.status !== "succeeded") {
      if (isEngineFault(result?.error)) down.add(member.name);
      else if (result?.status === "failed") {
        sharesFailed.add(stage);
        if (options.keepGoing !== true) stop.abort(result.error);
      }
      return told(unshared(result?.error?.message ?? `${stage} was not built`, buildMs));
    }
    if (member.engine.push === undefined) {
      return told(unshared("the engine cannot push", buildMs), 0);
    }
    const pushedAt = Date.now();
    const layers = new Map<string, number>();
    try {
      const pushed = await member.engine.push({
        ref: tag,
        signal,
        onProgress: (progress) => {
          if (progress.total !== null) layers.set(progress.layer, progress.total);
          if (progress.status === "Layer already exists") layers.delete(progress.layer);
          options.onEvent?.(
            {
              type: "shared-push-progress",
              time: Date.now(),
              stage,
              engine: member.name,
              tag,
              ...progress,
            },
            member.name,
          );
        },
      });
      const name = tag.slice(0, tag.lastIndexOf(":"));
      await member.engine.removeImage?.(tag, signal).catch(() => undefined);
      const pushMs = Date.now() - pushedAt;
      busy.get(member.name)?.push([pushedAt, Date.now()]);
      return told({
        stage,
        engine: member.name,
        to,
        reference: `${name}@${pushed.digest}`,
        buildMs,
        pushMs,
        bytes: [...layers.values()].reduce((sum, bytes) => sum + bytes, 0),
        readers: [],
        error: undefined,
        report,
      });
    } catch (thrown) {
      if (isStagecraftError(thrown) && isEngineFault(thrown)) down.add(member.name);
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      return told(unshared(message, buildMs, Date.now() - pushedAt));
    }
  }

  const start = (member: PoolMember, targets: readonly string[]): void => {
    assigned.set(member.name, (assigned.get(member.name) ?? 0) + targets.length);
    running.push(runOn(member, targets));
  };
  const runOn = async (member: PoolMember, targets: readonly string[]): Promise<void> => {
    const namedContexts = await contextsFor(member.name, targets);
    if (signal.aborted) return;
    const startedAt = Date.now();
    let outcome: BuildOutcome | undefined;
    let error: AnyStagecraftError | undefined;
    try {
      outcome = await runBuild({
        ...runOptions,
        engine: limited.get(member.name) ?? member.engine,
        analysis: subset(options.analysis, targets),
        tags: Object.fromEntries(
          Object.entries(options.tags ?? {}).filter(([target]) =>
            targets.includes(target.toLowerCase()),
          ),
        ),
        concurrency: member.capacity,
        ...(Object.keys(namedContexts).length === 0
          ? {}
          : { namedContexts: { ...options.namedContexts, ...namedContexts } }),
        signal,
        onEvent: (event) => {
          emit(event, member.name);
        },
      });
    } catch (thrown) {
      if (!isStagecraftError(thrown)) throw thrown;
      error = thrown;
    }
    busy.get(member.name)?.push([startedAt, Date.now()]);
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
        // The build that met the fault fails; the engine's other builds are cancelled with it.
        const lostWithEngine =
          result.error instanceof BuildCancelledError && result.error.reason.kind === "engine";
        if (
          result.status !== "succeeded" &&
          (isEngineFault(result.error) || lostWithEngine) &&
          !stopped()
        ) {
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
    if (target === undefined || stopped()) {
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
    // Targets that wait for different shared stages start at different times, so each such group
    // is a run of its own; the engine's limit keeps them within its capacity together.
    const groups = new Map<string, string[]>();
    for (const target of mine) {
      const key = shares
        .filter(
          (share) =>
            share.engine !== member.name && reachableOf.get(target)?.includes(share.index) === true,
        )
        .map((share) => share.stage)
        .join(",");
      groups.set(key, [...(groups.get(key) ?? []), target]);
    }
    for (const group of groups.values()) start(member, group);
  }
  // A run that moves targets starts another; wait until none is left.
  // (An array iterator reads the length at each step, so runs started meanwhile are awaited too.)
  for (const run of running) await run;
  const shared = (await Promise.all(shares.map((share) => share.done))).map((entry): SharedStage =>
    entry.reference === undefined ? entry : { ...entry, readers: pulls.readersOf(entry.reference) },
  );

  const targets = requested.map(
    (target) =>
      results.get(target.id) ?? {
        name: target.id,
        status: "cancelled" as const,
        tags: [],
        engine: engineOf.get(target.id) ?? "",
      },
  );
  const busyMs: Record<string, number> = Object.fromEntries(
    pool.map((member) => [member.name, unionMs(busy.get(member.name) ?? [])]),
  );
  // A shared stage whose step failed is a failed build, though no target of its own failed.
  const status =
    targets.some((target) => target.status === "failed") || sharesFailed.size > 0
      ? "failed"
      : targets.some((target) => target.status !== "succeeded")
        ? "cancelled"
        : "succeeded";
  return { status, targets, runs, moved, shared, busyMs, pins };
}

/**
 * Pins the bases of the requested targets once for the pool, to the mirror `pinBases` names or, on
 * a pool whose engines all build through the Control API, `<registry>/stagecraft-bases`; undefined
 * when not pinning. Images a named context of the caller replaces are left alone.
 */
async function pinBasesOnce(
  options: RunPoolOptions,
  signal: AbortSignal,
): Promise<PoolBasePins | undefined> {
  const registry = options.registry?.replace(/\/+$/, "");
  const everyControl = options.pool.every((member) => member.engine.buildPath === "control");
  // By default only a pool that builds through the Control API pins (as `runBuild` on one engine).
  const mirror =
    options.pinBases === undefined && registry !== undefined && registry !== "" && everyControl
      ? `${registry}/stagecraft-bases`
      : pinMirrorOf(
          options.pinBases,
          { cacheFrom: options.cacheFrom ?? [], cacheTo: options.cacheTo ?? [] },
          everyControl ? "control" : "build",
        );
  if (mirror === undefined) return undefined;
  const slow = options.pool.find((member) => member.engine.buildPath !== "control");
  if (slow !== undefined) {
    throw new UsageError(
      `pinned base images travel as named contexts, which only BuildKit's Control API carries, and engine ${slow.name} builds through /build`,
      {
        hint: 'Build through the Control API (DockerEngine({ builder: "control" })), or turn pinning off (--no-pin-bases).',
      },
    );
  }
  const named = new Set(Object.keys(options.namedContexts ?? {}));
  const references = externalImagesOf(options.analysis).filter(
    (reference) => !named.has(contextNameOf(reference)),
  );
  return await pinPoolBases(options.pool, references, mirror, signal);
}

/**
 * An event of a shared stage's temporary build as the pool reports it: the stage is no target of
 * the run (`PoolOutcome.shared` says where it was built and how it went), so the temporary
 * target's own events are left out, and its steps are reported for `reader`, a requested target
 * that reads the stage.
 */
function asSharedStage(event: BuildEvent, reader: string): BuildEvent | undefined {
  if (!("target" in event)) return event;
  switch (event.type) {
    case "target-queued":
    case "target-started":
    case "target-finished":
    case "target-failed":
    case "target-cancelled":
    case "target-pushed":
    case "push-failed":
    case "push-progress":
      return undefined;
    default:
      return { ...event, target: reader };
  }
}

/** The event with the engine that builds its target, when it is about a target. */
function withEngine(event: BuildEvent, engine: string): BuildEvent {
  return "target" in event ? { ...event, engine } : event;
}

/** A shared stage on its way: where it is built and, once pushed, its reference. */
interface Share {
  readonly stage: string;
  readonly index: number;
  readonly engine: string;
  readonly done: Promise<SharedStage>;
}

/** An engine's build slots: its builds through `engine`, or a slot held for a whole `hold`. */
interface LimitedEngine {
  readonly engine: Engine;
  /** Runs `work` in one slot, taken when called (slots go in call order). */
  readonly hold: <T>(work: () => Promise<T>) => Promise<T>;
}

/** The engine, with at most `capacity` of its builds running at once, whoever starts them. */
function limitBuilds(engine: Engine, capacity: number): LimitedEngine {
  const limit = pLimit(Math.max(1, capacity));
  const limitedEngine = replaceBuild(engine, (request) => limit(() => engine.build(request)));
  return { engine: limitedEngine, hold: (work) => limit(work) };
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

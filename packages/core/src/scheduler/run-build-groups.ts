import pLimit from "p-limit";
import type { ImageDetails } from "../engine/engine.js";
import { replaceBuild } from "../engine/replace-build.js";
import { BuildCancelledError, UsageError, type CancelReason } from "../errors.js";
import type { BuildEvent, RunContext, RunStartedEvent } from "../events.js";
import type { Logger } from "../logger.js";
import type { LayerReport } from "../report/build-report.js";
import { createReportBuilder } from "../report/create-report-builder.js";
import { contextNameOf } from "../stages/context-name-of.js";
import { SIZE_MEANING, runBuild, type BuildOutcome, type RunBuildOptions } from "./run-build.js";
import type { BuildLimit, TargetResult } from "./run-targets.js";

/** One (context, Dockerfile, settings) of a run that holds several: its own `runBuild`. */
export interface BuildGroup {
  /** The group's name: a stage id that another group has too is shown as `NAME/stage`. */
  name: string;
  /** The group's `runBuild` options, without what the groups share. */
  options: Omit<
    RunBuildOptions,
    "engine" | "concurrency" | "limit" | "keepGoing" | "signal" | "onEvent" | "logger"
  >;
  /** The engine this group builds on, when not the run's (e.g. one that talks BuildKit's Control API). */
  engine?: RunBuildOptions["engine"] | undefined;
  /**
   * The name each target of the group has in the events and the report (e.g. its bake target's),
   * by target id; default: the id. Names are unique over all groups.
   */
  targetNames?: Readonly<Record<string, string>> | undefined;
  /**
   * Named contexts made by targets of other groups (bake's `contexts = { NAME = "target:OTHER" }`):
   * context name → the target's name in the run. The group's builds wait until each such target
   * has built; its image reaches them as `docker-image://` of a temporary name given to it on the
   * engine's image store (which BuildKit on a Docker Engine reads first), removed after the run.
   * A target that fails or is cancelled cancels the group's targets.
   */
  contextsFrom?: Readonly<Record<string, string>> | undefined;
}

/** Options of `runBuildGroups`: the groups, and what they share. */
export interface RunBuildGroupsOptions {
  engine: RunBuildOptions["engine"];
  groups: readonly BuildGroup[];
  /** How many target builds run at once over all groups (default: all). */
  concurrency?: number | undefined;
  /** Let independent targets finish when one fails, in any group (default: cancel all others). */
  keepGoing?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** The events of every group as one run: one `run-started`, one `run-finished`, targets renamed. */
  onEvent?: ((event: BuildEvent) => void) | undefined;
  logger?: Logger | undefined;
}

/** A group's part of the outcome: its own outcome, and the names its targets have in the whole. */
export interface BuildGroupOutcome {
  name: string;
  /** Target id → the name it has in the merged events and report. */
  targetNames: Record<string, string>;
  /** Undefined when the group was stopped before it began to build. */
  outcome: BuildOutcome | undefined;
}

/** The outcome of every group as one run (one report), and each group's own. */
export interface BuildGroupsOutcome extends BuildOutcome {
  groups: BuildGroupOutcome[];
}

interface Names {
  target: (id: string) => string;
  stage: (id: string) => string;
}

/**
 * Builds several groups of targets (each its own context, Dockerfile and settings, e.g. a bake
 * file's) as one run: one concurrency limit and one fail-fast over all of them, one event stream
 * (targets under their given names, stage ids that collide between groups prefixed with the
 * group's name) and one report. Targets of one group still share its context transfer and stages.
 * A target whose output could not be written (`OUTPUT_WRITE`) fails alone: fail-fast stops nothing.
 *
 * @example
 * const outcome = await runBuildGroups({
 *   engine: new DockerEngine(),
 *   groups: [
 *     { name: "api", options: { analysis: api, context: { dir: "api", dockerfile: "api/Dockerfile" } } },
 *     { name: "web", options: { analysis: web, context: { dir: "web", dockerfile: "web/Dockerfile" } } },
 *   ],
 *   concurrency: 2,
 * });
 * @throws the first error a group's `runBuild` throws before it builds (the others are stopped).
 */
export async function runBuildGroups(options: RunBuildGroupsOptions): Promise<BuildGroupsOutcome> {
  const { groups } = options;
  if (groups.length === 0) throw new UsageError("there is nothing to build: no group was given");
  const names = namesOf(groups);
  if (
    options.concurrency !== undefined &&
    (!Number.isInteger(options.concurrency) || options.concurrency < 1)
  ) {
    throw new UsageError(
      `concurrency must be a whole number of at least 1, not ${options.concurrency}`,
    );
  }
  const limit = options.concurrency === undefined ? undefined : pLimit(options.concurrency);
  const links = linksOf(groups, names, options.engine);

  const report = createReportBuilder();
  const out = (event: BuildEvent): void => {
    report.add(event);
    options.onEvent?.(event);
  };
  // The merged run starts when every group has started (or ended before it could): until then
  // events wait here, so `run-started` comes first with every target in it.
  const starts: (RunStartedEvent | undefined)[] = groups.map(() => undefined);
  let waiting = groups.length;
  let held: BuildEvent[] | undefined = [];
  const startedAt = Date.now();
  const settle = (): void => {
    waiting -= 1;
    if (waiting > 0 || held === undefined) return;
    // No group began (the engine cannot be reached, say): the run never started; it throws.
    if (starts.every((start) => start === undefined)) return;
    out(mergeStarts(starts, groups, names, options.concurrency));
    for (const event of held) out(event);
    held = undefined;
  };

  const controllers = groups.map(() => new AbortController());
  let stopped: CancelReason | undefined;
  const stopAll = (reason: CancelReason, except?: number): void => {
    stopped ??= reason;
    controllers.forEach((controller, index) => {
      if (index === except || controller.signal.aborted) return;
      controller.abort(
        reason.kind === "interrupted"
          ? new Error("interrupted")
          : new BuildCancelledError(reason.kind === "fail-fast" ? reason.failedTarget : "", reason),
      );
    });
  };
  const onAbort = (): void => {
    stopAll({ kind: "interrupted" });
  };
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  // Why a group that reads another group's target was stopped, when that target did not build.
  const linkCancels: (CancelReason | undefined)[] = groups.map(() => undefined);
  const waitForLinks = async (index: number): Promise<void> => {
    const group = groups[index];
    const signal = controllers[index]?.signal;
    const needed = Object.values(group?.contextsFrom ?? {}).flatMap((name) => {
      const link = links.get(name);
      return link === undefined ? [] : [[name, link] as const];
    });
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted === true) resolve();
      signal?.addEventListener(
        "abort",
        () => {
          resolve();
        },
        { once: true },
      );
    });
    for (const [name, link] of needed) {
      const built = await Promise.race([link.ready, aborted.then(() => true)]);
      if (signal?.aborted === true) return;
      if (!built) {
        const reason: CancelReason = { kind: "fail-fast", failedTarget: name };
        linkCancels[index] = reason;
        controllers[index]?.abort(new BuildCancelledError(group?.name ?? "", reason));
        return;
      }
    }
  };
  const limitOf = (index: number): BuildLimit | undefined => {
    if (Object.keys(groups[index]?.contextsFrom ?? {}).length === 0) return limit;
    // A build waits for the targets its group reads before it takes a slot, so it holds none.
    return async (build) => {
      await waitForLinks(index);
      return limit === undefined ? build() : limit(build);
    };
  };
  const namedContextsOf = (group: BuildGroup): Record<string, string> | undefined => {
    const entries = Object.entries(group.contextsFrom ?? {});
    if (entries.length === 0) return group.options.namedContexts;
    return {
      ...group.options.namedContexts,
      ...Object.fromEntries(
        entries.map(([context, name]) => [context, `docker-image://${links.get(name)?.tag ?? ""}`]),
      ),
    };
  };

  let thrown: { error: unknown } | undefined;
  const outcomes = await Promise.all(
    groups.map(async (group, index): Promise<BuildOutcome | undefined> => {
      const own = names[index];
      if (own === undefined) return undefined;
      try {
        const engine = group.engine ?? options.engine;
        const pullFirst =
          group.options.pull === true &&
          Object.keys(group.contextsFrom ?? {}).length > 0 &&
          engine.pullImage !== undefined;
        // A pull that fails fails the group's builds, as a failed step would, not the whole run.
        const pulled = pullFirst ? pullBases(group, engine, controllers[index]?.signal) : undefined;
        pulled?.catch(() => undefined);
        return await runBuild({
          ...group.options,
          ...(pullFirst ? { pull: false } : {}),
          namedContexts: namedContextsOf(group),
          engine: pulled === undefined ? engine : buildingAfter(engine, pulled),
          concurrency: undefined,
          limit: limitOf(index),
          keepGoing: options.keepGoing,
          signal: controllers[index]?.signal,
          logger: options.logger,
          onEvent: (event) => {
            if (event.type === "run-started") {
              starts[index] = renameEvent(event, own) as RunStartedEvent;
              settle();
              return;
            }
            // One `run-finished` for the whole, at the end.
            if (event.type === "run-finished") return;
            const link =
              "target" in event && typeof event.target === "string"
                ? links.get(own.target(event.target))
                : undefined;
            if (link !== undefined) settleLink(link, engine, event);
            // An output this side could not write (a full disk) says nothing of the other
            // targets' builds: they go on, and their outputs are written.
            if (
              event.type === "target-failed" &&
              event.error.code !== "OUTPUT_WRITE" &&
              options.keepGoing !== true
            ) {
              stopAll({ kind: "fail-fast", failedTarget: own.target(event.target) }, index);
            }
            const renamed = renameEvent(event, own);
            if (held === undefined) out(renamed);
            else held.push(renamed);
          },
        });
      } catch (error) {
        if (starts[index] === undefined) settle();
        // Stopped before it built because another group's target failed: its targets are
        // cancelled, not errors. Anything else is the error of the whole run.
        const cancelled = stopped !== undefined || linkCancels[index] !== undefined;
        if (!cancelled || controllers[index]?.signal.aborted !== true) {
          thrown ??= { error };
          stopAll({ kind: "interrupted" });
        }
        return undefined;
      } finally {
        // A target that ended without a verdict (its group stopped early) made no image to read.
        for (const link of links.values()) {
          if (link.group === index && !link.finished) link.settle(false);
        }
      }
    }),
  );
  options.signal?.removeEventListener("abort", onAbort);
  // The temporary names exist only for the run.
  await Promise.all(
    [...links.values()].map(async (link) => {
      await link.naming;
      if (!link.tagged) return;
      const engine = groups[link.group]?.engine ?? options.engine;
      await engine.removeImage?.(link.tag).catch(() => undefined);
    }),
  );
  if (thrown !== undefined) throw thrown.error;

  // Targets of a group stopped before it began: cancelled for the reason the run stopped.
  const targets: TargetResult[] = [];
  groups.forEach((group, index) => {
    const own = names[index];
    const outcome = outcomes[index];
    if (own === undefined) return;
    if (outcome !== undefined) {
      for (const result of outcome.targets)
        targets.push({ ...result, name: own.target(result.name) });
      return;
    }
    for (const target of group.options.analysis.plan.targets) {
      const name = own.target(target.id);
      const reason = linkCancels[index] ?? stopped ?? { kind: "interrupted" };
      const error = new BuildCancelledError(name, reason);
      out({
        type: "target-cancelled",
        time: Date.now(),
        target: name,
        reason,
        message: error.message,
      });
      targets.push({ name, status: "cancelled", tags: [], error });
    }
  });
  const status =
    stopped?.kind === "interrupted"
      ? "cancelled"
      : targets.every((target) => target.status === "succeeded")
        ? "succeeded"
        : "failed";
  const finishedAt = Date.now();
  out({
    type: "run-finished",
    time: finishedAt,
    status,
    durationMs: finishedAt - startedAt,
    succeeded: targets.filter((t) => t.status === "succeeded").map((t) => t.name),
    failed: targets.filter((t) => t.status === "failed").map((t) => t.name),
    cancelled: targets.filter((t) => t.status === "cancelled").map((t) => t.name),
  });

  const images: Record<string, ImageDetails | undefined> = {};
  const stageSizes: Record<string, number> = {};
  const layers: Record<string, LayerReport[]> = {};
  const budgets: Record<string, number> = {};
  const misses: { target: string; reason: string }[] = [];
  const unmeasuredStages: { stage: string; reason: string }[] = [];
  groups.forEach((group, index) => {
    const own = names[index];
    const outcome = outcomes[index];
    if (own === undefined) return;
    for (const [id, bytes] of Object.entries(group.options.sizeBudgets ?? {})) {
      budgets[own.target(id)] = bytes;
    }
    if (outcome === undefined) return;
    for (const [id, details] of Object.entries(outcome.images)) images[own.target(id)] = details;
    for (const stage of outcome.report.stages) {
      if (stage.sizeBytes !== undefined && stage.sizeBytes !== null) {
        stageSizes[own.stage(stage.stage)] = stage.sizeBytes;
      }
    }
    for (const target of outcome.report.targets) {
      if (target.layers !== undefined) {
        layers[own.target(target.target)] = target.layers.map((layer) => ({
          ...layer,
          stage: layer.stage === null ? null : own.stage(layer.stage),
          copiedFrom:
            layer.copiedFrom === null || layer.copiedFrom.includes(":")
              ? layer.copiedFrom
              : own.stage(layer.copiedFrom),
        }));
      }
    }
    for (const miss of outcome.report.cache?.misses ?? []) {
      misses.push({ ...miss, target: own.target(miss.target) });
    }
    for (const entry of outcome.report.unmeasuredStages ?? []) {
      unmeasuredStages.push({ ...entry, stage: own.stage(entry.stage) });
    }
  });
  const merged = report.finish(images, {
    stageSizes,
    layers,
    budgets: Object.keys(budgets).length === 0 ? undefined : budgets,
    sizeMeaning: SIZE_MEANING,
    unmeasuredStages,
  });
  if (merged.cache !== null) merged.cache.misses = misses;

  const first = outcomes.find((outcome) => outcome !== undefined);
  return {
    status,
    targets,
    startedAt,
    finishedAt,
    report: merged,
    engine: first?.engine ?? (await options.engine.info(options.signal)),
    images,
    groups: groups.map((group, index) => ({
      name: group.name,
      targetNames: Object.fromEntries(
        group.options.analysis.plan.targets.map((target) => [
          target.id,
          names[index]?.target(target.id) ?? target.id,
        ]),
      ),
      outcome: outcomes[index],
    })),
  };
}

/** A target that other groups read as a named context. */
interface Link {
  /** The index of the group that builds it. */
  group: number;
  /** The temporary name its image gets on the engine's image store. */
  tag: string;
  /** True once built and named; false when it failed, was cancelled or could not be named. */
  ready: Promise<boolean>;
  settle: (built: boolean) => void;
  /** Whether the target was built (its naming may still be under way). */
  finished: boolean;
  /** The naming under way or done, once built. */
  naming: Promise<void> | undefined;
  /** Whether the temporary name was given (and so must be removed). */
  tagged: boolean;
}

/**
 * The targets some group reads (`contextsFrom`), each with a temporary image name unique to this
 * run; refuses a target no group builds, a group that reads its own target, and a cycle of groups.
 */
function linksOf(
  groups: readonly BuildGroup[],
  names: readonly Names[],
  engine: RunBuildOptions["engine"],
): Map<string, Link> {
  const owner = new Map<string, number>();
  groups.forEach((group, index) => {
    for (const target of group.options.analysis.plan.targets) {
      owner.set(names[index]?.target(target.id) ?? target.id, index);
    }
  });
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const links = new Map<string, Link>();
  const readers: number[][] = groups.map(() => []);
  groups.forEach((group, index) => {
    for (const [context, name] of Object.entries(group.contextsFrom ?? {})) {
      const from = owner.get(name);
      if (from === undefined) {
        throw new UsageError(
          `group "${group.name}" reads the context ${context} from target "${name}", which no group builds`,
        );
      }
      if (from === index) {
        throw new UsageError(
          `group "${group.name}" reads the context ${context} from its own target "${name}"`,
          { hint: "A target read as a context must be built by another group." },
        );
      }
      if ((groups[from]?.engine ?? engine).tagImage === undefined) {
        throw new UsageError(
          `the engine of group "${groups[from]?.name ?? ""}" cannot tag images`,
          {
            hint: "Build with a Docker Engine (DockerEngine) to read a target as a context.",
          },
        );
      }
      readers[index]?.push(from);
      if (links.has(name)) continue;
      let settle: (built: boolean) => void = () => undefined;
      const ready = new Promise<boolean>((resolve) => {
        settle = resolve;
      });
      const slug = name
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, "-")
        .replace(/^[._-]+/, "");
      links.set(name, {
        group: from,
        tag: `stagecraft-context/${slug === "" ? "target" : slug}:${suffix}`,
        ready,
        settle,
        finished: false,
        naming: undefined,
        tagged: false,
      });
    }
  });
  // A group that waits, through others, for itself would never start.
  const state = groups.map(() => 0);
  const visit = (index: number, path: number[]): void => {
    if (state[index] === 2) return;
    if (state[index] === 1) {
      const cycle = [...path.slice(path.indexOf(index)), index].map((at) => groups[at]?.name);
      throw new UsageError(`groups read each other's targets in a cycle: ${cycle.join(" -> ")}`);
    }
    state[index] = 1;
    for (const from of readers[index] ?? []) visit(from, [...path, index]);
    state[index] = 2;
  };
  groups.forEach((_group, index) => {
    visit(index, []);
  });
  return links;
}

/**
 * `pull` for a group that reads other targets' images: BuildKit's pull mode looks for every image
 * in its registry, the temporary names of those targets' images too, which only the engine's store
 * holds ("failed to resolve source metadata for docker.io/stagecraft-context/…"). So the engine
 * pulls the group's own images first (bases, `COPY --from` images, `docker-image://` contexts, for
 * each platform), and the group builds from its store. Rejects with the first pull's error.
 */
async function pullBases(
  group: BuildGroup,
  engine: RunBuildOptions["engine"],
  signal: AbortSignal | undefined,
): Promise<void> {
  const { analysis, namedContexts = {}, platforms } = group.options;
  const contexts = new Set([
    ...Object.keys(namedContexts),
    ...Object.keys(group.contextsFrom ?? {}),
  ]);
  const images = [
    ...analysis.plan.externalImages.filter((ref) => !contexts.has(contextNameOf(ref))),
    ...Object.values(namedContexts)
      .filter((value) => value.startsWith("docker-image://"))
      .map((value) => value.slice("docker-image://".length)),
  ];
  const own = analysis.input.options.platform;
  const each = platforms !== undefined && platforms.length > 0 ? platforms : [own];
  for (const ref of new Set(images)) {
    for (const platform of each) {
      signal?.throwIfAborted();
      await engine.pullImage?.(ref, {
        ...(platform === undefined ? {} : { platform }),
        ...(signal === undefined ? {} : { signal }),
      });
    }
  }
}

/**
 * The engine whose builds first wait for `pulled`: a pull that failed is each build's failure (the
 * target fails with the engine's words, fail-fast and keepGoing as for any build). Every other
 * member is the engine's own, called on it.
 */
function buildingAfter(
  engine: RunBuildOptions["engine"],
  pulled: Promise<void>,
): RunBuildOptions["engine"] {
  return replaceBuild(engine, async (request) => {
    await pulled;
    return await engine.build(request);
  });
}

/** A read target's end: built, it gets its temporary name and its readers may start. */
function settleLink(link: Link, engine: RunBuildOptions["engine"], event: BuildEvent): void {
  if (event.type === "target-failed" || event.type === "target-cancelled") link.settle(false);
  if (event.type !== "target-finished") return;
  link.finished = true;
  const tag = engine.tagImage?.bind(engine);
  if (tag === undefined || event.imageId === "") {
    link.settle(false);
    return;
  }
  link.naming = tag(event.imageId, link.tag).then(
    () => {
      link.tagged = true;
      link.settle(true);
    },
    () => {
      link.settle(false);
    },
  );
}

/** Each group's renaming: targets to their given names, colliding stage ids to `group/stage`. */
function namesOf(groups: readonly BuildGroup[]): Names[] {
  const stageCount = new Map<string, number>();
  for (const group of groups) {
    for (const stage of group.options.analysis.graph.stages) {
      stageCount.set(stage.id, (stageCount.get(stage.id) ?? 0) + 1);
    }
  }
  const seen = new Map<string, string>();
  return groups.map((group) => {
    const targetNames = group.targetNames ?? {};
    const names: Names = {
      target: (id) => targetNames[id] ?? id,
      stage: (id) => ((stageCount.get(id) ?? 0) > 1 ? `${group.name}/${id}` : id),
    };
    for (const target of group.options.analysis.plan.targets) {
      const name = names.target(target.id);
      const other = seen.get(name);
      if (other !== undefined) {
        throw new UsageError(
          `two groups build a target named "${name}" (${other} and ${group.name})`,
          { hint: "Give each group's targets names of their own (targetNames)." },
        );
      }
      seen.set(name, group.name);
    }
    return names;
  });
}

/** One `run-started` for every group: all targets and stages, the first group's engine. */
function mergeStarts(
  starts: readonly (RunStartedEvent | undefined)[],
  groups: readonly BuildGroup[],
  names: readonly Names[],
  concurrency: number | undefined,
): RunStartedEvent {
  const present = starts.filter((start) => start !== undefined);
  const targets = groups.flatMap((group, index) =>
    group.options.analysis.plan.targets.map(
      (target) => names[index]?.target(target.id) ?? target.id,
    ),
  );
  const contexts = present.map((start) => start.context);
  const transfer = contexts[0]?.transfer ?? "tar";
  const sum = (key: "files" | "bytes"): number | null =>
    contexts.every((context) => context[key] !== null)
      ? contexts.reduce((total, context) => total + (context[key] ?? 0), 0)
      : null;
  const context: RunContext = {
    transfer,
    files: sum("files"),
    bytes: sum("bytes"),
    warnings: contexts.flatMap((entry) => entry.warnings),
  };
  const from = [...new Set(present.flatMap((start) => start.cache?.from ?? []))];
  const to = [...new Set(present.flatMap((start) => start.cache?.to ?? []))];
  const time = Math.min(...present.map((start) => start.time), Date.now());
  const first = present[0];
  return {
    type: "run-started",
    time,
    schemaVersion: first?.schemaVersion ?? 2,
    targets,
    stages: present.flatMap((start) => start.stages),
    targetStages: Object.assign({}, ...present.map((start) => start.targetStages)) as Record<
      string,
      string[]
    >,
    concurrency: Math.min(targets.length, concurrency ?? targets.length),
    engine: first?.engine ?? { endpoint: "", version: "", apiVersion: "", platform: "" },
    context,
    ...(present.some((start) => start.push === true) ? { push: true } : {}),
    ...(from.length + to.length > 0 ? { cache: { from, to } } : {}),
  };
}

/** The event with the group's target names and the whole run's stage ids. */
function renameEvent(event: BuildEvent, names: Names): BuildEvent {
  const stage = (id: string | null): string | null => (id === null ? null : names.stage(id));
  switch (event.type) {
    case "run-started":
      return {
        ...event,
        targets: event.targets.map(names.target),
        stages: event.stages.map((entry) => ({
          id: names.stage(entry.id),
          dependsOn: entry.dependsOn.map(names.stage),
        })),
        targetStages: Object.fromEntries(
          Object.entries(event.targetStages).map(([target, stages]) => [
            names.target(target),
            stages.map(names.stage),
          ]),
        ),
      };
    case "run-finished":
      return {
        ...event,
        succeeded: event.succeeded.map(names.target),
        failed: event.failed.map(names.target),
        cancelled: event.cancelled.map(names.target),
      };
    case "engine-quiet":
      return { ...event, running: event.running.map(names.target) };
    case "context-sent":
      return event;
    case "target-failed":
      return {
        ...event,
        target: names.target(event.target),
        error: {
          ...event.error,
          ...(event.error.stage === undefined ? {} : { stage: names.stage(event.error.stage) }),
        },
      };
    case "target-cancelled": {
      const target = names.target(event.target);
      const reason: CancelReason =
        event.reason.kind === "fail-fast"
          ? { kind: "fail-fast", failedTarget: names.target(event.reason.failedTarget) }
          : event.reason;
      return { ...event, target, reason, message: new BuildCancelledError(target, reason).message };
    }
    case "stage-started":
    case "stage-cached":
    case "stage-finished":
    case "stage-failed":
      return { ...event, target: names.target(event.target), stage: names.stage(event.stage) };
    case "step-started":
    case "step-cached":
    case "step-finished":
    case "step-failed":
      return {
        ...event,
        target: names.target(event.target),
        step: { ...event.step, stage: stage(event.step.stage) },
      };
    case "log":
    case "warning":
      return { ...event, target: names.target(event.target), stage: stage(event.stage) };
    case "target-queued":
    case "target-started":
    case "target-finished":
    case "push-progress":
    case "target-pushed":
    case "push-failed":
    case "transfer":
    case "daemon-status":
      return { ...event, target: names.target(event.target) };
    case "shared-push-progress":
    case "shared-pushed":
      return event;
    default:
      return event satisfies never;
  }
}

import type { BuildEvent, StepInfo } from "../events.js";
import {
  attributeStage,
  compareStages,
  describeStep,
  findStageAtLine,
  findStageOfBaseImage,
  type DockerfileMap,
  type VertexGraph,
} from "./attribute-stage.js";
import { toDaemonStatus, type DecodedStatus } from "./decode-status.js";
import type { BuildStreamResult } from "./read-build-stream.js";
import { createVertexTracker, type TrackedVertex, type VertexChange } from "./vertex-tracker.js";

/** Options of `createProgressTracker`. */
export interface ProgressTrackerOptions {
  /** The requested targets, in the order the user asked for them (it decides who owns shared steps). */
  targets: readonly string[];
  /**
   * The stage ids each target needs (from the plan). When given, a shared stage belongs to the first
   * target in `targets` that needs it, however the streams interleave.
   */
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Stage ids and vertex-producing instructions of the Dockerfile, to map steps to lines. */
  dockerfileMap?: DockerfileMap | undefined;
  /** Receives every event; it only observes. */
  onEvent: (event: BuildEvent) => void;
  /** Also emit a `daemon-status` event per decoded trace message (off by default: it costs time). */
  emitDaemonStatus?: boolean | undefined;
  /** Clock for events no daemon time applies to (before the first message); default `Date.now`. */
  now?: (() => number) | undefined;
}

/** Where a step is, in a summary. */
export type StepStatus = "announced" | "running" | "cached" | "ran" | "failed";

/** One step in a summary: what it was, when it ran, how it ended. */
export interface StepSummary {
  step: StepInfo;
  status: StepStatus;
  /** The target the step is attributed to (see `createProgressTracker`). */
  target: string;
  /** Every target whose stream carried the step, in the order they announced it. */
  sharedWith: string[];
  /** Epoch ms. */
  started: number | null;
  completed: number | null;
  durationMs: number | null;
  error: string | null;
  logLines: number;
  /** `200KiB/s` or `2MiB` when BuildKit cut the step's output. */
  logClipped: string | null;
  progressGroup: { id: string; name: string; weak: boolean } | null;
}

/** Where a stage is, in a summary. */
export type StageStatus = "pending" | "running" | "cached" | "ran" | "failed";

/** One stage of a target in a summary. */
export interface StageSummary {
  stage: string;
  status: StageStatus;
  started: number | null;
  completed: number | null;
  durationMs: number | null;
  /** Its `[stage i/n]` steps that ran (`FROM` counts by its unreliable flag). */
  stepsRun: number;
  stepsCached: number;
  /** Digests of all steps attributed to the stage, instruction steps first in `i` order. */
  steps: string[];
}

/** What one target's stream showed. */
export interface TargetSummary {
  target: string;
  /** The built image, as `end` was told. */
  imageId: string | null;
  /** The daemon's message, when `end` was told the build failed. */
  error: string | null;
  /** Whether `end(target)` was called. */
  ended: boolean;
  started: number | null;
  completed: number | null;
  stepsRun: number;
  stepsCached: number;
  stages: StageSummary[];
  /** The steps attributed to this target, in announcement order. */
  steps: StepSummary[];
}

/** Per target, per stage and per step: what ran, what was cached, and when. */
export interface ProgressSummary {
  targets: TargetSummary[];
}

/** Where a target's build broke, as far as its stream tells: feeds `BuildFailedError`. */
export interface FailureContext {
  stage?: string | undefined;
  step?: string | undefined;
  line?: number | undefined;
  logTail: string[];
}

/** The progress of one run's builds; see `createProgressTracker`. */
export interface ProgressTracker {
  /** Feeds one BuildKit status message of `target`'s build. */
  push(target: string, status: DecodedStatus): void;
  /**
   * `target`'s stream ended: flushes its unfinished log lines and settles what it held back; a
   * build that made an image (`outcome.imageId`, no error) had every step it skipped in the cache.
   */
  end(target: string, outcome?: Partial<BuildStreamResult>): void;
  summary(): ProgressSummary;
  /** The failing step of `target` (its own or a shared one), with stage, line and last log lines. */
  failureContext(target: string): FailureContext;
}

interface StepRecord {
  vertex: TrackedVertex;
  /** Fixed at the step's first event; null until then. */
  info: StepInfo | null;
  owner: string | null;
  /** Events waiting for an unprefixed vertex's consumers to be announced. */
  held: (() => void)[] | null;
  startedSent: boolean;
  terminalSent: boolean;
}

interface StageRecord {
  id: string;
  owner: string;
  startedSent: boolean;
  status: StageStatus;
  started: number | null;
  completed: number | null;
}

interface TargetRecord {
  imageId: string | null;
  error: string | null;
  ended: boolean;
}

const isFrom = (step: StepInfo): boolean => /^FROM\s/i.test(step.instruction);
const round = (time: number): number => Math.round(time);

/**
 * Makes the progress tracker of one run: feed it every line of every target's `/build` stream and it
 * emits stage-attributed `BuildEvent`s (steps, stages, logs, warnings, transfers), then summarises.
 *
 * Attribution: a step's stage comes from its `[stage i/n]` name, else from the stages of the
 * vertices that consume it (`copy /context /`, `FROM docker.io/…` of `COPY --from=<image>`; their
 * events wait until a consumer is announced, the stream's graph arrives, or the stream ends), else
 * null (`[internal] …`, `exporting …`: target overhead). A single-stage `[i/n]` belongs to the
 * map's only stage, or `stage-0`.
 *
 * Shared steps: BuildKit runs a step shared by concurrent builds once and every stream carries it
 * (same digest, same logs). The tracker counts it once across the run and attributes it to one
 * target, the **owner**. A stage's owner is the first target in `targets` order whose
 * `targetStages` list names the stage; without that list (or when no target names it), the first
 * target in `targets` order among those whose streams had announced the step when the stage's
 * first step emitted its first event. All steps of a stage share its owner, and stage events carry
 * it; a step without a stage is owned by the first announcer in `targets` order. Exporter vertices
 * are per target. With `targetStages`, ownership does not depend on how the streams interleave;
 * without it, the same lines in the same order still give the same attribution.
 *
 * Stage lifecycle: a stage starts when its first `[stage i/n]` step starts; it is cached when all
 * its steps other than `FROM` came from the cache (`FROM`'s flag is unreliable; a stage of only
 * `FROM` steps is cached when they say so); finished when all its announced steps completed; failed
 * when one of its steps (or an unprefixed step attributed to it) fails. Event times are the daemon's
 * (epoch ms), rounded to the millisecond.
 * @example
 * const tracker = createProgressTracker({ targets: ["test", "app"], onEvent: render });
 * engine.build({ ...request, target: "app", onStatus: (status) => tracker.push("app", status) })
 *   .then(({ imageId }) => tracker.end("app", { imageId }), (error) => tracker.end("app", { error: String(error) }));
 */
export function createProgressTracker(options: ProgressTrackerOptions): ProgressTracker {
  const { onEvent, dockerfileMap } = options;
  const now = options.now ?? Date.now;
  const order = [...options.targets];
  const compare = compareStages(dockerfileMap);
  const singleStageId =
    dockerfileMap?.length === 1 && dockerfileMap[0] !== undefined
      ? dockerfileMap[0].id.toLowerCase()
      : "stage-0";
  const steps = new Map<string, StepRecord>();
  const stages = new Map<string, StageRecord>();
  const targets = new Map<string, TargetRecord>();
  const sourcesWithGraph = new Set<string>();
  const heldSteps = new Set<StepRecord>();
  /** The `[stage i/n]` steps of each stage, from every stream's graph: they start and end it. */
  const stageMembers = new Map<string, Set<StepRecord>>();

  const targetRecord = (target: string): TargetRecord => {
    let record = targets.get(target);
    if (record === undefined) {
      record = { imageId: null, error: null, ended: false };
      targets.set(target, record);
      if (!order.includes(target)) order.push(target);
    }
    return record;
  };
  for (const target of order) targetRecord(target);

  const rank = (target: string): number => order.indexOf(target);
  const firstInOrder = (sources: readonly string[]): string =>
    sources.reduce((best, source) => (rank(source) < rank(best) ? source : best));

  const stageOwner = (stage: string, sources: readonly string[]): string => {
    const { targetStages } = options;
    const planned =
      targetStages === undefined
        ? undefined
        : order.find((target) => targetStages[target]?.some((id) => id.toLowerCase() === stage));
    return planned ?? firstInOrder(sources);
  };

  const vertexGraph: VertexGraph = {
    nameOf: (digest) => vertices.get("", digest)?.parsed,
    consumersOf: (digest) => vertices.consumersOf(digest),
  };
  const stageOf = (record: StepRecord): string | null =>
    record.vertex.parsed.kind === "instruction"
      ? record.vertex.parsed.stage
      : attributeStage(record.vertex.digest, vertexGraph, compare);

  const stageRecord = (id: string, owner: string): StageRecord => {
    let stage = stages.get(id);
    if (stage === undefined) {
      stage = {
        id,
        owner,
        startedSent: false,
        status: "pending",
        started: null,
        completed: null,
      };
      stages.set(id, stage);
    }
    return stage;
  };

  /** Fixes a step's stage, owner and line at its first event. */
  const fix = (record: StepRecord): StepInfo => {
    if (record.info !== null) return record.info;
    const { vertex } = record;
    const stage = stageOf(record);
    const info = describeStep(vertex.digest, vertex.name, vertex.parsed, stage, dockerfileMap);
    record.info = info;
    const sources = vertex.sources.length > 0 ? vertex.sources : order.slice(0, 1);
    if (vertex.parsed.kind === "export" || stage === null) {
      record.owner = vertex.parsed.kind === "export" ? (sources[0] ?? "") : firstInOrder(sources);
    } else {
      record.owner = stageRecord(
        stage,
        stages.get(stage)?.owner ?? stageOwner(stage, sources),
      ).owner;
    }
    return info;
  };

  const withStep = (record: StepRecord, send: (info: StepInfo, owner: string) => void): void => {
    const run = (): void => {
      const info = fix(record);
      send(info, record.owner ?? "");
    };
    if (record.held !== null) record.held.push(run);
    else run();
  };

  const release = (record: StepRecord): void => {
    const held = record.held;
    if (held === null) return;
    record.held = null;
    heldSteps.delete(record);
    fix(record);
    for (const run of held) run();
  };

  const settleHeld = (): void => {
    for (const record of heldSteps) {
      const { sources } = record.vertex;
      if (
        stageOf(record) !== null ||
        sources.some((source) => sourcesWithGraph.has(source) || targetRecord(source).ended)
      ) {
        release(record);
      }
    }
  };

  const startStage = (stage: StageRecord, time: number): void => {
    if (stage.startedSent) return;
    stage.startedSent = true;
    stage.status = "running";
    stage.started = time;
    onEvent({ type: "stage-started", time: round(time), target: stage.owner, stage: stage.id });
  };

  const settleStage = (stage: StageRecord, failed: StepRecord | null, time: number): void => {
    if (stage.status === "cached" || stage.status === "ran" || stage.status === "failed") {
      return;
    }
    if (failed !== null) {
      startStage(stage, failed.vertex.started ?? time);
      stage.status = "failed";
      stage.completed = time;
      onEvent({
        type: "stage-failed",
        time: round(time),
        target: stage.owner,
        stage: stage.id,
        step: failed.vertex.digest,
        error: failed.vertex.error ?? "",
      });
      return;
    }
    const members = [...(stageMembers.get(stage.id) ?? [])];
    if (!members.every((member) => member.terminalSent)) return;
    const counted = members.filter((member) => member.info !== null && !isFrom(member.info));
    const basis = counted.length > 0 ? counted : members;
    const cached = basis.every((member) => member.vertex.state === "cached");
    const stepsCached = members.filter((member) => member.vertex.state === "cached").length;
    const completed = Math.max(time, ...members.map((member) => member.vertex.completed ?? time));
    startStage(stage, stage.started ?? time);
    stage.completed = completed;
    if (cached) {
      stage.status = "cached";
      onEvent({
        type: "stage-cached",
        time: round(completed),
        target: stage.owner,
        stage: stage.id,
        steps: members.length,
      });
    } else {
      stage.status = "ran";
      onEvent({
        type: "stage-finished",
        time: round(completed),
        target: stage.owner,
        stage: stage.id,
        durationMs: round(completed - (stage.started ?? completed)),
        stepsRun: members.length - stepsCached,
        stepsCached,
      });
    }
  };

  const sendStarted = (record: StepRecord, info: StepInfo, owner: string): void => {
    if (record.startedSent) return;
    record.startedSent = true;
    const time = record.vertex.started ?? record.vertex.completed ?? 0;
    if (info.stage !== null && info.kind === "instruction") {
      const stage = stages.get(info.stage);
      if (stage !== undefined) startStage(stage, time);
    }
    onEvent({ type: "step-started", time: round(time), target: owner, step: info });
  };

  const sendTerminal = (
    record: StepRecord,
    info: StepInfo,
    owner: string,
    time: number,
    error: string | null,
    cached: boolean,
  ): void => {
    if (cached && error === null && !record.startedSent) {
      // Taken from the cache without running: one `step-cached` event, no `step-started`.
      record.startedSent = true;
      const stage = info.stage === null ? undefined : stages.get(info.stage);
      if (stage !== undefined && info.kind === "instruction")
        startStage(stage, record.vertex.started ?? time);
    } else {
      sendStarted(record, info, owner);
    }
    if (record.terminalSent && error === null) return;
    record.terminalSent = true;
    const durationMs = round(time - (record.vertex.started ?? time));
    if (error !== null) {
      onEvent({
        type: "step-failed",
        time: round(time),
        target: owner,
        step: info,
        error,
        cancelled: error.endsWith("context canceled"),
        durationMs,
      });
    } else if (cached) {
      onEvent({ type: "step-cached", time: round(time), target: owner, step: info });
    } else {
      onEvent({ type: "step-finished", time: round(time), target: owner, step: info, durationMs });
    }
    const stage = info.stage === null ? undefined : stages.get(info.stage);
    if (stage !== undefined) settleStage(stage, error === null ? null : record, time);
  };

  /**
   * When a build succeeds, the steps its graph announced that never started were not needed: BuildKit
   * found a later step in the cache and skipped them. They count as cached (once no other stream that
   * announced them is still running).
   */
  const markSkippedAsCached = (target: string): void => {
    const time = vertices.latestTime() ?? now();
    for (const record of steps.values()) {
      const { vertex } = record;
      if (vertex.state !== "announced" || !vertex.sources.includes(target)) continue;
      if (vertex.parsed.kind !== "instruction") continue;
      if (!vertex.sources.every((source) => targetRecord(source).ended)) continue;
      vertex.state = "cached";
      vertex.cached = true;
      vertex.completed = time;
      withStep(record, (info, owner) => {
        sendTerminal(record, info, owner, time, null, true);
      });
    }
  };

  const recordOf = (vertex: TrackedVertex): StepRecord => {
    let record = steps.get(vertex.key);
    if (record === undefined) {
      record = {
        vertex,
        info: null,
        owner: null,
        held: null,
        startedSent: false,
        terminalSent: false,
      };
      steps.set(vertex.key, record);
    }
    return record;
  };

  const handle = (change: VertexChange): void => {
    switch (change.type) {
      case "announced": {
        const record = recordOf(change.vertex);
        const { parsed } = change.vertex;
        if (parsed.kind === "instruction" && parsed.stage !== null) {
          let members = stageMembers.get(parsed.stage);
          if (members === undefined) stageMembers.set(parsed.stage, (members = new Set()));
          members.add(record);
        }
        if (
          record.info === null &&
          record.held === null &&
          change.vertex.parsed.kind === "other" &&
          !sourcesWithGraph.has(change.source)
        ) {
          record.held = [];
          heldSteps.add(record);
        }
        return;
      }
      case "graph":
        sourcesWithGraph.add(change.source);
        settleHeld();
        return;
      case "started": {
        const record = recordOf(change.vertex);
        withStep(record, (info, owner) => {
          sendStarted(record, info, owner);
        });
        return;
      }
      case "completed":
      case "failed": {
        const record = recordOf(change.vertex);
        const error = change.type === "failed" ? change.error : null;
        const cached = change.type === "completed" && change.cached;
        withStep(record, (info, owner) => {
          sendTerminal(record, info, owner, change.time, error, cached);
        });
        return;
      }
      case "log": {
        const { stream, line, time } = change;
        withStep(recordOf(change.vertex), (info, owner) => {
          onEvent({
            type: "log",
            time: round(time),
            target: owner,
            stage: info.stage,
            step: info.digest,
            stream,
            line,
          });
        });
        return;
      }
      case "status": {
        const { status } = change;
        const time = status.completed ?? status.timestamp ?? vertices.latestTime() ?? now();
        withStep(recordOf(change.vertex), (info, owner) => {
          onEvent({
            type: "transfer",
            time: round(time),
            target: owner,
            step: info.digest,
            id: status.id,
            name: status.name,
            current: status.current,
            total: status.total,
            completed: status.completed !== null,
          });
        });
        return;
      }
      case "warning": {
        const { warning, vertex, source } = change;
        const line = warning.ranges[0]?.start.line ?? null;
        const record = vertex === null ? undefined : steps.get(vertex.key);
        const stage =
          (dockerfileMap !== undefined && line !== null
            ? findStageAtLine(dockerfileMap, line)
            : null) ??
          record?.info?.stage ??
          null;
        onEvent({
          type: "warning",
          time: round(vertices.latestTime() ?? now()),
          target: source,
          stage,
          step: vertex?.digest ?? null,
          level: warning.level,
          message: warning.short,
          detail: warning.detail,
          url: warning.url === "" ? null : warning.url,
          file: warning.info?.filename ?? null,
          line,
          ranges: warning.ranges,
        });
        return;
      }
      default:
        change satisfies never;
    }
  };

  const vertices = createVertexTracker({ onChange: handle, singleStageId, dockerfileMap });

  const summariseStep = (record: StepRecord): StepSummary => {
    const { vertex } = record;
    const info =
      record.info ??
      describeStep(vertex.digest, vertex.name, vertex.parsed, stageOf(record), dockerfileMap);
    const status: StepStatus = vertex.state === "completed" ? "ran" : vertex.state;
    return {
      step: info,
      status,
      target: ownerOf(record, info),
      sharedWith: [...vertex.sources],
      started: vertex.started === null ? null : round(vertex.started),
      completed: vertex.completed === null ? null : round(vertex.completed),
      durationMs:
        vertex.started === null || vertex.completed === null
          ? null
          : round(vertex.completed - vertex.started),
      error: vertex.error,
      logLines: vertex.logLines,
      logClipped: vertex.logClipped,
      progressGroup: vertex.progressGroup,
    };
  };

  /** The owner a step has, or would get if it emitted now. */
  const ownerOf = (record: StepRecord, info: StepInfo): string => {
    if (record.owner !== null) return record.owner;
    const sources = record.vertex.sources.length > 0 ? record.vertex.sources : order.slice(0, 1);
    if (record.vertex.parsed.kind === "export") return sources[0] ?? "";
    if (info.stage !== null) {
      const stage = stages.get(info.stage);
      if (stage !== undefined) return stage.owner;
    }
    return firstInOrder(sources);
  };

  return {
    push(target, status) {
      targetRecord(target);
      if (options.emitDaemonStatus === true) {
        onEvent({
          type: "daemon-status",
          time: round(vertices.latestTime() ?? now()),
          target,
          status: toDaemonStatus(status),
        });
      }
      vertices.update(target, status);
      settleHeld();
    },
    end(target, outcome) {
      const record = targetRecord(target);
      if (record.ended) return;
      record.ended = true;
      record.imageId = outcome?.imageId ?? null;
      record.error = outcome?.error ?? null;
      vertices.endSource(target);
      settleHeld();
      if (outcome?.imageId !== undefined && outcome.error === undefined)
        markSkippedAsCached(target);
    },
    summary() {
      const byTarget = new Map<string, StepSummary[]>(order.map((target) => [target, []]));
      for (const record of steps.values()) {
        const summary = summariseStep(record);
        byTarget.get(summary.target)?.push(summary);
      }
      return {
        targets: order.map((target): TargetSummary => {
          const record = targetRecord(target);
          const own = byTarget.get(target) ?? [];
          // Stages in the order they started (not started last), then in Dockerfile order.
          const startOf = (id: string): number => stages.get(id)?.started ?? Infinity;
          const stageIds = [
            ...new Set(own.flatMap((s) => (s.step.stage === null ? [] : [s.step.stage]))),
          ].sort((x, y) => startOf(x) - startOf(y) || compare(x, y));
          const startedTimes = own.flatMap((s) => (s.started === null ? [] : [s.started]));
          const completedTimes = own.flatMap((s) => (s.completed === null ? [] : [s.completed]));
          const countRun = (list: StepSummary[]): number =>
            list.filter((s) => s.status === "ran" || s.status === "failed").length;
          const countCached = (list: StepSummary[]): number =>
            list.filter((s) => s.status === "cached").length;
          return {
            target,
            imageId: record.imageId,
            error: record.error,
            ended: record.ended,
            started: startedTimes.length === 0 ? null : Math.min(...startedTimes),
            completed: completedTimes.length === 0 ? null : Math.max(...completedTimes),
            stepsRun: countRun(own),
            stepsCached: countCached(own),
            stages: stageIds.map((id): StageSummary => {
              const stage = stages.get(id);
              const inStage = own
                .filter((s) => s.step.stage === id)
                .sort(
                  (a, b) =>
                    (a.step.index ?? Number.MAX_SAFE_INTEGER) -
                    (b.step.index ?? Number.MAX_SAFE_INTEGER),
                );
              const members = inStage.filter((s) => s.step.kind === "instruction");
              const started = stage?.started ?? null;
              const completed = stage?.completed ?? null;
              return {
                stage: id,
                status: stage?.status ?? "pending",
                started: started === null ? null : round(started),
                completed: completed === null ? null : round(completed),
                durationMs:
                  started === null || completed === null ? null : round(completed - started),
                stepsRun: countRun(members),
                stepsCached: countCached(members),
                steps: inStage.map((s) => s.step.digest),
              };
            }),
            steps: own,
          };
        }),
      };
    },
    failureContext(target) {
      const failed = [...steps.values()].filter(
        (record) => record.vertex.state === "failed" && record.vertex.sources.includes(target),
      );
      const pick =
        failed.find((record) => record.owner === target && record.vertex.parsed.kind !== "other") ??
        failed[0];
      if (pick === undefined) return { logTail: [] };
      const info =
        pick.info ??
        describeStep(
          pick.vertex.digest,
          pick.vertex.name,
          pick.vertex.parsed,
          stageOf(pick),
          dockerfileMap,
        );
      const context: FailureContext = { step: info.name, logTail: [...pick.vertex.logTail] };
      if (info.stage !== null) context.stage = info.stage;
      if (info.line !== null) context.line = info.line;
      const base = /^\[internal\] load metadata for (.+)$/.exec(info.name);
      if (info.stage === null && base?.[1] !== undefined && dockerfileMap !== undefined) {
        const found = findStageOfBaseImage(dockerfileMap, base[1]);
        if (found !== null) {
          context.stage = found.stage;
          context.line = found.line;
        }
      }
      return context;
    },
  };
}

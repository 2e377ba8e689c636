// Turns a run's recorded events (plus what only the engine and the front end know: image sizes, stage
// edges) into the report a person acts on. Pure: every value in and out is plain JSON.
import type { CancelReason, ErrorCode } from "../errors.js";
import type { BuildEvent, RunContext, StepInfo } from "../events.js";
import { findCriticalPath, type StageDependencies } from "./find-critical-path.js";

/** Version of the `BuildReport` shape; bumped on any incompatible change. */
export const BUILD_REPORT_SCHEMA_VERSION = 1;

/** How many log lines a failure keeps, oldest first. */
const FAILURE_LOG_LINES = 20;
/** How many steps `slowestSteps` lists. */
const SLOWEST_STEP_COUNT = 5;

/** The engine's data about a built image. */
export interface ImageSummary {
  id: string;
  /** Bytes, as `docker image inspect` reports `Size`. */
  size: number;
}

/** What `createBuildReport` reads. */
export interface BuildReportInput {
  /** Every event of the run, in the order `onEvent` received them. */
  events: readonly BuildEvent[];
  /** Per target, the engine's data about its image (undefined when it was not built or not inspected). */
  images?: Readonly<Record<string, ImageSummary | undefined>> | undefined;
  /** The stage dependency edges, from the Dockerfile front end; without them no chain is longer than a stage. */
  stageGraph?: { stages: readonly StageDependencies[] } | undefined;
  /** Per target, the stages its build needs (its own stage included). */
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** How a target's build ended; `incomplete` when the events stop before it ended. */
export type TargetStatus = "succeeded" | "failed" | "cancelled" | "incomplete";

/** One requested target in the report. */
export interface TargetReport {
  target: string;
  status: TargetStatus;
  /** Why it was cancelled, when it was. */
  cancelReason: CancelReason | null;
  /** From the build request to its end; null when it never started. */
  wallMs: number | null;
  /** Dockerfile steps of this target's stages that ran (a failed step ran too). */
  stepsRun: number;
  /** Dockerfile steps of this target's stages taken from the cache. */
  stepsCached: number;
  /** `stepsCached` out of all its steps, 0–100, whole numbers; null when it has no steps. */
  cachedPercent: number | null;
  imageId: string | null;
  tags: string[];
  /** Image size in bytes, when the engine reported it. */
  sizeBytes: number | null;
  /** This image against the stage it was built from, when that stage was a target of this run too. */
  sizeComparison: SizeComparison | null;
}

/** A final image against the (bigger, usually) stage it copies from: `build 1.1 GB → app 48 MB, −96%`. */
export interface SizeComparison {
  /** The stage (built as a target of this run) the image was built from. */
  from: string;
  fromSize: number;
  toSize: number;
  /** `(toSize − fromSize) / fromSize` in percent, one decimal; negative when the image is smaller. */
  changePercent: number;
}

/** How a stage fared in this run: one stage may serve several targets, and is counted once. */
export interface StageReport {
  stage: string;
  /** The target its steps were attributed to (the first one that reported them). */
  target: string | null;
  status: "ran" | "cached" | "failed" | "incomplete";
  /** From its first step's start to its last step's end, cached steps not counted. */
  durationMs: number;
  stepsRun: number;
  stepsCached: number;
}

/** A link of the critical path. */
export interface CriticalPathStage {
  stage: string;
  durationMs: number;
}

/** The longest chain of stage durations along the stage graph's edges, against the run's wall time. */
export interface CriticalPath {
  /** First stage first. */
  stages: CriticalPathStage[];
  durationMs: number;
  wallMs: number;
  /** `durationMs` out of `wallMs`, 0–100, whole numbers; null when the wall time is 0. */
  percentOfWall: number | null;
}

/** One of the steps that took longest. */
export interface SlowStep {
  target: string;
  stage: string | null;
  /** The vertex name as BuildKit shows it, e.g. `[build 2/5] RUN make`. */
  name: string;
  /** The instruction without the `[stage i/n]` prefix, e.g. `RUN make`. */
  instruction: string;
  line: number | null;
  durationMs: number;
  status: "finished" | "failed";
}

/** Where a target broke: target → stage → Dockerfile line → the daemon's message → its last log lines. */
export interface TargetFailure {
  target: string;
  code: ErrorCode;
  stage: string | null;
  /** The failing step's name, e.g. `[build 2/4] RUN make`. */
  step: string | null;
  line: number | null;
  /** The daemon's (or stagecraft's) message. */
  message: string;
  hint: string | null;
  /** The last lines the failing step printed, oldest first (at most 20). */
  logTail: string[];
  /** For `MISSING_SECRET` and `MISSING_SSH_AGENT`: the id the Dockerfile names. */
  missingId: string | null;
}

/** A warning from the Dockerfile front end, once per message and place. */
export interface ReportWarning {
  target: string;
  stage: string | null;
  message: string;
  file: string | null;
  line: number | null;
  url: string | null;
}

/** The end-of-run report: JSON-serialisable, the same data every renderer prints. */
export interface BuildReport {
  schemaVersion: typeof BUILD_REPORT_SCHEMA_VERSION;
  status: "succeeded" | "failed" | "cancelled";
  /** Epoch milliseconds; null when there were no events. */
  startedAt: number | null;
  wallMs: number;
  /** In the requested order. */
  targets: TargetReport[];
  /** In Dockerfile order (without a stage graph, or for stages it does not name: as first seen). */
  stages: StageReport[];
  /** Each Dockerfile step counted once, however many targets need it. */
  totals: { stepsRun: number; stepsCached: number; cachedPercent: number | null };
  criticalPath: CriticalPath | null;
  /** The five steps that ran longest, longest first. */
  slowestSteps: SlowStep[];
  /** In the order the targets failed. */
  failures: TargetFailure[];
  warnings: ReportWarning[];
  /**
   * How the build context travelled: as a tar (its files and bytes, sent with each target's build)
   * or through the session (what FileSync sent in all: only changed files on a rebuild).
   */
  context: (RunContext & { sent: { files: number; bytes: number } | null }) | null;
}

interface StepRecord {
  info: StepInfo;
  target: string;
  status: "running" | "cached" | "finished" | "failed" | "cancelled";
  startedAt: number | null;
  /** The digest whose `step-started` set `startedAt`. */
  startedDigest: string | null;
  endedAt: number | null;
  durationMs: number | null;
}

interface TargetRecord {
  startedAt: number | null;
  end: Extract<
    BuildEvent,
    { type: "target-finished" | "target-failed" | "target-cancelled" }
  > | null;
  failedStage: { stage: string; step: string } | null;
}

/** What a report is made from besides the events: what only the front end knows. */
export interface ReportBuilderOptions {
  /** The stage dependency edges, from the Dockerfile front end; without them no chain is longer than a stage. */
  stageGraph?: { stages: readonly StageDependencies[] } | undefined;
  /** Per target, the stages its build needs (its own stage included). */
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** Takes a run's events one at a time and keeps only what the report needs; see `createReportBuilder`. */
export interface ReportBuilder {
  /** Takes the next event of the run. */
  add(event: BuildEvent): void;
  /** The report of the events so far, with the engine's data about the images. */
  finish(images?: Readonly<Record<string, ImageSummary | undefined>>): BuildReport;
}

/**
 * Makes the report of a run as its events arrive, keeping a constant amount per step (its state
 * and its last log lines), never the events themselves: a run that prints millions of lines builds
 * its report in the same memory as a quiet one.
 *
 * @example
 * const builder = createReportBuilder({ targetStages });
 * const onEvent = (event: BuildEvent) => builder.add(event);
 * // … after the run:
 * const report = builder.finish(images);
 */
export function createReportBuilder(options: ReportBuilderOptions = {}): ReportBuilder {
  const graph = options.stageGraph?.stages ?? [];
  const targetStages = options.targetStages ?? {};

  let runStarted: Extract<BuildEvent, { type: "run-started" }> | null = null;
  let runFinished: Extract<BuildEvent, { type: "run-finished" }> | null = null;
  let firstTime: number | null = null;
  let lastTime: number | null = null;
  const targetOrder: string[] = [];
  const targets = new Map<string, TargetRecord>();
  const steps = new Map<string, StepRecord>();
  const stepsByDigest = new Map<string, StepRecord>();
  const logs = new Map<string, string[]>();
  const failureOrder: string[] = [];
  const warnings = new Map<string, ReportWarning>();
  const sent = { files: 0, bytes: 0 };
  const targetRecord = (target: string): TargetRecord => {
    let record = targets.get(target);
    if (record === undefined) {
      record = { startedAt: null, end: null, failedStage: null };
      targets.set(target, record);
      targetOrder.push(target);
    }
    return record;
  };
  const stepRecord = (target: string, info: StepInfo): StepRecord => {
    // One Dockerfile step can reach the daemon under several digests (each target's request carries
    // its own context, so `COPY` and what follows differ); `[stage i/n]` names the step itself.
    const key =
      info.kind === "instruction" && info.stage !== null && info.index !== null
        ? `${info.stage}\u0000${info.index}`
        : info.digest;
    let record = steps.get(key);
    if (record === undefined) {
      record = {
        info,
        target,
        status: "running",
        startedAt: null,
        startedDigest: null,
        endedAt: null,
        durationMs: null,
      };
      steps.set(key, record);
    }
    if (!stepsByDigest.has(info.digest)) {
      stepsByDigest.set(info.digest, record);
    }
    return record;
  };

  const add = (event: BuildEvent): void => {
    firstTime = firstTime === null ? event.time : Math.min(firstTime, event.time);
    lastTime = lastTime === null ? event.time : Math.max(lastTime, event.time);
    switch (event.type) {
      case "run-started":
        runStarted = event;
        for (const target of event.targets) targetRecord(target);
        break;
      case "run-finished":
        runFinished = event;
        break;
      case "target-queued":
        targetRecord(event.target);
        break;
      case "target-started":
        targetRecord(event.target).startedAt = event.time;
        break;
      case "target-finished":
      case "target-cancelled":
        targetRecord(event.target).end = event;
        break;
      case "target-failed":
        targetRecord(event.target).end = event;
        failureOrder.push(event.target);
        break;
      case "stage-failed":
        targetRecord(event.target).failedStage = { stage: event.stage, step: event.step };
        break;
      case "step-started": {
        const record = stepRecord(event.target, event.step);
        if (record.startedAt === null) record.startedDigest = event.step.digest;
        record.startedAt ??= event.time;
        break;
      }
      case "step-cached": {
        const record = stepRecord(event.target, event.step);
        // A replica of the step under another digest may be cached while this one runs; but the
        // digest that started and was then found in the cache (BuildKit starts a step to look it
        // up) was cached.
        if (
          record.status === "running" &&
          (record.startedAt === null || record.startedDigest === event.step.digest)
        ) {
          record.status = "cached";
          record.endedAt = event.time;
        }
        break;
      }
      case "step-finished":
      case "step-failed": {
        const record = stepRecord(event.target, event.step);
        record.status =
          event.type === "step-finished" ? "finished" : event.cancelled ? "cancelled" : "failed";
        record.endedAt = event.time;
        record.durationMs = event.durationMs;
        record.startedAt ??= event.time - event.durationMs;
        break;
      }
      case "log": {
        const lines = logs.get(event.step) ?? [];
        lines.push(event.line);
        if (lines.length > FAILURE_LOG_LINES) lines.shift();
        logs.set(event.step, lines);
        break;
      }
      case "warning": {
        const key = `${event.message}\u0000${event.file ?? ""}\u0000${event.line ?? ""}`;
        if (!warnings.has(key)) {
          warnings.set(key, {
            target: event.target,
            stage: event.stage,
            message: event.message,
            file: event.file,
            line: event.line,
            url: event.url,
          });
        }
        break;
      }
      case "context-sent":
        // Only the context's own files: the Dockerfile's transfer is not what COPY reads.
        if (event.source === "context") {
          sent.files += event.files;
          sent.bytes += event.bytes;
        }
        break;
      case "stage-started":
      case "stage-cached":
      case "stage-finished":
      case "transfer":
      case "daemon-status":
      case "engine-quiet":
        break;
      default:
        event satisfies never;
    }
  };

  const finish = (images: Readonly<Record<string, ImageSummary | undefined>> = {}): BuildReport => {
    const startedAt = runStarted?.time ?? firstTime;
    const endedAt = runFinished?.time ?? lastTime;
    const wallMs =
      runFinished?.durationMs ??
      (startedAt !== null && endedAt !== null ? Math.max(0, endedAt - startedAt) : 0);
    const runEnd = endedAt ?? 0;

    // In Dockerfile order, whatever order the daemon reported them in: the same build, the same report.
    const fileOrder = new Map(graph.map((stage, index) => [stage.id, index]));
    // (Array.prototype.sort is stable: stages the graph does not name keep the order they were seen in.)
    const stages = summariseStages(steps, runEnd).sort(
      (a, b) => (fileOrder.get(a.stage) ?? Infinity) - (fileOrder.get(b.stage) ?? Infinity),
    );
    // Only stages this run reached (ran or found cached) take part: a stage with no step never began.
    const durations = new Map(stages.map((stage) => [stage.stage, stage.durationMs]));
    const chain = findCriticalPath(graph, durations);

    const targetReports = targetOrder.map((target) =>
      summariseTarget(target, targets.get(target), steps, targetStages[target], images[target]),
    );
    for (const report of targetReports) {
      report.sizeComparison = compareSize(report, targetReports, graph, targetStages);
    }

    const allSteps = countSteps([...steps.values()]);

    return {
      schemaVersion: BUILD_REPORT_SCHEMA_VERSION,
      status: runFinished?.status ?? inferRunStatus(targetReports),
      startedAt,
      wallMs,
      targets: targetReports,
      stages,
      totals: allSteps,
      criticalPath:
        chain === null
          ? null
          : {
              stages: chain.stages.map((stage) => ({
                stage,
                durationMs: durations.get(stage) ?? 0,
              })),
              durationMs: chain.durationMs,
              wallMs,
              percentOfWall: wallMs > 0 ? Math.round((chain.durationMs / wallMs) * 100) : null,
            },
      slowestSteps: findSlowestSteps(steps),
      failures: failureOrder.flatMap((target) => {
        const record = targets.get(target);
        const end = record?.end;
        return end?.type === "target-failed"
          ? [describeFailure(end, record?.failedStage ?? null, stepsByDigest, logs)]
          : [];
      }),
      warnings: [...warnings.values()],
      context:
        runStarted === null
          ? null
          : {
              ...runStarted.context,
              sent:
                runStarted.context.transfer === "session"
                  ? { files: sent.files, bytes: sent.bytes }
                  : null,
            },
    };
  };

  return { add, finish };
}

/**
 * Summarises a run from its recorded events: per-target status, time, cache use and image size; the
 * critical path through the stages; the slowest steps; and, for each failed target, where it broke.
 *
 * @example
 * const report = createBuildReport({ events, images, stageGraph, targetStages });
 */
export function createBuildReport(input: BuildReportInput): BuildReport {
  const builder = createReportBuilder(input);
  for (const event of input.events) builder.add(event);
  return builder.finish(input.images ?? {});
}

function summariseStages(steps: ReadonlyMap<string, StepRecord>, runEnd: number): StageReport[] {
  const byStage = new Map<string, StepRecord[]>();
  for (const step of steps.values()) {
    if (step.info.stage === null) continue;
    const list = byStage.get(step.info.stage) ?? [];
    list.push(step);
    byStage.set(step.info.stage, list);
  }
  return [...byStage].map(([stage, list]) => {
    // The time the stage's steps were running, overlaps counted once: concurrent builds of a shared
    // stage can replay its steps under other digests, and those must not stretch the stage.
    const intervals: [number, number][] = [];
    for (const step of list) {
      if (step.status === "cached" || step.startedAt === null || isFromStep(step)) continue;
      // A step still running when the events stop (an interrupted run) ran until then.
      intervals.push([step.startedAt, step.endedAt ?? runEnd]);
    }
    const durationMs = unionLength(intervals);
    const counts = countSteps(list);
    const statuses = new Set(list.map((step) => step.status));
    return {
      stage,
      target: list[0]?.target ?? null,
      status: statuses.has("failed")
        ? "failed"
        : statuses.has("running") || statuses.has("cancelled")
          ? "incomplete"
          : counts.stepsRun === 0
            ? "cached"
            : "ran",
      durationMs,
      stepsRun: counts.stepsRun,
      stepsCached: counts.stepsCached,
    };
  });
}

function summariseTarget(
  target: string,
  record: TargetRecord | undefined,
  steps: ReadonlyMap<string, StepRecord>,
  stages: readonly string[] | undefined,
  image: ImageSummary | undefined,
): TargetReport {
  const end = record?.end ?? null;
  const startedAt = record?.startedAt ?? null;
  const ownStages = new Set(stages ?? []);
  // A target's steps: the ones attributed to it, and those of every stage it needs (a shared stage's
  // steps are reported once, under the target that got to them first).
  const mine = [...steps.values()].filter(
    (step) =>
      step.info.stage !== null && (step.target === target || ownStages.has(step.info.stage)),
  );
  let wallMs: number | null = null;
  if (end !== null && end.type !== "target-cancelled") wallMs = end.durationMs;
  else if (end !== null && startedAt !== null) wallMs = Math.max(0, end.time - startedAt);
  return {
    target,
    status:
      end === null
        ? "incomplete"
        : end.type === "target-finished"
          ? "succeeded"
          : end.type === "target-failed"
            ? "failed"
            : "cancelled",
    cancelReason: end?.type === "target-cancelled" ? end.reason : null,
    wallMs,
    ...countSteps(mine),
    imageId: end?.type === "target-finished" ? end.imageId : (image?.id ?? null),
    tags: end?.type === "target-finished" ? [...end.tags] : [],
    sizeBytes: image?.size ?? null,
    sizeComparison: null,
  };
}

function countSteps(list: readonly StepRecord[]): {
  stepsRun: number;
  stepsCached: number;
  cachedPercent: number | null;
} {
  let stepsRun = 0;
  let stepsCached = 0;
  for (const step of list) {
    // Only the Dockerfile's own steps (`[stage i/n]`) count: BuildKit's plumbing (`copy /context /`,
    // the `FROM` of a `COPY --from=<image>`) may reach the daemon once or once per target, so
    // counting it would make the same build give different counts. `FROM` steps are left out too:
    // BuildKit's `cached` flag on them is unreliable (and they take no time).
    if (step.info.kind !== "instruction" || step.info.stage === null || isFromStep(step)) continue;
    if (step.status === "cached") stepsCached += 1;
    else if (step.status === "finished" || step.status === "failed") stepsRun += 1;
  }
  const total = stepsRun + stepsCached;
  return {
    stepsRun,
    stepsCached,
    cachedPercent: total === 0 ? null : Math.round((stepsCached / total) * 100),
  };
}

function inferRunStatus(targets: readonly TargetReport[]): BuildReport["status"] {
  if (targets.some((target) => target.status === "failed")) return "failed";
  if (targets.some((target) => target.status !== "succeeded")) return "cancelled";
  return "succeeded";
}

/** The stage a target's image is: its own name when it names one of its stages, else its last stage. */
function finalStageOf(
  target: string,
  graph: readonly StageDependencies[],
  targetStages: Readonly<Record<string, readonly string[]>>,
): string {
  const stages = targetStages[target];
  if (stages === undefined || stages.length === 0 || stages.includes(target)) return target;
  const needed = new Set<string>();
  for (const stage of graph) {
    if (stages.includes(stage.id)) for (const dependency of stage.dependsOn) needed.add(dependency);
  }
  return stages.findLast((stage) => !needed.has(stage)) ?? target;
}

/**
 * Finds the stage this target's image was built from among the other targets of the run with a known
 * size: the nearest along `dependsOn` edges, the biggest of equally near ones.
 */
function compareSize(
  report: TargetReport,
  all: readonly TargetReport[],
  graph: readonly StageDependencies[],
  targetStages: Readonly<Record<string, readonly string[]>>,
): SizeComparison | null {
  const toSize = report.sizeBytes;
  if (toSize === null) return null;
  const sizeByStage = new Map<string, number>();
  for (const other of all) {
    if (other.target === report.target || other.sizeBytes === null || other.sizeBytes <= 0)
      continue;
    sizeByStage.set(finalStageOf(other.target, graph, targetStages), other.sizeBytes);
  }
  const dependsOn = new Map(graph.map((stage) => [stage.id, stage.dependsOn]));
  const own = finalStageOf(report.target, graph, targetStages);
  const seen = new Set([own]);
  let level = [own];
  while (level.length > 0) {
    const next: string[] = [];
    let best: { stage: string; size: number } | null = null;
    for (const stage of level) {
      for (const dependency of dependsOn.get(stage) ?? []) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        next.push(dependency);
        const size = sizeByStage.get(dependency);
        if (size !== undefined && (best === null || size > best.size)) {
          best = { stage: dependency, size };
        }
      }
    }
    if (best !== null) {
      return {
        from: best.stage,
        fromSize: best.size,
        toSize,
        changePercent: Math.round(((toSize - best.size) / best.size) * 1000) / 10,
      };
    }
    level = next;
  }
  return null;
}

function findSlowestSteps(steps: ReadonlyMap<string, StepRecord>): SlowStep[] {
  const ran: SlowStep[] = [];
  for (const step of steps.values()) {
    if ((step.status !== "finished" && step.status !== "failed") || step.durationMs === null) {
      continue;
    }
    ran.push({
      target: step.target,
      stage: step.info.stage,
      name: step.info.name,
      instruction: step.info.instruction,
      line: step.info.line,
      durationMs: step.durationMs,
      status: step.status,
    });
  }
  // Array.prototype.sort is stable: equally slow steps keep the order they were seen in.
  return ran.sort((a, b) => b.durationMs - a.durationMs).slice(0, SLOWEST_STEP_COUNT);
}

function describeFailure(
  end: Extract<BuildEvent, { type: "target-failed" }>,
  failedStage: TargetRecord["failedStage"],
  steps: ReadonlyMap<string, StepRecord>,
  logs: ReadonlyMap<string, readonly string[]>,
): TargetFailure {
  const { error } = end;
  // The error carries what the engine could attribute; the step events fill in what it could not.
  const failedStep = failedStage === null ? undefined : steps.get(failedStage.step)?.info;
  const logTail =
    error.logTail.length > 0
      ? error.logTail
      : failedStage === null
        ? []
        : (logs.get(failedStage.step) ?? []);
  return {
    target: end.target,
    code: error.code,
    stage: error.stage ?? failedStage?.stage ?? null,
    step: error.step ?? failedStep?.name ?? null,
    line: error.line ?? failedStep?.line ?? null,
    message: error.message,
    hint: error.hint ?? null,
    logTail: logTail.slice(-FAILURE_LOG_LINES),
    missingId: error.missingId ?? null,
  };
}

function isFromStep(step: StepRecord): boolean {
  return /^FROM\s/i.test(step.info.instruction);
}

/** The total length of a set of time intervals, overlaps counted once. */
function unionLength(intervals: [number, number][]): number {
  const sorted = intervals.filter(([start, end]) => end >= start).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | null = null;
  for (const [start, end] of sorted) {
    if (current === null || start > current[1]) {
      if (current !== null) total += current[1] - current[0];
      current = [start, end];
    } else {
      current[1] = Math.max(current[1], end);
    }
  }
  if (current !== null) total += current[1] - current[0];
  return total;
}

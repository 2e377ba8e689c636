// Turns a run's events (plus what only the engine and the front end know: image sizes, stage edges)
// into the report a person acts on, as the events arrive. Pure: every value in and out is plain JSON.
import type { BuildEvent, StepInfo } from "../events.js";
import {
  BUILD_REPORT_SCHEMA_VERSION,
  type BuildReport,
  type LayerReport,
  type PublishedTarget,
  type ReportWarning,
  type StepStatus,
  type TargetFailure,
} from "./build-report.js";
import { checkSizeBudgets } from "./check-size-budgets.js";
import { compareSizes } from "./compare-sizes.js";
import type { StageDependencies } from "./find-critical-path.js";
import {
  summariseCriticalPath,
  summariseStages,
  summariseSteps,
  summariseTargets,
  summariseTotals,
  type RunWindow,
  type StepRecord,
  type TargetRecord,
} from "./summarise-run.js";
import {
  FAILURE_LINE_CHARS,
  FAILURE_LOG_LINES,
  FAILURE_MESSAGE_CHARS,
  cut,
} from "./cap-failure.js";

/** How many steps `slowestSteps` lists. */
const SLOWEST_STEP_COUNT = 5;

/** The engine's data about a built image. */
export interface ImageSummary {
  id: string;
  /** Bytes, as `docker image inspect` reports `Size`. */
  sizeBytes: number;
}

/** What the engine told about sizes besides each target's image, for `ReportBuilder.finish`. */
export interface ReportSizes {
  /** Sizes in bytes of stages that are no target's image, measured by size probes, by stage id. */
  stageSizes?: Readonly<Record<string, number>> | undefined;
  /** Per target, its image's history entries attributed to stages and lines (`attributeLayers`). */
  layers?: Readonly<Record<string, LayerReport[] | undefined>> | undefined;
  /** Size budgets in bytes per target (`--size-budget`). */
  budgets?: Readonly<Record<string, number>> | undefined;
  /** Which size `sizeBytes` means on this engine (see `BuildReport.sizeMeaning`). */
  sizeMeaning?: string | undefined;
  /** Stages whose size was not measured, and why (see `BuildReport.unmeasuredStages`). */
  unmeasuredStages?: readonly { stage: string; reason: string }[] | undefined;
}

/**
 * What a report is made from besides the events: what only the front end knows. A run's
 * `run-started` event carries both; these override it (for events recorded without them).
 */
export interface ReportBuilderOptions {
  /** The stage dependency edges in Dockerfile order; without them no chain is longer than a stage. */
  stageGraph?: { stages: readonly StageDependencies[] } | undefined;
  /** Per target, the stages its build needs (its own stage included). */
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** Takes a run's events one at a time and keeps only what the report needs; see `createReportBuilder`. */
export interface ReportBuilder {
  /** Takes the next event of the run. */
  add(event: BuildEvent): void;
  /**
   * The report of the events so far, with the engine's data about the images: the same numbers at
   * any time (a live view shows them) as at the end.
   */
  finish(
    images?: Readonly<Record<string, ImageSummary | undefined>>,
    sizes?: ReportSizes,
  ): BuildReport;
}

/**
 * Makes the report of a run as its events arrive, keeping a constant amount per step (its state
 * and its last log lines), never the events themselves: a run that prints millions of lines builds
 * its report in the same memory as a quiet one.
 *
 * @example
 * const builder = createReportBuilder();
 * socket.on("event", (event: BuildEvent) => builder.add(event)); // events of a run, as they come
 * const report = builder.finish(); // at any time: the numbers so far
 */
export function createReportBuilder(options: ReportBuilderOptions = {}): ReportBuilder {
  // What the options do not give, `run-started` says (the stages and who needs them).
  let graph: readonly StageDependencies[] = options.stageGraph?.stages ?? [];
  let targetStages: Readonly<Record<string, readonly string[]>> = options.targetStages ?? {};

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
  const pushed = new Map<string, PublishedTarget["tags"]>();
  const pushFailures = new Map<string, NonNullable<PublishedTarget["error"]>>();

  const targetRecord = (target: string): TargetRecord => {
    let record = targets.get(target);
    if (record === undefined) {
      record = { startedAt: null, end: null, failedStep: null };
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
    if (!stepsByDigest.has(info.digest)) stepsByDigest.set(info.digest, record);
    return record;
  };
  const end = (record: StepRecord, status: StepStatus, time: number, ms: number): void => {
    record.status = status;
    record.endedAt = time;
    record.durationMs = ms;
    record.startedAt ??= time - ms;
  };

  const add = (event: BuildEvent): void => {
    firstTime = firstTime === null ? event.time : Math.min(firstTime, event.time);
    lastTime = lastTime === null ? event.time : Math.max(lastTime, event.time);
    switch (event.type) {
      case "run-started":
        runStarted = event;
        for (const target of event.targets) targetRecord(target);
        if (options.stageGraph === undefined) graph = event.stages;
        if (options.targetStages === undefined) targetStages = event.targetStages;
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
        targetRecord(event.target).failedStep ??= event.step;
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
        end(stepRecord(event.target, event.step), "ran", event.time, event.durationMs);
        break;
      case "step-failed": {
        const record = stepRecord(event.target, event.step);
        end(record, event.cancelled ? "cancelled" : "failed", event.time, event.durationMs);
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
      case "target-pushed": {
        const list = pushed.get(event.target) ?? [];
        list.push({ tag: event.tag, digest: event.digest });
        pushed.set(event.target, list);
        break;
      }
      case "push-failed":
        pushFailures.set(event.target, {
          tag: event.tag,
          registry: event.registry,
          message: cut(event.error.message, FAILURE_MESSAGE_CHARS),
          hint: event.error.hint ?? null,
        });
        break;
      // A pool's shared stage is no target: the pool's outcome reports its push.
      case "push-progress":
      case "shared-push-progress":
      case "shared-pushed":
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

  const finish = (
    images: Readonly<Record<string, ImageSummary | undefined>> = {},
    sizes: ReportSizes = {},
  ): BuildReport => {
    const startedAt = runStarted?.time ?? firstTime;
    const endedAt = runFinished?.time ?? lastTime;
    const window: RunWindow = {
      start: startedAt ?? 0,
      end: endedAt ?? 0,
      targets,
    };
    const wallMs = runFinished?.durationMs ?? Math.max(0, window.end - window.start);
    const order = targetOrder;
    const stepReports = summariseSteps(steps, window, order, targetStages, graph);
    const stages = summariseStages(stepReports, order, targetStages, graph);
    const targetReports = summariseTargets(order, targets, stepReports, targetStages, images);
    const stageSizes = compareSizes(targetReports, graph, targetStages, sizes.stageSizes);
    for (const stage of stages) {
      const size = stageSizes.get(stage.stage);
      if (size !== undefined) stage.sizeBytes = size;
    }
    for (const target of targetReports) {
      const layers = sizes.layers?.[target.target];
      if (layers !== undefined) target.layers = layers;
    }
    const sizeExtras = {
      ...(sizes.sizeMeaning === undefined ? {} : { sizeMeaning: sizes.sizeMeaning }),
      ...(sizes.unmeasuredStages === undefined || sizes.unmeasuredStages.length === 0
        ? {}
        : { unmeasuredStages: sizes.unmeasuredStages.map((entry) => ({ ...entry })) }),
      ...(sizes.budgets === undefined
        ? {}
        : { sizeBudgets: checkSizeBudgets(targetReports, sizes.budgets) }),
    };
    return {
      schemaVersion: BUILD_REPORT_SCHEMA_VERSION,
      status:
        runFinished?.status ??
        (targetReports.some((target) => target.status === "failed")
          ? "failed"
          : targetReports.every((target) => target.status === "succeeded")
            ? "succeeded"
            : "cancelled"),
      startedAt,
      wallMs,
      targets: targetReports,
      stages,
      steps: stepReports,
      totals: summariseTotals(stepReports),
      criticalPath: summariseCriticalPath(stages, graph, wallMs),
      slowestSteps: stepReports
        .flatMap((step) =>
          (step.status === "ran" || step.status === "failed") && step.durationMs !== null
            ? [
                {
                  target: step.target,
                  stage: step.stage,
                  name: step.name,
                  instruction: step.instruction,
                  line: step.line,
                  durationMs: step.durationMs,
                  status: step.status,
                },
              ]
            : [],
        )
        // Stable: equally slow steps keep their Dockerfile order.
        .sort((a, b) => b.durationMs - a.durationMs)
        .slice(0, SLOWEST_STEP_COUNT),
      failures: describeFailures(failureOrder, targets, stepsByDigest, logs, targetStages, order),
      warnings: [...warnings.values()],
      stageGraph: graph.map((stage) => ({ id: stage.id, dependsOn: [...stage.dependsOn] })),
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
      ...sizeExtras,
      published:
        runStarted?.push === true || pushed.size > 0 || pushFailures.size > 0
          ? order.map((target): PublishedTarget => {
              const tags = pushed.get(target) ?? [];
              const error = pushFailures.get(target) ?? null;
              return {
                target,
                status: error !== null ? "failed" : tags.length > 0 ? "pushed" : "not-pushed",
                tags,
                error,
              };
            })
          : null,
      cache:
        runStarted?.cache === undefined
          ? null
          : {
              from: [...runStarted.cache.from],
              to: [...runStarted.cache.to],
              ...(runStarted.cache.pinned === undefined
                ? {}
                : {
                    pinned: runStarted.cache.pinned.map((pin) => ({ ...pin })),
                    unpinned: (runStarted.cache.unpinned ?? []).map((base) => ({ ...base })),
                  }),
              misses: [],
            },
    };
  };

  return { add, finish };
}

/**
 * One entry per failing step: a step several targets need fails in every one of their streams;
 * it is reported once, under the target that built it, with the others it stopped.
 */
function describeFailures(
  order: readonly string[],
  targets: ReadonlyMap<string, TargetRecord>,
  stepsByDigest: ReadonlyMap<string, StepRecord>,
  logs: ReadonlyMap<string, readonly string[]>,
  targetStages: Readonly<Record<string, readonly string[]>>,
  requested: readonly string[],
): TargetFailure[] {
  const byStep = new Map<string, TargetFailure>();
  const failures: TargetFailure[] = [];
  for (const target of order) {
    const record = targets.get(target);
    const end = record?.end;
    if (end?.type !== "target-failed") continue;
    const { error } = end;
    const failed =
      record?.failedStep === null || record?.failedStep === undefined
        ? undefined
        : stepsByDigest.get(record.failedStep);
    const stage = error.stage ?? failed?.info.stage ?? null;
    const stepName = error.step ?? failed?.info.name ?? null;
    const key = stage === null || stepName === null ? undefined : `${stage}\u0000${stepName}`;
    const existing = key === undefined ? undefined : byStep.get(key);
    if (existing !== undefined) {
      if (existing.target !== target && !existing.stopped.includes(target)) {
        existing.stopped.push(target);
      }
      continue;
    }
    const logTail =
      error.logTail.length > 0
        ? error.logTail
        : failed === undefined
          ? []
          : (logs.get(failed.info.digest) ?? []);
    // The step's own target: the first requested target that needs its stage, when it is among
    // those that failed on it (else the one whose build reported it).
    const owner =
      stage === null
        ? target
        : (requested.find((name) => targetStages[name]?.includes(stage) === true) ?? target);
    const failure: TargetFailure = {
      target,
      stopped: [],
      code: error.code,
      stage,
      step: stepName,
      line: error.line ?? failed?.info.line ?? null,
      message: cut(error.message, FAILURE_MESSAGE_CHARS),
      hint: error.hint ?? null,
      logTail: logTail.slice(-FAILURE_LOG_LINES).map((line) => cut(line, FAILURE_LINE_CHARS)),
      missingId: error.missingId ?? null,
    };
    if (owner !== target && failedOn(targets, owner)) {
      failure.target = owner;
      failure.stopped.push(target);
    }
    failures.push(failure);
    if (key !== undefined) byStep.set(key, failure);
  }
  return failures;
}

function failedOn(targets: ReadonlyMap<string, TargetRecord>, target: string): boolean {
  return targets.get(target)?.end?.type === "target-failed";
}

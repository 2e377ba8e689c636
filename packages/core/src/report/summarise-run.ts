// The report's numbers, from what the builder kept of the events. Every count comes from one list of
// steps (each Dockerfile step once), so per target, per stage and in total they add up.
import type { BuildEvent, StepInfo } from "../events.js";
import type {
  CriticalPath,
  ReportTotals,
  StageReport,
  StepReport,
  StepStatus,
  TargetReport,
} from "./build-report.js";
import type { ImageSummary } from "./create-report-builder.js";
import { findCriticalPath, type StageDependencies } from "./find-critical-path.js";

/** A step as the builder keeps it. */
export interface StepRecord {
  info: StepInfo;
  /** The target whose events reported it first. */
  target: string;
  status: StepStatus | "running";
  startedAt: number | null;
  /** The digest whose `step-started` set `startedAt`. */
  startedDigest: string | null;
  endedAt: number | null;
  durationMs: number | null;
}

/** A target as the builder keeps it. */
export interface TargetRecord {
  startedAt: number | null;
  end: Extract<
    BuildEvent,
    { type: "target-finished" | "target-failed" | "target-cancelled" }
  > | null;
  /** The digest of the step whose failure ended one of its stages. */
  failedStep: string | null;
}

/** The run's time window (epoch ms), and the targets' own. */
export interface RunWindow {
  start: number;
  end: number;
  targets: ReadonlyMap<string, TargetRecord>;
}

/**
 * Every Dockerfile step once, in Dockerfile order: `[stage i/n]` instructions other than `FROM`.
 * BuildKit's plumbing (`copy /context /`, the `FROM` of a `COPY --from=<image>`) may reach the daemon
 * once or once per target, so it is left out, or the same build would give different counts;
 * `FROM` steps take no time and BuildKit's `cached` flag on them is unreliable. A step's times are
 * clipped to its target's build (and so to the run): clocks differ, and a number outside the
 * run's own time would not add up.
 */
export function summariseSteps(
  steps: ReadonlyMap<string, StepRecord>,
  window: RunWindow,
  order: readonly string[],
  targetStages: Readonly<Record<string, readonly string[]>>,
  graph: readonly StageDependencies[],
): StepReport[] {
  const fileOrder = new Map(graph.map((stage, index) => [stage.id, index]));
  const reports: StepReport[] = [];
  for (const record of steps.values()) {
    const { info } = record;
    if (info.kind !== "instruction" || info.stage === null || info.index === null) continue;
    if (/^FROM\s/i.test(info.instruction)) continue;
    const neededBy = neededByOf(info.stage, order, targetStages, record.target);
    const target = neededBy[0] ?? record.target;
    const [from, to] = windowOf(window, target);
    const clip = (time: number | null): number | null =>
      time === null ? null : Math.min(to, Math.max(from, time));
    const status: StepStatus = record.status === "running" ? "incomplete" : record.status;
    const startedAt = status === "cached" ? null : clip(record.startedAt);
    // A step still running when the events stopped ran until then.
    const endedAt =
      status === "cached" ? null : clip(record.endedAt ?? (startedAt === null ? null : to));
    reports.push({
      stage: info.stage,
      index: info.index,
      name: info.name,
      instruction: info.instruction,
      line: info.line,
      status,
      target,
      neededBy,
      startedAt,
      endedAt,
      durationMs: startedAt === null || endedAt === null ? null : endedAt - startedAt,
    });
  }
  // Stable: stages the graph does not name keep the order they were seen in.
  return reports.sort(
    (a, b) =>
      (fileOrder.get(a.stage) ?? Infinity) - (fileOrder.get(b.stage) ?? Infinity) ||
      (a.stage === b.stage ? a.index - b.index : 0),
  );
}

/** Stages in the steps' order, each with its steps' outcome and the time they were running. */
export function summariseStages(
  steps: readonly StepReport[],
  order: readonly string[],
  targetStages: Readonly<Record<string, readonly string[]>>,
  graph: readonly StageDependencies[],
): StageReport[] {
  const byStage = new Map<string, StepReport[]>();
  for (const step of steps) {
    const list = byStage.get(step.stage) ?? [];
    list.push(step);
    byStage.set(step.stage, list);
  }
  const fileOrder = new Map(graph.map((stage, index) => [stage.id, index]));
  return [...byStage]
    .map(([stage, list]): StageReport => {
      const intervals = list.flatMap((step): [number, number][] =>
        step.startedAt === null || step.endedAt === null ? [] : [[step.startedAt, step.endedAt]],
      );
      const statuses = new Set(list.map((step) => step.status));
      const neededBy = neededByOf(stage, order, targetStages, list[0]?.target ?? null);
      return {
        stage,
        target: neededBy[0] ?? list[0]?.target ?? null,
        neededBy,
        status: statuses.has("failed")
          ? "failed"
          : statuses.has("cancelled")
            ? "cancelled"
            : statuses.has("incomplete")
              ? "incomplete"
              : statuses.has("ran")
                ? "ran"
                : "cached",
        startedAt: intervals.length === 0 ? null : Math.min(...intervals.map(([start]) => start)),
        endedAt: intervals.length === 0 ? null : Math.max(...intervals.map(([, end]) => end)),
        durationMs: unionLength(intervals),
        steps: list.length,
        stepsRun: list.filter((step) => step.status === "ran" || step.status === "failed").length,
        stepsCached: list.filter((step) => step.status === "cached").length,
      };
    })
    .sort((a, b) => (fileOrder.get(a.stage) ?? Infinity) - (fileOrder.get(b.stage) ?? Infinity));
}

/** The requested targets, with their steps as ran (for them), shared (ran for another) and cached. */
export function summariseTargets(
  order: readonly string[],
  targets: ReadonlyMap<string, TargetRecord>,
  steps: readonly StepReport[],
  targetStages: Readonly<Record<string, readonly string[]>>,
  images: Readonly<Record<string, ImageSummary | undefined>>,
): TargetReport[] {
  return order.map((target): TargetReport => {
    const record = targets.get(target);
    const end = record?.end ?? null;
    const startedAt = record?.startedAt ?? null;
    const stages = targetStages[target];
    const mine = steps.filter((step) =>
      stages === undefined ? step.target === target : stages.includes(step.stage),
    );
    const ran = mine.filter((step) => step.status === "ran" || step.status === "failed");
    const stepsRun = ran.filter((step) => step.target === target).length;
    const stepsShared = ran.length - stepsRun;
    const stepsCached = mine.filter((step) => step.status === "cached").length;
    const all = stepsRun + stepsShared + stepsCached;
    let wallMs: number | null = null;
    if (end !== null && end.type !== "target-cancelled") wallMs = end.durationMs;
    else if (end !== null && startedAt !== null) wallMs = Math.max(0, end.time - startedAt);
    const image = images[target];
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
      startedAt,
      wallMs,
      stepsRun,
      stepsShared,
      stepsCached,
      cachedPercent: all === 0 ? null : Math.round((stepsCached / all) * 100),
      imageId: end?.type === "target-finished" ? end.imageId : (image?.id ?? null),
      tags: end?.type === "target-finished" ? [...end.tags] : [],
      ...(end?.type === "target-finished" && end.platforms !== undefined
        ? { platforms: [...end.platforms] }
        : {}),
      sizeBytes: image?.sizeBytes ?? null,
      sizeComparison: null,
    };
  });
}

/** Each step once: what ran, what came from the cache, and how many that ran served several targets. */
export function summariseTotals(steps: readonly StepReport[]): ReportTotals {
  const ran = steps.filter((step) => step.status === "ran" || step.status === "failed");
  const stepsCached = steps.filter((step) => step.status === "cached").length;
  const total = ran.length + stepsCached;
  return {
    stepsRun: ran.length,
    stepsCached,
    stepsShared: ran.filter((step) => step.neededBy.length > 1).length,
    cachedPercent: total === 0 ? null : Math.round((stepsCached / total) * 100),
  };
}

/**
 * The heaviest chain of stages along the graph's edges; its duration is the time its stages were
 * running with overlaps counted once (a stage can start its own steps while the one it copies
 * from still runs), so it never exceeds the run.
 */
export function summariseCriticalPath(
  stages: readonly StageReport[],
  graph: readonly StageDependencies[],
  wallMs: number,
): CriticalPath | null {
  const reached = stages.filter((stage) => stage.startedAt !== null || stage.steps > 0);
  const durations = new Map(reached.map((stage) => [stage.stage, stage.durationMs]));
  const chain = findCriticalPath(graph, durations);
  if (chain === null) return null;
  const byId = new Map(stages.map((stage) => [stage.stage, stage]));
  let coveredUntil = -Infinity;
  const links = chain.stages.map((id) => {
    const stage = byId.get(id);
    const start = stage?.startedAt ?? null;
    const end = stage?.endedAt ?? null;
    const durationMs = stage?.durationMs ?? 0;
    // What this stage adds after the chain's earlier stages had ended.
    const addedMs =
      start === null || end === null
        ? 0
        : Math.min(durationMs, Math.max(0, end - Math.max(start, coveredUntil)));
    if (end !== null) coveredUntil = Math.max(coveredUntil, end);
    return { stage: id, durationMs, addedMs };
  });
  const durationMs = Math.min(
    wallMs,
    links.reduce((sum, link) => sum + link.addedMs, 0),
  );
  return {
    stages: links,
    durationMs,
    wallMs,
    percentOfWall: wallMs > 0 ? Math.round((durationMs / wallMs) * 100) : null,
  };
}

/** The requested targets that need this stage, in order; without that knowledge, the reporter. */
function neededByOf(
  stage: string,
  order: readonly string[],
  targetStages: Readonly<Record<string, readonly string[]>>,
  reporter: string | null,
): string[] {
  const needing = order.filter((target) => targetStages[target]?.includes(stage) === true);
  if (needing.length > 0) return needing;
  return reporter === null ? [] : [reporter];
}

/** The part of the run a target's steps can have run in: its build's own time, within the run's. */
function windowOf(window: RunWindow, target: string): [number, number] {
  const record = window.targets.get(target);
  const from = Math.max(window.start, record?.startedAt ?? window.start);
  const to = Math.min(window.end, record?.end?.time ?? window.end);
  return to >= from ? [from, to] : [window.start, window.end];
}

/** The total length of a set of time intervals, overlaps counted once. */
function unionLength(intervals: readonly [number, number][]): number {
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

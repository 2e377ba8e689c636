// What the tracker saw, per target, stage and step: for tests and tools that want the raw view
// (the report is made from the events, not from this).
import type { StepInfo } from "../events.js";
import {
  describeRecord,
  ownerOf,
  round,
  targetRecord,
  type StageStatus,
  type StepRecord,
  type TrackerState,
} from "./tracker-state.js";

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

/** Summarises the run so far: per target, its stages in the order they started, and its steps. */
export function summariseProgress(state: TrackerState): ProgressSummary {
  const { order, steps, stages, compare } = state;
  const byTarget = new Map<string, StepSummary[]>(order.map((target) => [target, []]));
  for (const record of steps.values()) {
    const summary = summariseStep(state, record);
    byTarget.get(summary.target)?.push(summary);
  }
  return {
    targets: order.map((target): TargetSummary => {
      const record = targetRecord(state, target);
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
            durationMs: started === null || completed === null ? null : round(completed - started),
            stepsRun: countRun(members),
            stepsCached: countCached(members),
            steps: inStage.map((s) => s.step.digest),
          };
        }),
        steps: own,
      };
    }),
  };
}

function summariseStep(state: TrackerState, record: StepRecord): StepSummary {
  const { vertex } = record;
  const info = describeRecord(state, record);
  const status: StepStatus = vertex.state === "completed" ? "ran" : vertex.state;
  return {
    step: info,
    status,
    target: ownerOf(state, record, info),
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
}

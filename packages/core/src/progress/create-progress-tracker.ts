// The progress of one run's builds: every target's BuildKit statuses in, stage-attributed events
// out. This file is the front: it feeds the vertex tracker and hands each change to
// apply-vertex-change. The parts: tracker-state (who owns what), announce-step and held-steps
// (unlabelled steps wait for their stage), step-events, send-warning and stage-lifecycle (the
// events), summarise-progress and find-failure-context.
import type { BuildEvent } from "../events.js";
import { applyVertexChange } from "./apply-vertex-change.js";
import type { DockerfileMap } from "./attribute-stage.js";
import { toDaemonStatus, type DecodedStatus } from "./decode-status.js";
import { findFailureContext, type FailureContext } from "./find-failure-context.js";
import { settleHeldSteps } from "./held-steps.js";
import type { BuildStreamResult } from "./read-build-stream.js";
import { settleOpenStages } from "./stage-lifecycle.js";
import { markSkippedAsCached } from "./step-events.js";
import { summariseProgress, type ProgressSummary } from "./summarise-progress.js";
import {
  createTrackerState,
  latestTime,
  round,
  targetRecord,
  type TrackerState,
} from "./tracker-state.js";
import { createVertexTracker } from "./vertex-tracker.js";

export type { FailureContext } from "./find-failure-context.js";
export type {
  ProgressSummary,
  StageSummary,
  StepStatus,
  StepSummary,
  TargetSummary,
} from "./summarise-progress.js";
export type { StageStatus } from "./tracker-state.js";

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
  const { dockerfileMap } = options;
  const singleStageId =
    dockerfileMap?.length === 1 && dockerfileMap[0] !== undefined
      ? dockerfileMap[0].id.toLowerCase()
      : "stage-0";
  const state: TrackerState = createTrackerState(options);
  state.vertices = createVertexTracker({
    onChange: (change) => {
      applyVertexChange(state, change);
    },
    singleStageId,
    dockerfileMap,
  });

  return {
    push(target, status) {
      targetRecord(state, target);
      if (options.emitDaemonStatus === true) {
        state.onEvent({
          type: "daemon-status",
          time: round(latestTime(state)),
          target,
          status: toDaemonStatus(status),
        });
      }
      state.vertices.update(target, status);
      settleHeldSteps(state);
    },
    end(target, outcome) {
      const record = targetRecord(state, target);
      if (record.ended) return;
      record.ended = true;
      record.imageId = outcome?.imageId ?? null;
      record.error = outcome?.error ?? null;
      const succeeded = outcome?.imageId !== undefined && outcome.error === undefined;
      state.vertices.endSource(target, succeeded);
      settleHeldSteps(state);
      if (succeeded) markSkippedAsCached(state, target, latestTime(state));
      settleOpenStages(state, latestTime(state));
    },
    summary: () => summariseProgress(state),
    failureContext: (target) => findFailureContext(state, target),
  };
}

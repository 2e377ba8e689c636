// A step's own events: `step-started`, then one of `step-finished` / `step-cached` / `step-failed`
// (or a lone `step-cached` for a step that never ran), each once, whichever streams report it; and
// in between its `log` lines and `transfer` progress, all sent for the step's owner.
import type { DaemonVertexStatus, StepInfo } from "../events.js";
import { withStep } from "./held-steps.js";
import { settleStage, startStage } from "./stage-lifecycle.js";
import {
  latestTime,
  round,
  targetRecord,
  type StepRecord,
  type TrackerState,
} from "./tracker-state.js";

/** Sends `step-started` once, starting the step's stage with it. */
export function sendStarted(
  state: TrackerState,
  record: StepRecord,
  info: StepInfo,
  owner: string,
): void {
  if (record.startedSent) return;
  record.startedSent = true;
  const time = record.vertex.started ?? record.vertex.completed ?? 0;
  if (info.stage !== null && info.kind === "instruction") {
    const stage = state.stages.get(info.stage);
    if (stage !== undefined) startStage(state, stage, time);
  }
  state.onEvent({ type: "step-started", time: round(time), target: owner, step: info });
}

/** Sends the step's end (failed, cached or finished) once, and settles its stage. */
export function sendTerminal(
  state: TrackerState,
  record: StepRecord,
  info: StepInfo,
  owner: string,
  end: { time: number; error: string | null; cached: boolean },
): void {
  const { time, error, cached } = end;
  if (cached && error === null && !record.startedSent) {
    // Taken from the cache without running: one `step-cached` event, no `step-started`.
    record.startedSent = true;
    const stage = info.stage === null ? undefined : state.stages.get(info.stage);
    if (stage !== undefined && info.kind === "instruction") {
      startStage(state, stage, record.vertex.started ?? time);
    }
  } else {
    sendStarted(state, record, info, owner);
  }
  if (record.terminalSent && error === null) return;
  record.terminalSent = true;
  const durationMs = round(time - (record.vertex.started ?? time));
  if (error !== null) {
    state.onEvent({
      type: "step-failed",
      time: round(time),
      target: owner,
      step: info,
      error,
      cancelled: error.endsWith("context canceled"),
      durationMs,
    });
  } else if (cached) {
    state.onEvent({ type: "step-cached", time: round(time), target: owner, step: info });
  } else {
    state.onEvent({
      type: "step-finished",
      time: round(time),
      target: owner,
      step: info,
      durationMs,
    });
  }
  const stage = info.stage === null ? undefined : state.stages.get(info.stage);
  if (stage !== undefined) settleStage(state, stage, error === null ? null : record, time);
}

/**
 * When a build succeeds, the steps its graph announced that never started were not needed: BuildKit
 * found a later step in the cache and skipped them. They count as cached (once no other stream that
 * announced them is still running).
 */
export function markSkippedAsCached(state: TrackerState, target: string, time: number): void {
  for (const record of state.steps.values()) {
    const { vertex } = record;
    if (vertex.state !== "announced" || !vertex.sources.includes(target)) continue;
    if (vertex.parsed.kind !== "instruction") continue;
    if (!vertex.sources.every((source) => targetRecord(state, source).ended)) continue;
    vertex.state = "cached";
    vertex.cached = true;
    vertex.completed = time;
    withStep(state, record, (info, owner) => {
      sendTerminal(state, record, info, owner, { time, error: null, cached: true });
    });
  }
}

/** Sends one line of the step's output (1 stdout, 2 stderr), once its stage is known. */
export function sendLog(
  state: TrackerState,
  record: StepRecord,
  log: { stream: 1 | 2; line: string; time: number },
): void {
  withStep(state, record, (info, owner) => {
    state.onEvent({
      type: "log",
      time: round(log.time),
      target: owner,
      stage: info.stage,
      step: info.digest,
      stream: log.stream,
      line: log.line,
    });
  });
}

/** Sends the progress of one of the step's transfers (a layer pulled, a context sent). */
export function sendTransfer(
  state: TrackerState,
  record: StepRecord,
  status: DaemonVertexStatus,
): void {
  const time = status.completed ?? status.timestamp ?? latestTime(state);
  withStep(state, record, (info, owner) => {
    state.onEvent({
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
}

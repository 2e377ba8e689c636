// A stage starts with its first `[stage i/n]` step and ends when all of them ended: cached (all from
// the cache, `FROM`'s unreliable flag aside), ran, or failed (one of its steps failed).
import {
  isFrom,
  round,
  type StageRecord,
  type StepRecord,
  type TrackerState,
} from "./tracker-state.js";

/** Sends `stage-started` once, at the stage's first step. */
export function startStage(state: TrackerState, stage: StageRecord, time: number): void {
  if (stage.startedSent) return;
  stage.startedSent = true;
  stage.status = "running";
  stage.started = time;
  state.onEvent({ type: "stage-started", time: round(time), target: stage.owner, stage: stage.id });
}

/** Ends the stage when a step of it failed, or when every one of its steps has ended. */
export function settleStage(
  state: TrackerState,
  stage: StageRecord,
  failed: StepRecord | null,
  time: number,
): void {
  if (stage.status === "cached" || stage.status === "ran" || stage.status === "failed") return;
  if (failed !== null) {
    startStage(state, stage, failed.vertex.started ?? time);
    stage.status = "failed";
    stage.completed = time;
    state.onEvent({
      type: "stage-failed",
      time: round(time),
      target: stage.owner,
      stage: stage.id,
      step: failed.vertex.digest,
      error: failed.vertex.error ?? "",
    });
    return;
  }
  const members = [...(state.stageMembers.get(stage.id) ?? [])];
  if (!members.every((member) => member.terminalSent)) return;
  const counted = members.filter((member) => member.info !== null && !isFrom(member.info));
  const basis = counted.length > 0 ? counted : members;
  const cached = basis.every((member) => member.vertex.state === "cached");
  const stepsCached = members.filter((member) => member.vertex.state === "cached").length;
  const completed = Math.max(time, ...members.map((member) => member.vertex.completed ?? time));
  startStage(state, stage, stage.started ?? time);
  stage.completed = completed;
  if (cached) {
    stage.status = "cached";
    state.onEvent({
      type: "stage-cached",
      time: round(completed),
      target: stage.owner,
      stage: stage.id,
      steps: members.length,
    });
  } else {
    stage.status = "ran";
    state.onEvent({
      type: "stage-finished",
      time: round(completed),
      target: stage.owner,
      stage: stage.id,
      durationMs: round(completed - (stage.started ?? completed)),
      stepsRun: members.length - stepsCached,
      stepsCached,
    });
  }
}

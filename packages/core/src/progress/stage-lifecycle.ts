// A stage starts with its first `[stage i/n]` step and ends when all of them ended: cached (all from
// the cache, `FROM`'s unreliable flag aside), ran, or failed (one of its steps failed).
import {
  isFrom,
  round,
  targetRecord,
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

/**
 * Ends the stage when a step of it failed, or when every one of its steps has ended: every step its
 * `[stage i/n]` names count, not only those announced so far (the daemon's updates for different
 * vertices arrive in any order, so `[app 3/3]` may end before `[app 2/3]` is announced). `streamsEnded`
 * ends it with the steps it has, when no stream can announce more.
 */
export function settleStage(
  state: TrackerState,
  stage: StageRecord,
  failed: StepRecord | null,
  time: number,
  streamsEnded = false,
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
  if (!streamsEnded && !hasEveryStep(members, startsFromImage(state, stage.id))) return;
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

/**
 * Whether the members include every `[stage i/n]` step their names count. A stage `FROM` an image
 * another stage starts from too has no `[stage 1/n]` of its own: BuildKit merges the two `FROM`
 * vertices into one, named after the other stage.
 */
function hasEveryStep(members: readonly StepRecord[], fromImage: boolean): boolean {
  const seen = new Set<number>();
  let total = 0;
  for (const member of members) {
    const info = member.info;
    if (info?.kind !== "instruction" || info.index === null || info.total === null) continue;
    seen.add(info.index);
    total = Math.max(total, info.total);
  }
  for (let index = fromImage ? 2 : 1; index <= total; index++) if (!seen.has(index)) return false;
  return true;
}

/** Whether the stage's `[stage 1/n]` is a `FROM <image>` (unknown without a map: assume it is). */
function startsFromImage(state: TrackerState, id: string): boolean {
  const stage = state.dockerfileMap?.find((entry) => entry.id.toLowerCase() === id);
  if (stage === undefined) return true;
  return /^\s*FROM\s/i.test(stage.instructions[0]?.text ?? "");
}

/** Ends every stage left open once the streams that carry its steps have all ended. */
export function settleOpenStages(state: TrackerState, time: number): void {
  for (const stage of state.stages.values()) {
    if (stage.status !== "running") continue;
    const members = [...(state.stageMembers.get(stage.id) ?? [])];
    const open = members.some((member) =>
      member.vertex.sources.some((source) => !targetRecord(state, source).ended),
    );
    if (!open) settleStage(state, stage, null, time, true);
  }
}

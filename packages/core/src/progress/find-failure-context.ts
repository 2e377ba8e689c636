// Where a target's build broke, as far as its stream tells: the failing step (its own, or a shared
// one), its stage and Dockerfile line, and its last log lines. Feeds `BuildFailedError`.
import { findStageOfBaseImage } from "./attribute-stage.js";
import { describeRecord, type TrackerState } from "./tracker-state.js";

/** Where a target's build broke, as far as its stream tells: feeds `BuildFailedError`. */
export interface FailureContext {
  stage?: string | undefined;
  step?: string | undefined;
  line?: number | undefined;
  logTail: string[];
  /** The target the failing step was built for (a shared step's may be another target). */
  owner?: string | undefined;
}

/** The failing step of `target`: the one it owns if several failed, else the first. */
export function findFailureContext(state: TrackerState, target: string): FailureContext {
  const failed = [...state.steps.values()].filter(
    (record) => record.vertex.state === "failed" && record.vertex.sources.includes(target),
  );
  const pick =
    failed.find((record) => record.owner === target && record.vertex.parsed.kind !== "other") ??
    failed[0];
  if (pick === undefined) return { logTail: [] };
  const info = describeRecord(state, pick);
  const context: FailureContext = {
    step: info.name,
    logTail: [...pick.vertex.logTail],
    owner: pick.owner ?? target,
  };
  if (info.stage !== null) context.stage = info.stage;
  if (info.line !== null) context.line = info.line;
  const base = /^\[internal\] load metadata for (.+)$/.exec(info.name);
  const map = state.dockerfileMap;
  if (info.stage === null && base?.[1] !== undefined && map !== undefined) {
    const found = findStageOfBaseImage(map, base[1]);
    if (found !== null) {
      context.stage = found.stage;
      context.line = found.line;
    }
  }
  return context;
}

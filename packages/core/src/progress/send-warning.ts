// A BuildKit warning (a lint rule, a deprecated syntax) as a `warning` event, with the stage of the
// Dockerfile line it points at, else the stage of its step.
import type { DaemonVertexWarning } from "../events.js";
import { findStageAtLine } from "./attribute-stage.js";
import { latestTime, round, type TrackerState } from "./tracker-state.js";
import type { TrackedVertex } from "./vertex-tracker.js";

/** Sends a warning `source`'s stream carried (once per run: the vertex tracker drops repeats). */
export function sendWarning(
  state: TrackerState,
  warning: DaemonVertexWarning,
  vertex: TrackedVertex | null,
  source: string,
): void {
  const { dockerfileMap } = state;
  const line = warning.ranges[0]?.start.line ?? null;
  const record = vertex === null ? undefined : state.steps.get(vertex.key);
  const stage =
    (dockerfileMap !== undefined && line !== null ? findStageAtLine(dockerfileMap, line) : null) ??
    record?.info?.stage ??
    null;
  state.onEvent({
    type: "warning",
    time: round(latestTime(state)),
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
}

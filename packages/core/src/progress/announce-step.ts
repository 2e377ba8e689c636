// A step a stream announced (in its graph, or at its first status): a `[stage i/n]` step joins its
// stage, whose start and end it decides; an unlabelled one may have to wait for its stage.
import { holdStep } from "./held-steps.js";
import { stepRecord, type TrackerState } from "./tracker-state.js";
import type { TrackedVertex } from "./vertex-tracker.js";

/** Records that `source` announced `vertex`. */
export function announceStep(state: TrackerState, vertex: TrackedVertex, source: string): void {
  const record = stepRecord(state, vertex);
  const { parsed } = vertex;
  if (parsed.kind === "instruction" && parsed.stage !== null) {
    let members = state.stageMembers.get(parsed.stage);
    if (members === undefined) state.stageMembers.set(parsed.stage, (members = new Set()));
    members.add(record);
  }
  // Its stage is the stage of what consumes it, which this stream's graph has not named yet.
  if (
    record.info === null &&
    record.held === null &&
    parsed.kind === "other" &&
    !state.sourcesWithGraph.has(source)
  ) {
    holdStep(state, record);
  }
}

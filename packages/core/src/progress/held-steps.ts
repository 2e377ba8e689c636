// An unlabelled step (`copy /context /`, the `FROM` of a `COPY --from=<image>`) belongs to the stage
// of what consumes it, which may be announced later: its events wait until the stage is known.
import {
  fixStep,
  stageOf,
  targetRecord,
  type StepRecord,
  type TrackerState,
} from "./tracker-state.js";
import type { StepInfo } from "../events.js";

/** Runs `send` with the step's fixed description and owner, now or once the step is released. */
export function withStep(
  state: TrackerState,
  record: StepRecord,
  send: (info: StepInfo, owner: string) => void,
): void {
  const run = (): void => {
    const info = fixStep(state, record);
    send(info, record.owner ?? "");
  };
  if (record.held !== null) record.held.push(run);
  else run();
}

/** Holds the events of a step whose stage cannot be known yet. */
export function holdStep(state: TrackerState, record: StepRecord): void {
  record.held = [];
  state.heldSteps.add(record);
}

/**
 * Releases the held steps whose stage is now known, or that will learn nothing more: a stream of
 * theirs sent its whole graph, or ended.
 */
export function settleHeldSteps(state: TrackerState): void {
  for (const record of state.heldSteps) {
    const { sources } = record.vertex;
    if (
      stageOf(state, record) !== null ||
      sources.some(
        (source) => state.sourcesWithGraph.has(source) || targetRecord(state, source).ended,
      )
    ) {
      release(state, record);
    }
  }
}

function release(state: TrackerState, record: StepRecord): void {
  const held = record.held;
  if (held === null) return;
  record.held = null;
  state.heldSteps.delete(record);
  fixStep(state, record);
  for (const run of held) run();
}

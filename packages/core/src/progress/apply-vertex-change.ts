// What each change the vertex tracker reports means for the run: a step announced, a stream's whole
// graph known, a step's own events, a warning.
import { announceStep } from "./announce-step.js";
import { settleHeldSteps, withStep } from "./held-steps.js";
import { sendWarning } from "./send-warning.js";
import { sendLog, sendStarted, sendTerminal, sendTransfer } from "./step-events.js";
import { stepRecord, type TrackerState } from "./tracker-state.js";
import type { VertexChange } from "./vertex-tracker.js";

/** Applies one change of the run's vertices to its state, sending the events it makes. */
export function applyVertexChange(state: TrackerState, change: VertexChange): void {
  switch (change.type) {
    case "announced":
      announceStep(state, change.vertex, change.source);
      return;
    case "graph":
      state.sourcesWithGraph.add(change.source);
      settleHeldSteps(state);
      return;
    case "started": {
      const record = stepRecord(state, change.vertex);
      withStep(state, record, (info, owner) => {
        sendStarted(state, record, info, owner);
      });
      return;
    }
    case "completed":
    case "failed": {
      const record = stepRecord(state, change.vertex);
      const error = change.type === "failed" ? change.error : null;
      const cached = change.type === "completed" && change.cached;
      withStep(state, record, (info, owner) => {
        sendTerminal(state, record, info, owner, { time: change.time, error, cached });
      });
      return;
    }
    case "log":
      sendLog(state, stepRecord(state, change.vertex), change);
      return;
    case "status":
      sendTransfer(state, stepRecord(state, change.vertex), change.status);
      return;
    case "warning":
      sendWarning(state, change.warning, change.vertex, change.source);
      return;
    default:
      change satisfies never;
  }
}

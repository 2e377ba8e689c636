import type { ProgressTracker } from "./create-progress-tracker.js";
import { createBuildStreamReader } from "./read-build-stream.js";

/** Feeds recorded `/build` lines of one target to a tracker, as the engine's stream reader would. */
export function feedLines(
  tracker: ProgressTracker,
  target: string,
): { push(line: string): void; end(): void } {
  const reader = createBuildStreamReader((status) => {
    tracker.push(target, status);
  });
  return {
    push(line) {
      reader.push(`${line}\n`);
    },
    end() {
      tracker.end(target, reader.end());
    },
  };
}

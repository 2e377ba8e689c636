import { describe, expect, it } from "vitest";
import { BUILD_EVENT_SCHEMA_VERSION, type BuildEvent } from "./events.js";

function describeEvent(event: BuildEvent): string {
  switch (event.type) {
    case "run-started":
      return `run ${event.targets.join(",")}`;
    case "run-finished":
      return `run ${event.status}`;
    case "target-queued":
    case "target-started":
    case "target-finished":
    case "target-failed":
    case "target-cancelled":
      return `${event.type} ${event.target}`;
    case "stage-started":
    case "stage-cached":
    case "stage-finished":
    case "stage-failed":
      return `${event.type} ${event.target}/${event.stage}`;
    case "step-started":
    case "step-cached":
    case "step-finished":
    case "step-failed":
      return `${event.type} ${event.step.name}`;
    case "log":
      return `log ${event.line}`;
    case "warning":
      return `warning ${event.message}`;
    case "transfer":
      return `transfer ${event.id}`;
    case "daemon-status":
      return `daemon-status ${event.status.vertexes.length}`;
    default:
      return event satisfies never;
  }
}

describe("BuildEvent", () => {
  it("is plain JSON: a round trip through JSON gives the same value", () => {
    const events: BuildEvent[] = [
      {
        type: "run-started",
        time: 1_795_315_170_339,
        schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
        targets: ["test", "app"],
        concurrency: 2,
        engine: null,
      },
      {
        type: "step-failed",
        time: 1_795_315_170_400,
        target: "app",
        step: {
          digest: "sha256:abc",
          name: "[build 2/4] RUN make",
          kind: "instruction",
          stage: "build",
          index: 2,
          total: 4,
          line: 7,
          instruction: "RUN make",
        },
        error: 'process "/bin/sh -c make" did not complete successfully: exit code: 2',
        cancelled: false,
        durationMs: 61,
      },
      {
        type: "target-failed",
        time: 1_795_315_170_401,
        target: "app",
        error: {
          code: "BUILD_FAILED",
          message: "exit code: 2",
          stage: "build",
          line: 7,
          logTail: ["boom"],
        },
        durationMs: 70,
      },
    ];
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
    expect(events.map(describeEvent)).toEqual([
      "run test,app",
      "step-failed [build 2/4] RUN make",
      "target-failed app",
    ]);
  });

  it("has schema version 1", () => {
    expect(BUILD_EVENT_SCHEMA_VERSION).toBe(1);
  });
});

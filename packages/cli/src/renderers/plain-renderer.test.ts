import { describe, expect, it } from "vitest";
import { createRenderer } from "./create-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import {
  failingRun,
  interruptedRun,
  successfulRun,
  type RunFixture,
} from "./run-fixtures.test-support.js";

function render(run: RunFixture, color = false) {
  const io = createMemoryIo();
  const renderer = createRenderer({ mode: "plain", io, targets: run.targets, color });
  for (const event of run.events) renderer.onEvent(event);
  renderer.finish(run.report);
  return io;
}

/** The run as a pool engine would report it: every event about a target names the engine. */
function onEngine(run: RunFixture, engineOf: (target: string) => string): RunFixture {
  return {
    ...run,
    events: run.events.map((event) =>
      "target" in event ? { ...event, engine: engineOf(event.target) } : event,
    ),
  };
}

describe("plain renderer", () => {
  it("over a pool, starts each target's line with the engine that builds it", () => {
    const run = onEngine(successfulRun(), (target) => (target === "build" ? "p1" : "main"));
    const text = render(run).stdout.text();
    expect(text).toContain("[  2.7s] p1 │ build › build  RUN make\n");
    expect(text).toMatch(/\] main │ test /);
    expect(render(successfulRun()).stdout.text()).not.toContain("│ build ›");
  });

  it("writes one timestamped line per event worth seeing, then the report", async () => {
    const io = render(successfulRun());
    const text = io.stdout.text();
    await expect(text).toMatchFileSnapshot("__snapshots__/plain-success.txt");
    expect(text).toContain("[  2.7s] build › build  RUN make\n");
    expect(text).toContain("[  3.0s] build › build  | tsc -b\n");
    expect(text).toContain("[  0.2s] build › base  CACHED RUN apk add --no-cache make\n");
    expect(text).toContain("critical path: base → build → test");
    expect(io.stderr.text()).toBe("");
  });

  it("writes no control codes without colour, even when the build's output has them", () => {
    for (const run of [successfulRun(), failingRun(), interruptedRun()]) {
      expect(render(run).stdout.text()).not.toContain("\x1b");
    }
    expect(render(successfulRun()).stdout.text()).toContain("| built dist/ in 2.5s");
  });

  it("colours its own text only when asked", () => {
    expect(render(successfulRun(), true).stdout.text()).toContain("\x1b[32mDONE\x1b[39m");
  });

  it("shows a failure as it happens and again, last, in the report", async () => {
    const text = render(failingRun()).stdout.text();
    await expect(text).toMatchFileSnapshot("__snapshots__/plain-failure.txt");
    expect(text).toContain("[  0.7s] app › build  ERROR RUN make: process");
    expect(text).toContain("[  0.8s] test  cancelled: app failed");
    expect(text.lastIndexOf("✗ app › build › Dockerfile:12")).toBeGreaterThan(
      text.indexOf("critical path"),
    );
  });

  it("shows an interrupted run", async () => {
    const text = render(interruptedRun()).stdout.text();
    await expect(text).toMatchFileSnapshot("__snapshots__/plain-interrupted.txt");
    expect(text).toContain("app › build  CANCELLED RUN make");
  });
});

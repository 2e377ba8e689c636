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

describe("plain renderer", () => {
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

import { describe, expect, it } from "vitest";
import { createRenderer } from "./create-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import { failingRun, successfulRun } from "./run-fixtures.test-support.js";

describe("quiet renderer", () => {
  it("writes nothing while building, then a line per target", async () => {
    const run = successfulRun();
    const io = createMemoryIo();
    const renderer = createRenderer({ mode: "quiet", io, targets: run.targets, color: false });
    for (const event of run.events) renderer.onEvent(event);
    expect(io.stdout.writes).toEqual([]);
    renderer.finish(run.report);
    const text = io.stdout.text();
    await expect(text).toMatchFileSnapshot("__snapshots__/quiet-success.txt");
    expect(text.split("\n")).toContain("✓ app    6.5 s  48.2 MB");
    expect(text).not.toContain("critical path");
  });

  it("ends with the failures", async () => {
    const run = failingRun();
    const io = createMemoryIo();
    const renderer = createRenderer({ mode: "quiet", io, targets: run.targets, color: false });
    for (const event of run.events) renderer.onEvent(event);
    renderer.finish(run.report);
    const text = io.stdout.text();
    await expect(text).toMatchFileSnapshot("__snapshots__/quiet-failure.txt");
    expect(text).toContain("✗ app › build › Dockerfile:12  RUN make\n");
    expect(text.trimEnd().endsWith("make: *** [Makefile:7: build/main.o] Error 1")).toBe(true);
  });

  it("does not cut the report on a terminal of 0 columns (a pty never given a size)", () => {
    const run = failingRun();
    const report = (columns: number): string => {
      const io = createMemoryIo({ isTTY: true, columns });
      const renderer = createRenderer({ mode: "quiet", io, targets: run.targets, color: false });
      renderer.finish(run.report);
      return io.stdout.text();
    };
    expect(report(0)).toBe(report(500));
  });
});

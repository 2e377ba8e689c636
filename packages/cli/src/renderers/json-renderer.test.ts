import { describe, expect, it } from "vitest";
import { createRenderer } from "./create-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import { failingRun, interruptedRun, successfulRun } from "./run-fixtures.test-support.js";

describe("json renderer", () => {
  it.each([
    ["a successful run", successfulRun],
    ["a failing run", failingRun],
    ["an interrupted run", interruptedRun],
  ])("writes %s as JSON lines only: every event, then the report", (_, fixture) => {
    const run = fixture();
    const io = createMemoryIo();
    // Colour asked for, and still none: JSON lines are for programs.
    const renderer = createRenderer({ mode: "json", io, targets: run.targets, color: true });
    for (const event of run.events) renderer.onEvent(event);
    renderer.finish(run.report);

    const text = io.stdout.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    const values = lines.map((line) => JSON.parse(line) as unknown);
    expect(values).toHaveLength(run.events.length + 1);
    expect(values.slice(0, -1)).toEqual(run.events);
    expect(values.at(-1)).toEqual({ type: "report", ...run.report });
    expect(io.stdout.writes.every((write) => write.text.endsWith("\n"))).toBe(true);
    expect(io.stderr.text()).toBe("");
  });

  it("ignores events after the report", () => {
    const run = successfulRun();
    const io = createMemoryIo();
    const renderer = createRenderer({ mode: "json", io, targets: run.targets, color: false });
    renderer.finish(run.report);
    renderer.onEvent(run.events[0]!);
    renderer.finish(run.report);
    expect(io.stdout.writes).toHaveLength(1);
  });
});

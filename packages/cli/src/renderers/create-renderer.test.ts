import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProgressMode } from "./choose-progress-mode.js";
import { createRenderer } from "./create-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import { T0, failingRun } from "./run-fixtures.test-support.js";

describe("createRenderer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each<ProgressMode>(["tty", "plain", "json", "quiet", "github"])(
    "passes every log line and message through redact in %s mode",
    (mode) => {
      vi.useFakeTimers({ now: T0 });
      const run = failingRun();
      const io = createMemoryIo({
        isTTY: mode === "tty",
        columns: 200,
        env: { GITHUB_STEP_SUMMARY: "/summary.md" },
      });
      const appended: string[] = [];
      const renderer = createRenderer({
        mode,
        io,
        targets: run.targets,
        color: false,
        redact: (text) => text.replaceAll("hunter2", "***"),
        appendFile: (_, text) => appended.push(text),
      });
      for (const event of run.events) {
        vi.advanceTimersByTime(Math.max(0, event.time - Date.now()));
        renderer.onEvent(event);
      }
      vi.advanceTimersByTime(200);
      renderer.finish(run.report);

      const everything = [io.stdout.text(), io.stderr.text(), ...appended].join("\n");
      expect(everything).toContain("'TOKEN=***'");
      expect(everything).not.toContain("hunter2");
    },
  );

  it("leaves the events alone without a redact function", () => {
    const run = failingRun();
    const io = createMemoryIo();
    const renderer = createRenderer({ mode: "json", io, targets: run.targets, color: false });
    for (const event of run.events) renderer.onEvent(event);
    expect(io.stdout.text()).toContain("hunter2");
  });
});

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
    "makes a %s renderer that shows the failure and ignores events after finish",
    (mode) => {
      vi.useFakeTimers({ now: T0 });
      const run = failingRun();
      const io = createMemoryIo({ isTTY: mode === "tty", columns: 200, env: {} });
      const renderer = createRenderer({ mode, io, targets: run.targets, color: false });
      for (const event of run.events) {
        vi.advanceTimersByTime(Math.max(0, event.time - Date.now()));
        renderer.onEvent(event);
      }
      vi.advanceTimersByTime(200);
      renderer.finish(run.report);
      const shown = io.stdout.text() + io.stderr.text();
      expect(shown).toContain("did not complete successfully");
      const length = shown.length;
      renderer.onEvent(run.events[0]!);
      renderer.finish(run.report);
      expect((io.stdout.text() + io.stderr.text()).length).toBe(length);
    },
  );

  // Issue 12: a long silence from the engine is said on every renderer, and the run keeps waiting.
  it.each<ProgressMode>(["tty", "plain", "json", "github"])(
    "makes a %s renderer that says when nothing has come from the engine",
    (mode) => {
      vi.useFakeTimers({ now: T0 });
      const run = failingRun();
      const io = createMemoryIo({ isTTY: mode === "tty", columns: 200, env: {} });
      const renderer = createRenderer({ mode, io, targets: run.targets, color: false });
      const [first, ...rest] = run.events;
      renderer.onEvent(first!);
      renderer.onEvent({ type: "engine-quiet", time: T0, quietMs: 30_000, running: run.targets });
      vi.advanceTimersByTime(500);
      for (const event of rest) {
        vi.advanceTimersByTime(Math.max(0, event.time - Date.now()));
        renderer.onEvent(event);
      }
      renderer.finish(run.report);
      const shown = io.stdout.text() + io.stderr.text();
      expect(shown).toContain(
        mode === "json" ? '"type":"engine-quiet"' : "no news from the engine for 30 s",
      );
    },
  );
});

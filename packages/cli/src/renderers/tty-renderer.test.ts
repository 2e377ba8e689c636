import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRenderer } from "./create-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import {
  T0,
  failingRun,
  interruptedRun,
  successfulRun,
  type RunFixture,
} from "./run-fixtures.test-support.js";
import { visibleWidth } from "./fit-to-width.js";
import type { BuildEvent } from "@stagecraft/core";

/** Feeds a run's events at their own times on the fake clock; returns the Io and the time finish ran. */
function play(run: RunFixture, options: { columns?: number; color?: boolean } = {}) {
  const io = createMemoryIo({ isTTY: true, columns: options.columns ?? 72 });
  const renderer = createRenderer({
    mode: "tty",
    io,
    targets: run.targets,
    color: options.color ?? false,
  });
  for (const event of run.events) {
    vi.advanceTimersByTime(Math.max(0, event.time - Date.now()));
    renderer.onEvent(event);
  }
  vi.advanceTimersByTime(250);
  const finishedAt = Date.now();
  const before = io.stdout.writes.length;
  renderer.finish(run.report);
  return { io, renderer, finishedAt, liveWrites: io.stdout.writes.slice(0, before) };
}

/** A write without the cursor-up-and-erase it starts with (when it does). */
function withoutErase(text: string): string {
  return text.startsWith("\r\x1b[") ? text.slice(text.indexOf("\x1b[J") + 3) : text;
}

/** The frame a write draws: its text with the cursor codes made visible. */
function showFrame(text: string): string {
  return text.replaceAll("\x1b", "␛");
}

describe("tty renderer", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("redraws at most 10 times a second", () => {
    const { liveWrites } = play(successfulRun());
    expect(liveWrites.length).toBeGreaterThan(10);
    for (const [i, write] of liveWrites.entries()) {
      const inOneSecond = liveWrites.slice(i).filter((later) => later.time < write.time + 1000);
      expect(inOneSecond.length).toBeLessThanOrEqual(10);
    }
  });

  it("shows each target's stages, running steps with their time and last 3 log lines", async () => {
    const { liveWrites } = play(successfulRun(), { columns: 100 });
    const frame = liveWrites.filter((write) => write.time <= T0 + 2500).at(-1);
    await expect(showFrame(frame?.text ?? "")).toMatchFileSnapshot("__snapshots__/tty-frame.txt");
    // The spinner's frame depends on the clock; the rest does not.
    const lines = (frame?.text ?? "")
      // The frame starts by erasing the one before.
      // eslint-disable-next-line no-control-regex -- the erase sequence is what is removed
      .replace(/^\r\x1b\[\d+A\x1b\[J/, "")
      .replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, "*")
      .split("\n");
    // The shared stages are built for test, the first requested target that needs them; their
    // steps are counted as the report counts them (FROM left out), whichever stream reported them.
    expect(lines).toContain("* test  2.5 s  0 ran · 3 cached");
    expect(lines).toContain("  ✓ base  cached (2 steps)");
    expect(lines).toContain("  * build  1/2 · 1 cached");
    expect(lines).toContain("    RUN npm ci  2.3 s");
    expect(lines.filter((line) => line.includes("│"))).toEqual([
      "      │ npm warn deprecated inflight@1.0.6: This module is not supported",
      "      │ added 312 packages, and audited 313 packages in 2s",
      "      │ found 0 vulnerabilities",
    ]);
    expect(lines.at(-2)).toBe("0/3 targets done · 3 running · 0 steps ran · 3 cached · 2.5 s");
  });

  it("over a pool, names the engine beside each running target", () => {
    const base = successfulRun();
    const run: RunFixture = {
      ...base,
      events: base.events.map((event) =>
        "target" in event ? { ...event, engine: event.target === "test" ? "p2" : "main" } : event,
      ),
    };
    const { liveWrites } = play(run, { columns: 100 });
    const frame = liveWrites.filter((write) => write.time <= T0 + 2500).at(-1)?.text ?? "";
    const lines = withoutErase(frame)
      .replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, "*")
      .split("\n");
    expect(lines).toContain("* test on p2  2.5 s  0 ran · 3 cached");
    expect(lines.some((line) => line.startsWith("* build on main  "))).toBe(true);
  });

  it("over a pool, says which engine builds a stage another engine's target reads", () => {
    const base = successfulRun();
    // build runs on p1, but its stage `build` is a shared stage main builds (and pushes) for it.
    const engines: Record<string, string> = { test: "p2", build: "p1", app: "main" };
    const run: RunFixture = {
      ...base,
      events: base.events.map((event) =>
        !("target" in event)
          ? event
          : (event.type === "step-started" ||
                event.type === "step-finished" ||
                event.type === "step-cached") &&
              event.step.stage === "build"
            ? { ...event, engine: "main" }
            : { ...event, engine: engines[event.target] ?? "main" },
      ),
    };
    const { liveWrites } = play(run, { columns: 100 });
    const frame = liveWrites.filter((write) => write.time <= T0 + 2500).at(-1)?.text ?? "";
    const lines = withoutErase(frame)
      .replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, "*")
      .split("\n");
    expect(lines.some((line) => line.startsWith("* build on p1  "))).toBe(true);
    expect(lines.some((line) => line.startsWith("  * build on main  "))).toBe(true);
    // The stages p1 builds itself say nothing more.
    expect(lines.some((line) => line.startsWith("  ✓ base  "))).toBe(true);
  });

  it("shows a shared stage's push on its own row: bytes and layers, then how it ended", () => {
    const base = successfulRun();
    const tag = "127.0.0.1:5000/ci/deps:pool-x1";
    const progress = (
      ms: number,
      layer: string,
      status: string,
      current: number | null = null,
      total: number | null = null,
    ): BuildEvent => ({
      type: "shared-push-progress",
      time: T0 + ms,
      stage: "deps",
      engine: "main",
      tag,
      layer,
      status,
      current,
      total,
    });
    const pushes: BuildEvent[] = [
      progress(1000, "l1", "Preparing"),
      progress(1000, "l2", "Preparing"),
      progress(1010, "l2", "Layer already exists"),
      progress(1050, "l1", "Pushing", 1_000_000, 4_000_000),
      {
        type: "shared-pushed",
        time: T0 + 1400,
        stage: "deps",
        engine: "main",
        reference: "127.0.0.1:5000/ci/deps@sha256:00",
        bytes: 4_000_000,
        durationMs: 400,
        error: null,
      },
    ];
    const events = [...base.events, ...pushes].sort((a, b) => a.time - b.time);
    const { liveWrites } = play({ ...base, events }, { columns: 100 });
    const shareRow = (ms: number): string | undefined =>
      withoutErase(liveWrites.filter((write) => write.time <= T0 + ms).at(-1)?.text ?? "")
        .replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, "*")
        .split("\n")
        .find((line) => line.includes("deps shared from main"));
    expect(shareRow(900)).toBeUndefined();
    expect(shareRow(1220)).toBe("* deps shared from main  pushing 1.0 MB / 4.0 MB (1/2 layers)");
    expect(shareRow(1520)).toBe("✓ deps shared from main  pushed 4.0 MB in 400 ms");
  });

  it("redraws in place: each frame erases the lines of the one before", () => {
    // No warnings in this run, so every line written belongs to a frame.
    const { liveWrites } = play(interruptedRun());
    expect(liveWrites[0]?.text.startsWith("\x1b")).toBe(false);
    for (const [i, write] of liveWrites.slice(1).entries()) {
      const before = withoutErase(liveWrites[i]?.text ?? "");
      expect(write.text.startsWith(`\r\x1b[${(before.match(/\n/g) ?? []).length}A\x1b[J`)).toBe(
        true,
      );
    }
  });

  // Issue 12: while the engine is quiet the live block says so at its foot, redrawn in place,
  // and the notice goes once anything arrives again.
  it("shows the stall notice in the live frame while the engine is quiet", () => {
    const run = successfulRun();
    const io = createMemoryIo({ isTTY: true, columns: 120 });
    const renderer = createRenderer({ mode: "tty", io, targets: run.targets, color: false });
    const before = run.events.filter((event) => event.time <= T0 + 2000);
    const after = run.events.slice(before.length);
    for (const event of before) {
      vi.advanceTimersByTime(Math.max(0, event.time - Date.now()));
      renderer.onEvent(event);
    }
    const lastFrame = (): string[] => {
      const frame = withoutErase(io.stdout.writes.at(-1)?.text ?? "");
      return frame.replace(/\n$/, "").split("\n");
    };
    const notice = (seconds: number): string =>
      `no news from the engine for ${seconds} s; still waiting for test, app, build`;

    // Quiet, but not for long enough yet: the frames keep coming (the clock moves), with no notice.
    vi.advanceTimersByTime(29_000);
    const silentWrites = io.stdout.writes.filter((write) => write.time > T0 + 2000);
    expect(silentWrites.length).toBeGreaterThan(200);
    expect(io.stdout.text()).not.toContain("no news from the engine");

    renderer.onEvent({
      type: "engine-quiet",
      time: Date.now(),
      quietMs: 30_000,
      running: ["test", "app", "build"],
    });
    vi.advanceTimersByTime(150);
    const quietAt = io.stdout.writes.length;
    expect(lastFrame().at(-1)).toBe(notice(30));
    expect(lastFrame().at(-2)).toMatch(/^0\/3 targets done · 3 running · .* · \d+\.\d s$/);
    // It stays while the engine stays quiet, on every redraw, and each one erases the last.
    vi.advanceTimersByTime(10_000);
    const quietWrites = io.stdout.writes.slice(quietAt);
    expect(quietWrites.length).toBeGreaterThan(50);
    for (const write of quietWrites) {
      expect(write.text.startsWith("\r\x1b[")).toBe(true);
      expect(withoutErase(write.text)).toContain(notice(30));
    }
    // A second notice (the scheduler repeats it each period) replaces the first.
    renderer.onEvent({
      type: "engine-quiet",
      time: Date.now(),
      quietMs: 60_000,
      running: ["test", "app", "build"],
    });
    vi.advanceTimersByTime(150);
    expect(lastFrame().at(-1)).toBe(notice(60));
    expect(lastFrame().join("\n")).not.toContain(notice(30));

    // News from the engine: the next frame has no notice.
    renderer.onEvent(after[0]!);
    vi.advanceTimersByTime(150);
    expect(lastFrame().join("\n")).not.toContain("no news from the engine");
    for (const event of after.slice(1)) renderer.onEvent(event);
    renderer.finish(run.report);
  });

  it("cuts every line to the terminal's width, colour codes and all", () => {
    const { liveWrites } = play(successfulRun(), { columns: 30, color: true });
    for (const write of liveWrites) {
      const frame = withoutErase(write.text);
      for (const line of frame.split("\n")) expect(visibleWidth(line)).toBeLessThanOrEqual(29);
    }
  });

  it("takes a terminal of 0 columns (a pty never given a size) as one of unknown width", () => {
    const wide = play(successfulRun(), { columns: 500 });
    const { io, liveWrites } = play(successfulRun(), { columns: 0 });
    // The live frame at 80 columns, not cut to 20; the report as on a terminal wide enough for it.
    const widest = Math.max(
      ...liveWrites.flatMap((write) => withoutErase(write.text).split("\n").map(visibleWidth)),
    );
    expect(widest).toBeGreaterThan(20);
    expect(widest).toBeLessThanOrEqual(79);
    const report = (text: string | undefined): string => withoutErase(text ?? "");
    expect(report(io.stdout.writes.at(-1)?.text)).toBe(report(wide.io.stdout.writes.at(-1)?.text));
    expect(report(io.stdout.writes.at(-1)?.text)).not.toContain("…");
  });

  it("prints warnings above the live block, once", () => {
    const { io } = play(successfulRun());
    expect(io.stdout.text().match(/⚠ build › build {2}Dockerfile:5 {2}FromAsCasing/g)).toHaveLength(
      1,
    );
  });

  it("ends with the static report, stops its timer, and writes nothing after", async () => {
    const { io, finishedAt, liveWrites } = play(failingRun());
    const last = io.stdout.writes.at(-1);
    expect(last?.time).toBe(finishedAt);
    const height = (withoutErase(liveWrites.at(-1)?.text ?? "").match(/\n/g) ?? []).length;
    expect(last?.text.startsWith(`\r\x1b[${height}A\x1b[J`)).toBe(true);
    await expect(showFrame(last?.text ?? "")).toMatchFileSnapshot("__snapshots__/tty-final.txt");
    expect(last?.text).toContain("✗ app › build › Dockerfile:12  RUN make");
    expect(vi.getTimerCount()).toBe(0);
    const count = io.stdout.writes.length;
    vi.advanceTimersByTime(5000);
    expect(io.stdout.writes).toHaveLength(count);
  });

  it("shows an interrupted run's cancelled target", () => {
    const { liveWrites } = play(interruptedRun());
    expect(liveWrites.at(-1)?.text).toContain("⊘ app  cancelled");
  });

  it("shows a push's bytes and layers on the target's row until it is pushed or fails", () => {
    const base = successfulRun();
    // app is built at 6550 ms and pushes its two tags while test still runs (until 7650 ms).
    const first = "127.0.0.1:5000/demo/app:1.4.0";
    const second = "127.0.0.1:5000/demo/app:latest";
    const progress = (
      ms: number,
      tag: string,
      layer: string,
      status: string,
      current: number | null = null,
      total: number | null = null,
    ): BuildEvent => ({
      type: "push-progress",
      time: T0 + ms,
      target: "app",
      tag,
      layer,
      status,
      current,
      total,
    });
    const pushes: BuildEvent[] = [
      ...["l1", "l2", "l3", "l4", "l5"].map((layer) => progress(6600, first, layer, "Preparing")),
      progress(6650, first, "l3", "Layer already exists"),
      progress(6650, first, "l4", "Mounted from demo/base"),
      progress(6650, first, "l5", "Waiting"),
      progress(6700, first, "l1", "Pushing", 4_000_000, 10_000_000),
      progress(6750, first, "l1", "Pushing", 10_000_000, 10_000_000),
      progress(6760, first, "l1", "Pushed"),
      progress(6800, first, "l2", "Pushing", 2_300_000, 38_000_000),
      {
        type: "target-pushed",
        time: T0 + 7000,
        target: "app",
        tag: first,
        digest: `sha256:${"d".repeat(64)}`,
        durationMs: 400,
      },
      progress(7100, second, "l1", "Preparing"),
      progress(7150, second, "l1", "Pushing", 512, 10_000_000),
      {
        type: "push-failed",
        time: T0 + 7300,
        target: "app",
        tag: second,
        registry: "127.0.0.1:5000",
        error: {
          code: "PUSH_FAILED",
          message: "denied: requested access to the resource is denied",
          logTail: [],
        },
      },
    ];
    const events = [...base.events, ...pushes].sort((a, b) => a.time - b.time);
    const { liveWrites } = play({ ...base, events }, { columns: 100 });
    const appRow = (ms: number): string | undefined =>
      withoutErase(liveWrites.filter((write) => write.time <= T0 + ms).at(-1)?.text ?? "")
        .split("\n")
        .find((line) => line.startsWith("✓ app  "));

    const built = "✓ app  6.5 s  1 ran · 2 shared · 3 cached  a9f8e7d6c5b4";
    // Each frame is drawn on the 100 ms tick, before that tick's events.
    expect(appRow(6720)).toMatch(/^✓ app {2}6\.5 s {2}pushing \(2\/5 layers\) {2}1 ran/);
    // Sizes are known only of the layers the engine has begun to send: l1 whole, l2's 2.3 MB.
    expect(appRow(6950)).toMatch(
      /^✓ app {2}6\.5 s {2}pushing 12\.3 MB \/ 48\.0 MB \(3\/5 layers\) {2}1 ran/,
    );
    expect(appRow(7120)).toBe(built);
    expect(appRow(7250)).toContain("  pushing 512 B / 10.0 MB (0/1 layer)  ");
    expect(appRow(7600)).toBe(built);
    expect(liveWrites.some((write) => write.text.includes(`↑ app  pushed ${first}@sha256:`))).toBe(
      true,
    );
    expect(liveWrites.some((write) => write.text.includes(`✗ app  push of ${second} failed`))).toBe(
      true,
    );
  });
});

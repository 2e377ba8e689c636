import { describe, expect, it } from "vitest";
import { visibleWidth } from "./fit-to-width.js";
import { formatReport, measureParallelism } from "./format-report.js";
import { failingRun, interruptedRun, successfulRun } from "./run-fixtures.test-support.js";

describe("formatReport", () => {
  it("prints a table per target, the critical path, the slowest steps and the sizes", async () => {
    const text = formatReport(successfulRun().report, { color: false });
    await expect(text).toMatchFileSnapshot("__snapshots__/report-success.txt");
    expect(text).toContain("critical path: base → build → test  7.2 s of 7.7 s wall");
    expect(text).toContain("size: app 48.2 MB ← build 1.1 GB (−96%)");
    expect(text).toMatch(
      /✓ app +6\.5 s {2}1 ran · 2 shared · 3 cached \(50%\) {2}a9f8e7d6c5b4 {2}48\.2 MB {2}demo-app:latest, /,
    );
    expect(text).not.toContain("\x1b");
  });

  it("says why a target was not pushed: its build failed, or it has no tag", () => {
    const report = failingRun().report;
    const [failed, other] = report.targets;
    if (failed === undefined || other === undefined) throw new Error("the fixture has two targets");
    failed.status = "failed";
    other.status = "succeeded";
    report.published = [failed, other].map((target) => ({
      target: target.target,
      status: "not-pushed" as const,
      tags: [],
      error: null,
    }));
    const text = formatReport(report, { color: false });
    expect(text).toContain(`– ${failed.target}  not pushed: its build failed`);
    expect(text).toContain(`– ${other.target}  not pushed: it has no tag (-t)`);
  });

  it("says where the cache was looked for and which bases were pinned or not", () => {
    const report = successfulRun().report;
    report.cache = {
      from: ["registry:127.0.0.1:5000/cache:main-app"],
      to: [],
      pinned: [
        {
          reference: "stagecraft/busybox:latest",
          pinned: `127.0.0.1:5000/stagecraft-bases/stagecraft/busybox@sha256:${"a".repeat(64)}`,
        },
        {
          reference: "debian:12",
          pinned: `127.0.0.1:5000/stagecraft-bases/library/debian@sha256:${"b".repeat(64)}`,
          found: "layers",
        },
      ],
      unpinned: [{ reference: "node:22", reason: "already pinned by digest" }],
      misses: [],
    };
    const lines = formatReport(report, { color: false }).split("\n");
    const at = lines.indexOf("cache: from registry:127.0.0.1:5000/cache:main-app; to none");
    expect(at).toBeGreaterThan(-1);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      `  base stagecraft/busybox:latest pinned as 127.0.0.1:5000/stagecraft-bases/stagecraft/busybox@sha256:${"a".repeat(64)}`,
      `  base debian:12 pinned as 127.0.0.1:5000/stagecraft-bases/library/debian@sha256:${"b".repeat(64)} (the mirror had it: same layers, not pushed)`,
      "  base node:22 not pinned: already pinned by digest",
    ]);
  });

  it("leaves out a size comparison that rounds to 0%", () => {
    const report = successfulRun().report;
    const app = report.targets.find((target) => target.target === "app");
    if (app?.sizeComparison == null) throw new Error("the fixture compares a size");
    app.sizeComparison = {
      ...app.sizeComparison,
      fromSizeBytes: app.sizeComparison.sizeBytes + 1000,
      changePercent: -0.4,
    };
    expect(formatReport(report, { color: false })).not.toContain("size: app");
  });

  it("says which stage's size was not measured, and why", () => {
    const report = successfulRun().report;
    report.unmeasuredStages = [
      { stage: "build", reason: "every step came from the imported cache" },
    ];
    expect(formatReport(report, { color: false })).toContain(
      "build: size not measured: every step came from the imported cache",
    );
  });

  it("prints failures last: target › stage › line, the daemon's message, the last 20 log lines", async () => {
    const text = formatReport(failingRun().report, {
      color: false,
      dockerfile: "docker/Dockerfile",
    });
    await expect(text).toMatchFileSnapshot("__snapshots__/report-failure.txt");
    const failure = text.slice(text.indexOf("✗ app › build › docker/Dockerfile:12"));
    expect(failure.split("\n").slice(0, 2)).toEqual([
      "✗ app › build › docker/Dockerfile:12  RUN make",
      '  process "/bin/sh -c make" did not complete successfully: exit code: 2',
    ]);
    expect(failure.match(/│/g)).toHaveLength(20);
    expect(text.trimEnd().endsWith("make: *** [Makefile:7: build/main.o] Error 1")).toBe(true);
    expect(text).toContain("cancelled: app failed");
  });

  it("names each target's own Dockerfile when the run's targets come from several", () => {
    const report = successfulRun().report;
    const text = formatReport(report, {
      color: false,
      dockerfile: "Dockerfile",
      dockerfiles: Object.fromEntries(
        report.targets.map((target) => [target.target, `${target.target}/Dockerfile`]),
      ),
    });
    const slowest = report.slowestSteps[0];
    if (slowest?.line == null) throw new Error("the fixture has a slowest step with a line");
    expect(text).toContain(`${slowest.target}/Dockerfile:${slowest.line}`);
    expect(text).not.toMatch(/(^|\s)Dockerfile:\d/m);
  });

  it("prints an interrupted run", async () => {
    await expect(formatReport(interruptedRun().report, { color: false })).toMatchFileSnapshot(
      "__snapshots__/report-interrupted.txt",
    );
  });

  it("has a short form: a line per target and the failures", async () => {
    const text = formatReport(failingRun().report, { color: false, detail: "short" });
    await expect(text).toMatchFileSnapshot("__snapshots__/report-short-failure.txt");
    expect(text).not.toContain("critical path");
    expect(text).toContain("✗ app › build › Dockerfile:12");
  });

  it("cuts lines to the width, but never a failure's message or logs", () => {
    const text = formatReport(failingRun().report, { color: true, width: 30 });
    const [table] = text.split("\n\n");
    for (const line of table?.split("\n") ?? []) {
      expect(visibleWidth(line)).toBeLessThanOrEqual(30);
    }
    expect(text).toContain("did not complete successfully: exit code: 2");
    expect(text).toContain("\x1b[31m✗\x1b[39m");
  });
});

describe("measureParallelism", () => {
  it("adds the steps' times up against the time any ran, and counts the most at once", () => {
    const report = successfulRun().report;
    const at = (start: number, end: number) => ({ startedAt: start, endedAt: end });
    const base = report.steps[0]!;
    const steps = [at(0, 1000), at(500, 1500), at(1500, 2000), at(3000, 3000)].map((times) => ({
      ...base,
      ...times,
    }));
    // 1000 + 1000 + 500 ms of steps within 0–2000 ms; the last step took no time.
    expect(measureParallelism({ ...report, steps })).toEqual({
      busyMs: 2500,
      spanMs: 2000,
      factor: 1.25,
      most: 2,
    });
    expect(measureParallelism({ ...report, steps: [] })).toBeNull();
  });
});

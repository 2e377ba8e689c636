import { describe, expect, it } from "vitest";
import { BUILD_EVENT_SCHEMA_VERSION, type BuildEvent, type StepInfo } from "../events.js";
import { createBuildReport } from "./create-build-report.js";

const T0 = 1_795_315_170_000;

let digests = 0;
function step(stage: string, index: number, total: number, instruction: string, line: number) {
  digests += 1;
  const info: StepInfo = {
    digest: `sha256:${String(digests).padStart(4, "0")}`,
    name: `[${stage} ${index}/${total}] ${instruction}`,
    kind: "instruction",
    stage,
    index,
    total,
    line,
    instruction,
  };
  return info;
}

/** Events of one step that ran from `start` to `end` (seconds after T0). */
function ran(target: string, info: StepInfo, start: number, end: number): BuildEvent[] {
  return [
    { type: "step-started", time: T0 + start * 1000, target, step: info },
    {
      type: "step-finished",
      time: T0 + end * 1000,
      target,
      step: info,
      durationMs: (end - start) * 1000,
    },
  ];
}

function cached(target: string, info: StepInfo, at: number): BuildEvent {
  return { type: "step-cached", time: T0 + at * 1000, target, step: info };
}

function runStarted(targets: string[]): BuildEvent {
  return {
    type: "run-started",
    time: T0,
    schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
    targets,
    stages: [],
    targetStages: {},
    concurrency: targets.length,
    engine: {
      endpoint: "unix:///var/run/docker.sock",
      version: "26.1.5",
      apiVersion: "1.45",
      platform: "linux/amd64",
    },
    context: { transfer: "tar", files: 1, bytes: 100, warnings: [] },
  };
}

function finished(target: string, at: number, started = 0): BuildEvent[] {
  return [
    { type: "target-started", time: T0 + started * 1000, target, buildId: `b-${target}` },
    {
      type: "target-finished",
      time: T0 + at * 1000,
      target,
      imageId: `sha256:${target}0000000000000000`,
      tags: [`${target}:latest`],
      durationMs: (at - started) * 1000,
    },
  ];
}

describe("createBuildReport", () => {
  it("finds the critical path through a diamond of stages", () => {
    // base → deps → app and base → assets → app; deps is the slow side of the diamond.
    const base = step("base", 1, 1, "RUN apk add make", 2);
    const deps = step("deps", 1, 1, "RUN npm ci", 5);
    const assets = step("assets", 1, 1, "RUN build-assets", 8);
    const app = step("app", 1, 1, "COPY --from=deps /out /app", 11);
    const events: BuildEvent[] = [
      runStarted(["app"]),
      ...ran("app", base, 0.1, 1.1),
      ...ran("app", deps, 1.1, 4.1),
      ...ran("app", assets, 1.1, 2.1),
      ...ran("app", app, 4.1, 6.1),
      ...finished("app", 6.5),
      {
        type: "run-finished",
        time: T0 + 6500,
        status: "succeeded",
        durationMs: 6500,
        succeeded: ["app"],
        failed: [],
        cancelled: [],
      },
    ];
    const report = createBuildReport({
      events,
      images: {},
      stageGraph: {
        stages: [
          { id: "base", dependsOn: [] },
          { id: "deps", dependsOn: ["base"] },
          { id: "assets", dependsOn: ["base"] },
          { id: "app", dependsOn: ["assets", "deps"] },
        ],
      },
      targetStages: { app: ["base", "deps", "assets", "app"] },
    });

    expect(report.criticalPath).toEqual({
      stages: [
        { stage: "base", durationMs: 1000, addedMs: 1000 },
        { stage: "deps", durationMs: 3000, addedMs: 3000 },
        { stage: "app", durationMs: 2000, addedMs: 2000 },
      ],
      durationMs: 6000,
      wallMs: 6500,
      percentOfWall: 92,
    });
    expect(report.status).toBe("succeeded");
    expect(report.wallMs).toBe(6500);
  });

  it("gives each target the time its build started: a queued target starts late", () => {
    const report = createBuildReport({
      events: [...finished("app", 3), ...finished("docs", 5, 2)],
      images: {},
    });
    expect(
      report.targets.map(({ target, startedAt, wallMs }) => [target, startedAt, wallMs]),
    ).toEqual([
      ["app", T0, 3000],
      ["docs", T0 + 2000, 3000],
    ]);
  });

  it("counts run and cached steps per target, shared stages in every target that needs them", () => {
    const base1 = step("base", 1, 3, "FROM alpine", 1);
    const base2 = step("base", 2, 3, "RUN apk add make", 2);
    const base3 = step("base", 3, 3, "WORKDIR /src", 3);
    const test1 = step("test", 1, 1, "RUN make test", 6);
    const app1 = step("app", 1, 2, "RUN make", 9);
    const app2 = step("app", 2, 2, "CMD app", 10);
    const events: BuildEvent[] = [
      runStarted(["test", "app"]),
      // The shared base is attributed to `test`, which reached it first.
      cached("test", base1, 0.1),
      cached("test", base2, 0.1),
      cached("test", base3, 0.1),
      ...ran("test", test1, 0.2, 1.2),
      cached("app", app1, 0.2),
      ...ran("app", app2, 0.3, 0.4),
      // Overhead steps (no stage) are not counted.
      ...ran("app", { ...app2, digest: "sha256:export", stage: null, kind: "export" }, 0.4, 0.9),
      ...finished("test", 1.3),
      ...finished("app", 1.0),
    ];
    const report = createBuildReport({
      events,
      targetStages: { test: ["base", "test"], app: ["base", "app"] },
    });

    const byName = Object.fromEntries(report.targets.map((target) => [target.target, target]));
    // `FROM` steps are not counted: BuildKit's cached flag on them is unreliable.
    expect(byName.test).toMatchObject({ stepsRun: 1, stepsCached: 2, cachedPercent: 67 });
    expect(byName.app).toMatchObject({ stepsRun: 1, stepsCached: 3, cachedPercent: 75 });
    expect(report.totals).toEqual({
      stepsRun: 2,
      stepsCached: 3,
      stepsShared: 0,
      cachedPercent: 60,
    });
    // Nothing ran for both: base came from the cache, so no step was shared.
    expect(byName.app).toMatchObject({ stepsShared: 0 });
    expect(report.stages.map((stage) => [stage.stage, stage.status, stage.target])).toEqual([
      ["base", "cached", "test"],
      ["test", "ran", "test"],
      ["app", "ran", "app"],
    ]);
    // The run never reported its end: status and wall time come from the targets and the last event.
    expect(report.status).toBe("succeeded");
    expect(report.wallMs).toBe(1300);
  });

  it("counts a step that started and was then found in the cache as cached", () => {
    const copy = step("app", 2, 2, "COPY --from=build /out /out", 12);
    const report = createBuildReport({
      events: [
        runStarted(["app"]),
        { type: "step-started", time: T0 + 100, target: "app", step: copy },
        cached("app", copy, 0.1),
        ...finished("app", 0.3),
      ],
      targetStages: { app: ["app"] },
    });
    expect(report.stages).toEqual([
      {
        stage: "app",
        target: "app",
        neededBy: ["app"],
        status: "cached",
        startedAt: null,
        endedAt: null,
        durationMs: 0,
        steps: 1,
        stepsRun: 0,
        stepsCached: 1,
      },
    ]);
    expect(report.targets[0]).toMatchObject({ stepsRun: 0, stepsCached: 1 });
  });

  it("counts a step once when concurrent builds carry it under several digests", () => {
    const run = step("base", 2, 2, "RUN make deps", 3);
    // The same `[base 2/2]` step in another target's stream: another digest, taken from the cache.
    const replica = { ...run, digest: "sha256:replica" };
    const copyA = step("base", 1, 2, "COPY . .", 2);
    const copyB = { ...copyA, digest: "sha256:replica-copy" };
    const events: BuildEvent[] = [
      runStarted(["a", "b"]),
      ...ran("a", copyA, 0.1, 0.2),
      cached("b", copyB, 0.2),
      ...ran("a", run, 0.2, 2.2),
      cached("b", replica, 2.3),
      ...finished("a", 2.5),
      ...finished("b", 2.6),
    ];
    const report = createBuildReport({ events, targetStages: { a: ["base"], b: ["base"] } });
    // Both steps ran once, for a, and served b too: shared, not cached (the cache was cold).
    expect(report.totals).toEqual({
      stepsRun: 2,
      stepsCached: 0,
      stepsShared: 2,
      cachedPercent: 0,
    });
    expect(report.targets.map((t) => [t.target, t.stepsRun, t.stepsShared, t.stepsCached])).toEqual(
      [
        ["a", 2, 0, 0],
        ["b", 0, 2, 0],
      ],
    );
    expect(report.stages).toEqual([
      expect.objectContaining({ stage: "base", status: "ran", durationMs: 2100, stepsRun: 2 }),
    ]);
  });

  it("compares a final image with the target stage it was built from", () => {
    const events: BuildEvent[] = [
      runStarted(["build", "app", "test"]),
      ...finished("build", 5),
      ...finished("app", 6),
      ...finished("test", 6),
    ];
    const report = createBuildReport({
      events,
      images: {
        build: { id: "sha256:build", sizeBytes: 1_100_000_000 },
        app: { id: "sha256:app", sizeBytes: 48_000_000 },
        test: undefined,
      },
      stageGraph: {
        stages: [
          { id: "base", dependsOn: [] },
          { id: "build", dependsOn: ["base"] },
          { id: "test", dependsOn: ["build"] },
          { id: "app", dependsOn: ["build"] },
        ],
      },
      targetStages: { build: ["base", "build"], app: ["base", "build", "app"] },
    });

    const app = report.targets.find((target) => target.target === "app");
    expect(app?.sizeComparison).toEqual({
      from: "build",
      fromSizeBytes: 1_100_000_000,
      sizeBytes: 48_000_000,
      changePercent: -95.6,
    });
    expect(app?.sizeBytes).toBe(48_000_000);
    // build's own stage was built from base, which was no target of this run; test has no size.
    expect(report.targets.find((target) => target.target === "build")?.sizeComparison).toBeNull();
    expect(report.targets.find((target) => target.target === "test")?.sizeComparison).toBeNull();
  });

  it("compares a final image with a probed stage nobody asked for, and checks budgets", () => {
    const events: BuildEvent[] = [runStarted(["app"]), ...finished("app", 6)];
    const report = createBuildReport({
      events,
      images: { app: { id: "sha256:app", sizeBytes: 48_000_000 } },
      sizes: {
        stageSizes: { build: 1_100_000_000 },
        budgets: { app: 40_000_000 },
        sizeMeaning: "uncompressed",
      },
      stageGraph: {
        stages: [
          { id: "base", dependsOn: [] },
          { id: "build", dependsOn: ["base"] },
          { id: "app", dependsOn: ["base", "build"] },
        ],
      },
      targetStages: { app: ["base", "build", "app"] },
    });
    expect(report.targets[0]?.sizeComparison).toEqual({
      from: "build",
      fromSizeBytes: 1_100_000_000,
      sizeBytes: 48_000_000,
      changePercent: -95.6,
    });
    expect(report.sizeBudgets).toEqual([
      {
        target: "app",
        budgetBytes: 40_000_000,
        sizeBytes: 48_000_000,
        overBytes: 8_000_000,
        exceeded: true,
      },
    ]);
    expect(report.sizeMeaning).toBe("uncompressed");
  });

  it("passes a budget the image is within, and leaves the budget of an unbuilt target unknown", () => {
    const events: BuildEvent[] = [runStarted(["app"]), ...finished("app", 6)];
    const report = createBuildReport({
      events,
      images: { app: { id: "sha256:app", sizeBytes: 48_000_000 } },
      sizes: { budgets: { app: 48_000_000, other: 1 } },
      targetStages: { app: ["app"] },
    });
    expect(report.sizeBudgets?.map((budget) => [budget.target, budget.exceeded])).toEqual([
      ["app", false],
      ["other", false],
    ]);
    expect(report.sizeBudgets?.[1]?.sizeBytes).toBeNull();
    expect(report.sizeMeaning).toBeUndefined();
  });

  it("says where a failed target broke, with the last 20 log lines", () => {
    const make = step("build", 2, 3, "RUN make", 12);
    const lint = step("lint", 1, 1, "RUN eslint .", 20);
    const logLines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const events: BuildEvent[] = [
      runStarted(["app", "lint"]),
      { type: "target-started", time: T0, target: "app", buildId: "b-app" },
      { type: "target-started", time: T0, target: "lint", buildId: "b-lint" },
      { type: "step-started", time: T0 + 100, target: "app", step: make },
      ...logLines.map((line, i): BuildEvent => ({
        type: "log",
        time: T0 + 200 + i,
        target: "app",
        stage: "build",
        step: make.digest,
        stream: 1,
        line,
      })),
      {
        type: "step-failed",
        time: T0 + 4100,
        target: "app",
        step: make,
        error: "exit code: 2",
        cancelled: false,
        durationMs: 4000,
      },
      {
        type: "stage-failed",
        time: T0 + 4100,
        target: "app",
        stage: "build",
        step: make.digest,
        error: "exit code: 2",
      },
      {
        type: "target-failed",
        time: T0 + 4200,
        target: "app",
        // The engine could not attribute this failure: the events fill it in.
        error: { code: "BUILD_FAILED", message: "exit code: 2", logTail: [] },
        durationMs: 4200,
      },
      { type: "step-started", time: T0 + 100, target: "lint", step: lint },
      {
        type: "step-failed",
        time: T0 + 4300,
        target: "lint",
        step: lint,
        error: "context canceled",
        cancelled: true,
        durationMs: 4200,
      },
      {
        type: "target-cancelled",
        time: T0 + 4300,
        target: "lint",
        reason: { kind: "fail-fast", failedTarget: "test" },
        message: "cancelled",
      },
      {
        type: "run-finished",
        time: T0 + 4400,
        status: "failed",
        durationMs: 4400,
        succeeded: [],
        failed: ["app"],
        cancelled: ["lint"],
      },
    ];
    const report = createBuildReport({ events });

    expect(report.status).toBe("failed");
    expect(report.failures).toEqual([
      {
        target: "app",
        stopped: [],
        code: "BUILD_FAILED",
        stage: "build",
        step: "[build 2/3] RUN make",
        line: 12,
        message: "exit code: 2",
        hint: null,
        logTail: logLines.slice(10),
        missingId: null,
      },
    ]);
    expect(report.targets.map((target) => [target.target, target.status, target.wallMs])).toEqual([
      ["app", "failed", 4200],
      ["lint", "cancelled", 4300],
    ]);
    expect(report.targets[1]?.cancelReason).toEqual({ kind: "fail-fast", failedTarget: "test" });
    // The failed step ran; the cancelled one is neither run nor cached.
    expect(report.totals).toEqual({
      stepsRun: 1,
      stepsCached: 0,
      stepsShared: 0,
      cachedPercent: 0,
    });
    expect(report.slowestSteps.map((slow) => [slow.instruction, slow.status])).toEqual([
      ["RUN make", "failed"],
    ]);
  });

  it("keeps the engine's own attribution of a failure over the events'", () => {
    const tail = Array.from({ length: 25 }, (_, i) => `out ${i}`);
    const report = createBuildReport({
      events: [
        runStarted(["app"]),
        {
          type: "target-failed",
          time: T0 + 10,
          target: "app",
          error: {
            code: "BUILD_FAILED",
            message: 'process "/bin/sh -c make" did not complete successfully: exit code: 2',
            hint: "Fix the build.",
            stage: "build",
            step: "[build 2/3] RUN make",
            line: 7,
            logTail: tail,
          },
          durationMs: 10,
        },
      ],
    });
    expect(report.failures[0]).toMatchObject({
      stage: "build",
      line: 7,
      hint: "Fix the build.",
      logTail: tail.slice(5),
    });
    expect(report.status).toBe("failed");
  });

  it("caps a failure's lines and message and says what was cut", () => {
    const huge = "x".repeat(5_000_000);
    const report = createBuildReport({
      events: [
        runStarted(["app"]),
        {
          type: "target-failed",
          time: T0 + 10,
          target: "app",
          error: {
            code: "BUILD_FAILED",
            message: `exit code: 1 ${huge}`,
            logTail: [...Array.from({ length: 30 }, (_, i) => `out ${i}`), huge],
          },
          durationMs: 10,
        },
      ],
    });
    const failure = report.failures[0];
    expect(failure?.logTail).toHaveLength(20);
    expect(failure?.logTail.at(-1)).toBe(`${"x".repeat(500)}… (4999500 more characters)`);
    expect(failure?.message.length).toBeLessThan(2_100);
    expect(failure?.message).toMatch(/… \(\d+ more characters\)$/);
    expect(JSON.stringify(report).length).toBeLessThan(20_000);
  });

  it("lists the five slowest steps, longest first", () => {
    const events: BuildEvent[] = [runStarted(["app"])];
    for (const seconds of [3, 9, 1, 7, 5, 8, 2]) {
      events.push(
        ...ran("app", step("app", seconds, 9, `RUN sleep ${seconds}`, seconds), 0, seconds),
      );
    }
    const report = createBuildReport({ events });
    expect(report.slowestSteps.map((slow) => [slow.instruction, slow.durationMs])).toEqual([
      ["RUN sleep 9", 9000],
      ["RUN sleep 8", 8000],
      ["RUN sleep 7", 7000],
      ["RUN sleep 5", 5000],
      ["RUN sleep 3", 3000],
    ]);
    expect(report.slowestSteps[0]).toMatchObject({ stage: "app", target: "app", line: 9 });
  });

  it("reports an interrupted run: unfinished targets, running steps timed until the last event", () => {
    const slow = step("build", 1, 1, "RUN sleep 60", 4);
    const report = createBuildReport({
      events: [
        runStarted(["app", "test"]),
        { type: "target-started", time: T0, target: "app", buildId: "b" },
        { type: "step-started", time: T0 + 1000, target: "app", step: slow },
        {
          type: "target-cancelled",
          time: T0 + 3000,
          target: "app",
          reason: { kind: "interrupted" },
          message: "cancelled",
        },
      ],
      stageGraph: {
        stages: [
          { id: "build", dependsOn: [] },
          { id: "app", dependsOn: ["build"] },
        ],
      },
      // app's own stage was never reached: it has no place on the critical path.
      targetStages: { app: ["build", "app"] },
    });
    expect(report.status).toBe("cancelled");
    expect(report.targets.map((target) => [target.target, target.status, target.wallMs])).toEqual([
      ["app", "cancelled", 3000],
      ["test", "incomplete", null],
    ]);
    expect(report.stages).toEqual([
      {
        stage: "build",
        target: "app",
        neededBy: ["app"],
        status: "incomplete",
        startedAt: T0 + 1000,
        endedAt: T0 + 3000,
        durationMs: 2000,
        steps: 1,
        stepsRun: 0,
        stepsCached: 0,
      },
    ]);
    expect(report.steps).toEqual([
      expect.objectContaining({
        name: "[build 1/1] RUN sleep 60",
        status: "incomplete",
        durationMs: 2000,
      }),
    ]);
    expect(report.criticalPath?.stages).toEqual([
      { stage: "build", durationMs: 2000, addedMs: 2000 },
    ]);
  });

  it("keeps each warning once and survives a JSON round trip", () => {
    const warning: BuildEvent = {
      type: "warning",
      time: T0 + 5,
      target: "app",
      stage: "build",
      step: null,
      level: 1,
      message: "Empty continuation line",
      detail: [],
      url: null,
      file: "Dockerfile",
      line: 4,
      ranges: [],
    };
    const report = createBuildReport({
      events: [runStarted(["app"]), warning, { ...warning, target: "test" }],
    });
    expect(report.warnings).toEqual([
      {
        target: "app",
        stage: "build",
        message: "Empty continuation line",
        file: "Dockerfile",
        line: 4,
        url: null,
      },
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it("reports an empty run", () => {
    const report = createBuildReport({ events: [] });
    expect(report).toMatchObject({
      status: "succeeded",
      startedAt: null,
      wallMs: 0,
      targets: [],
      criticalPath: null,
      totals: { stepsRun: 0, stepsCached: 0, cachedPercent: null },
    });
  });
});

// Fixed runs for renderer tests: what the engine would report for the demo Dockerfile below.
//
//   FROM node:20-alpine AS base         (line 1)  RUN apk add make (2)  WORKDIR /src (3)
//   FROM base AS build                  (line 5)  COPY package.json (6)  RUN npm ci (7)  RUN make (12)
//   FROM build AS test                  (line 14) RUN make test (15)
//   FROM alpine:3.20 AS app             (line 17) COPY --from=build /src/dist /app (18)
import { BUILD_EVENT_SCHEMA_VERSION, type StepInfo } from "@stagecraft/core/progress";
import { capTargetError, createBuildReport } from "@stagecraft/core/report";
import type { BuildEvent, BuildReport } from "@stagecraft/core";

/** The time every fixture run starts at (epoch milliseconds). */
export const T0 = 1_795_315_170_000;

/** A recorded run and its report. */
export interface RunFixture {
  targets: string[];
  events: BuildEvent[];
  report: BuildReport;
}

const stageGraph = {
  stages: [
    { id: "base", dependsOn: [] },
    { id: "build", dependsOn: ["base"] },
    { id: "test", dependsOn: ["build"] },
    { id: "app", dependsOn: ["build"] },
  ],
};
const targetStages = {
  build: ["base", "build"],
  test: ["base", "build", "test"],
  app: ["base", "build", "app"],
};

function step(name: string, line: number | null): StepInfo {
  const match = /^\[(\S+) (\d+)\/(\d+)\] (.*)$/.exec(name);
  const kind =
    match !== null ? "instruction" : name.startsWith("[internal]") ? "internal" : "export";
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return {
    digest: `sha256:${hash.toString(16).padStart(8, "0")}`,
    name,
    kind,
    stage: match?.[1] ?? null,
    index: match === null ? null : Number(match[2]),
    total: match === null ? null : Number(match[3]),
    line,
    instruction: match?.[4] ?? name,
  };
}

const BASE = [
  step("[base 1/3] FROM docker.io/library/node:20-alpine", 1),
  step("[base 2/3] RUN apk add --no-cache make", 2),
  step("[base 3/3] WORKDIR /src", 3),
] as const;
const COPY_PACKAGE = step("[build 1/3] COPY package.json package-lock.json ./", 6);
const NPM_CI = step("[build 2/3] RUN npm ci", 7);
const MAKE = step("[build 3/3] RUN make", 12);
const MAKE_TEST = step("[test 1/1] RUN make test", 15);
const ALPINE = step("[app 1/2] FROM docker.io/library/alpine:3.20", 17);
const COPY_DIST = step("[app 2/2] COPY --from=build /src/dist /app", 18);
const LOAD = step("[internal] load build definition from Dockerfile", null);

/** A small builder: events in time order, times in milliseconds after T0. */
function timeline() {
  const events: BuildEvent[] = [];
  const at = (ms: number) => T0 + ms;
  return {
    /** The events in time order (a stable sort keeps same-time events in the order pushed). */
    sorted: () => events.toSorted((a, b) => a.time - b.time),
    push(event: BuildEvent) {
      events.push(event);
    },
    ran(target: string, info: StepInfo, start: number, end: number, logs: [number, string][] = []) {
      events.push({ type: "step-started", time: at(start), target, step: info });
      for (const [time, line] of logs) {
        events.push({
          type: "log",
          time: at(time),
          target,
          stage: info.stage,
          step: info.digest,
          stream: 1,
          line,
        });
      }
      events.push({
        type: "step-finished",
        time: at(end),
        target,
        step: info,
        durationMs: end - start,
      });
    },
    cached(target: string, info: StepInfo, time: number) {
      events.push({ type: "step-cached", time: at(time), target, step: info });
    },
    exported(target: string, start: number, end: number) {
      const info = { ...step("exporting to image", null), digest: `sha256:export-${target}` };
      events.push({ type: "step-started", time: at(start), target, step: info });
      events.push({
        type: "transfer",
        time: at(start + 10),
        target,
        step: info.digest,
        id: `naming to docker.io/library/demo-${target}:latest`,
        name: `naming to docker.io/library/demo-${target}:latest`,
        current: 0,
        total: 0,
        completed: true,
      });
      events.push({
        type: "step-finished",
        time: at(end),
        target,
        step: info,
        durationMs: end - start,
      });
    },
  };
}

function runStarted(targets: string[]): BuildEvent {
  return {
    type: "run-started",
    time: T0,
    schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
    targets,
    stages: stageGraph.stages.map((stage) => ({ id: stage.id, dependsOn: [...stage.dependsOn] })),
    targetStages: Object.fromEntries(
      targets.map((target) => [
        target,
        [...((targetStages as Record<string, string[] | undefined>)[target] ?? [])],
      ]),
    ),
    concurrency: 3,
    engine: {
      endpoint: "unix:///var/run/docker.sock",
      version: "26.1.5",
      apiVersion: "1.45",
      platform: "linux/amd64",
    },
    context: { transfer: "tar", files: 12, bytes: 40_960, warnings: [] },
  };
}

/** test, build and app of the demo, all built; base comes from the cache and is shared by all three. */
export function successfulRun(): RunFixture {
  const targets = ["test", "build", "app"];
  const t = timeline();
  t.push(runStarted(targets));
  for (const target of targets) {
    t.push({ type: "target-queued", time: T0, target });
  }
  for (const target of targets) {
    t.push({ type: "target-started", time: T0 + 10, target, buildId: `build-${target}` });
  }
  t.ran("build", LOAD, 20, 90);
  t.push({
    type: "warning",
    time: T0 + 95,
    target: "build",
    stage: "build",
    step: null,
    level: 1,
    message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match",
    detail: [],
    url: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
    file: "Dockerfile",
    line: 5,
    ranges: [],
  });
  t.push({ type: "stage-started", time: T0 + 200, target: "build", stage: "base" });
  for (const info of BASE) t.cached("build", info, 200);
  t.push({ type: "stage-cached", time: T0 + 200, target: "build", stage: "base", steps: 3 });
  t.push({ type: "stage-started", time: T0 + 210, target: "build", stage: "build" });
  t.cached("build", COPY_PACKAGE, 210);
  t.push({ type: "stage-started", time: T0 + 300, target: "app", stage: "app" });
  t.cached("app", ALPINE, 300);
  t.ran("build", NPM_CI, 220, 2720, [
    [800, "npm warn deprecated inflight@1.0.6: This module is not supported"],
    [2400, "added 312 packages, and audited 313 packages in 2s"],
    [2410, "found 0 vulnerabilities"],
  ]);
  t.ran("build", MAKE, 2730, 5930, [
    [3000, "tsc -b"],
    [5500, "\x1b[32mbuilt\x1b[39m dist/ in 2.5s"],
  ]);
  t.push({
    type: "stage-finished",
    time: T0 + 5930,
    target: "build",
    stage: "build",
    durationMs: 5720,
    stepsRun: 2,
    stepsCached: 1,
  });
  t.push({ type: "stage-started", time: T0 + 5940, target: "test", stage: "test" });
  t.ran("app", COPY_DIST, 5940, 6240);
  t.push({
    type: "stage-finished",
    time: T0 + 6240,
    target: "app",
    stage: "app",
    durationMs: 6240 - 300,
    stepsRun: 1,
    stepsCached: 1,
  });
  t.exported("build", 5950, 6150);
  t.push({
    type: "target-finished",
    time: T0 + 6200,
    target: "build",
    imageId: "sha256:b1d5e0c3a4f2e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1",
    tags: ["demo-build:latest"],
    durationMs: 6190,
  });
  t.exported("app", 6250, 6500);
  t.push({
    type: "target-finished",
    time: T0 + 6550,
    target: "app",
    imageId: "sha256:a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8",
    tags: ["demo-app:latest", "registry.example.com/demo/app:1.4.0"],
    durationMs: 6540,
  });
  t.ran("test", MAKE_TEST, 5940, 7440, [
    [6500, "PASS src/parse.test.ts"],
    [6900, "PASS src/plan.test.ts"],
    [7400, "Tests: 42 passed, 42 total"],
  ]);
  t.push({
    type: "stage-finished",
    time: T0 + 7440,
    target: "test",
    stage: "test",
    durationMs: 1500,
    stepsRun: 1,
    stepsCached: 0,
  });
  t.exported("test", 7450, 7600);
  t.push({
    type: "target-finished",
    time: T0 + 7650,
    target: "test",
    imageId: "sha256:7e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e57e5",
    tags: ["demo-test:latest"],
    durationMs: 7640,
  });
  t.push({
    type: "run-finished",
    time: T0 + 7700,
    status: "succeeded",
    durationMs: 7700,
    succeeded: ["test", "build", "app"],
    failed: [],
    cancelled: [],
  });
  const events = t.sorted();
  const report = createBuildReport({
    events,
    images: {
      build: { id: "sha256:b1d5", sizeBytes: 1_104_000_000 },
      test: { id: "sha256:7e57", sizeBytes: 1_180_300_000 },
      app: { id: "sha256:a9f8", sizeBytes: 48_210_000 },
    },
    stageGraph,
    targetStages,
  });
  return { targets, events, report };
}

/**
 * app breaks in `RUN make` (Dockerfile line 12); test, waiting on the same stage, is cancelled
 * (fail-fast). `huge` makes the step's last line and the daemon's message that many characters.
 */
export function failingRun(huge?: number): RunFixture {
  const targets = ["app", "test"];
  const t = timeline();
  t.push(runStarted(targets));
  for (const target of targets) {
    t.push({ type: "target-started", time: T0 + 10, target, buildId: `build-${target}` });
  }
  for (const info of BASE) t.cached("app", info, 200);
  t.cached("app", COPY_PACKAGE, 210);
  t.cached("app", NPM_CI, 210);
  const log: [number, string][] = Array.from({ length: 24 }, (_, i) => [
    400 + i * 10,
    i < 22 ? `cc -c src/part${i}.c -o build/part${i}.o` : "",
  ]);
  log[22] = [620, "src/main.c:10:5: error: use of undeclared identifier 'TOKEN=hunter2'"];
  log[23] = [630, "make: *** [Makefile:7: build/main.o] Error 1"];
  if (huge !== undefined) log[23] = [630, "x".repeat(huge)];
  t.push({ type: "step-started", time: T0 + 300, target: "app", step: MAKE });
  for (const [time, line] of log) {
    t.push({
      type: "log",
      time: T0 + time,
      target: "app",
      stage: "build",
      step: MAKE.digest,
      stream: 2,
      line,
    });
  }
  const message =
    huge === undefined
      ? 'process "/bin/sh -c make" did not complete successfully: exit code: 2'
      : `process "/bin/sh -c make" failed: ${"m".repeat(huge)}`;
  t.push({
    type: "step-failed",
    time: T0 + 700,
    target: "app",
    step: MAKE,
    error: message,
    cancelled: false,
    durationMs: 400,
  });
  t.push({
    type: "stage-failed",
    time: T0 + 700,
    target: "app",
    stage: "build",
    step: MAKE.digest,
    error: message,
  });
  // As runBuild emits it: bounded (the fixture's own error is far under the bounds).
  t.push({
    type: "target-failed",
    time: T0 + 720,
    target: "app",
    error: capTargetError({
      code: "BUILD_FAILED",
      message,
      stage: "build",
      step: MAKE.name,
      line: 12,
      logTail: log.slice(-20).map(([, line]) => line),
    }),
    durationMs: 710,
  });
  t.push({
    type: "target-cancelled",
    time: T0 + 750,
    target: "test",
    reason: { kind: "fail-fast", failedTarget: "app" },
    message: 'target "test" was cancelled because app failed',
  });
  t.push({
    type: "run-finished",
    time: T0 + 760,
    status: "failed",
    durationMs: 760,
    succeeded: [],
    failed: ["app"],
    cancelled: ["test"],
  });
  const events = t.sorted();
  const report = createBuildReport({ events, stageGraph, targetStages });
  return { targets, events, report };
}

/** The user pressed Ctrl-C while app's `RUN make` was running. */
export function interruptedRun(): RunFixture {
  const targets = ["app"];
  const t = timeline();
  t.push(runStarted(targets));
  t.push({ type: "target-started", time: T0 + 10, target: "app", buildId: "build-app" });
  for (const info of BASE) t.cached("app", info, 200);
  t.push({ type: "step-started", time: T0 + 300, target: "app", step: MAKE });
  t.push({
    type: "log",
    time: T0 + 900,
    target: "app",
    stage: "build",
    step: MAKE.digest,
    stream: 1,
    line: "tsc -b",
  });
  t.push({
    type: "target-cancelled",
    time: T0 + 2300,
    target: "app",
    reason: { kind: "interrupted" },
    message: 'target "app" was cancelled by an interrupt',
  });
  t.push({
    type: "step-failed",
    time: T0 + 2310,
    target: "app",
    step: MAKE,
    error: "context canceled",
    cancelled: true,
    durationMs: 2010,
  });
  t.push({
    type: "run-finished",
    time: T0 + 2320,
    status: "cancelled",
    durationMs: 2320,
    succeeded: [],
    failed: [],
    cancelled: ["app"],
  });
  const events = t.sorted();
  const report = createBuildReport({ events, stageGraph, targetStages });
  return { targets, events, report };
}

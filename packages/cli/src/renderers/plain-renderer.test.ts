import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILD_EVENT_SCHEMA_VERSION, type StepInfo } from "@stagecraft/core/progress";
import { analyzeDockerfile, runBuild, type BuildEvent } from "@stagecraft/core";
import { FakeEngine } from "@stagecraft/core/testing";
import { createRenderer } from "./create-renderer.js";
import { createPlainFormatter, missingCacheRef } from "./plain-renderer.js";
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
  it("prints one line per pushed layer when it ends, mounted ones too", () => {
    const format = createPlainFormatter({ color: false, dockerfile: "Dockerfile" });
    const push = (layer: string, status: string): BuildEvent => ({
      type: "push-progress",
      time: 0,
      target: "app",
      tag: "127.0.0.1:5000/app:1",
      layer,
      status,
      current: null,
      total: null,
    });
    const lines = [
      push("aaa", "Pushing"),
      push("aaa", "Pushed"),
      push("bbb", "Layer already exists"),
      push("ccc", "Mounted from library/base"),
    ].flatMap((event) => format.format(event).map((entry) => entry.text));
    expect(lines).toEqual([
      expect.stringContaining("push 127.0.0.1:5000/app:1: layer aaa pushed"),
      expect.stringContaining("push 127.0.0.1:5000/app:1: layer bbb already there"),
      expect.stringContaining("push 127.0.0.1:5000/app:1: layer ccc mounted from library/base"),
    ]);
  });

  it("names a buildkitd's push steps as what they are, not as layers", () => {
    const format = createPlainFormatter({ color: false, dockerfile: "Dockerfile" });
    const push = (layer: string): BuildEvent => ({
      type: "push-progress",
      time: 0,
      target: "app",
      tag: "127.0.0.1:5000/app:1",
      layer,
      status: "Pushed",
      current: null,
      total: null,
    });
    const lines = [push("layers"), push("manifest")].flatMap((event) =>
      format.format(event).map((entry) => entry.text),
    );
    expect(lines).toEqual([
      expect.stringContaining("push 127.0.0.1:5000/app:1: layers pushed"),
      expect.stringContaining("push 127.0.0.1:5000/app:1: manifest pushed"),
    ]);
    expect(lines.join("\n")).not.toContain("layer layers");
  });

  it("prints a pool's shared stage's push on the engine that built it: each layer, then its reference", () => {
    const format = createPlainFormatter({ color: false, dockerfile: "Dockerfile" });
    const tag = "127.0.0.1:5000/ci/deps:pool-x1";
    const push = (layer: string, status: string): BuildEvent => ({
      type: "shared-push-progress",
      time: 0,
      stage: "deps",
      engine: "p1",
      tag,
      layer,
      status,
      current: status === "Pushing" ? 1_000_000 : null,
      total: status === "Pushing" ? 4_000_000 : null,
    });
    const lines = [
      push("aaa", "Pushing"),
      push("aaa", "Pushed"),
      push("bbb", "Layer already exists"),
      {
        type: "shared-pushed",
        time: 800,
        stage: "deps",
        engine: "p1",
        reference: "127.0.0.1:5000/ci/deps@sha256:00",
        bytes: 4_000_000,
        durationMs: 800,
        error: null,
      } satisfies BuildEvent,
      {
        type: "shared-pushed",
        time: 900,
        stage: "lint",
        engine: "p2",
        reference: null,
        bytes: 0,
        durationMs: 0,
        error: "denied",
      } satisfies BuildEvent,
    ].flatMap((event) => format.format(event));
    expect(lines.map((line) => line.target)).toEqual([null, null, null, null]);
    expect(lines.map((line) => line.text)).toEqual([
      `[  0.0s] p1 │ deps (shared)  push ${tag}: layer aaa pushed`,
      `[  0.0s] p1 │ deps (shared)  push ${tag}: layer bbb already there`,
      "[  0.8s] p1 │ deps (shared)  pushed 4.0 MB as 127.0.0.1:5000/ci/deps@sha256:00 in 800 ms",
      "[  0.9s] p2 │ lint (shared)  not shared: denied; built where needed",
    ]);
  });

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

describe("plain renderer: shared steps and waiting targets", () => {
  const T = 1_795_315_170_000;
  const info = (name: string, digest: string): StepInfo => {
    const match = /^\[(\S+) (\d+)\/(\d+)\] (.*)$/.exec(name);
    return {
      digest,
      name,
      kind: "instruction",
      stage: match?.[1] ?? null,
      index: Number(match?.[2]),
      total: Number(match?.[3]),
      line: null,
      instruction: match?.[4] ?? name,
    };
  };
  const events: BuildEvent[] = [
    {
      type: "run-started",
      time: T,
      schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
      targets: ["test", "lint"],
      stages: [
        { id: "base", dependsOn: [] },
        { id: "test", dependsOn: ["base"] },
        { id: "lint", dependsOn: ["base"] },
      ],
      targetStages: { test: ["base", "test"], lint: ["base", "lint"] },
      concurrency: 2,
      engine: {
        endpoint: "unix:///x.sock",
        version: "26.1.5",
        apiVersion: "1.45",
        platform: "linux/amd64",
      },
      context: { transfer: "tar", files: 1, bytes: 10, warnings: [] },
    },
    { type: "target-started", time: T + 10, target: "test", buildId: "b1" },
    { type: "target-started", time: T + 20, target: "lint", buildId: "b2" },
    {
      type: "step-started",
      time: T + 30,
      target: "test",
      step: info("[base 1/2] RUN make deps", "sha256:a"),
    },
    {
      type: "step-finished",
      time: T + 900,
      target: "test",
      step: info("[base 1/2] RUN make deps", "sha256:a"),
      durationMs: 870,
    },
    // lint's build reports the same step under its own digest: it was shared, not cached.
    {
      type: "step-cached",
      time: T + 910,
      target: "test",
      step: info("[base 1/2] RUN make deps", "sha256:b"),
    },
    // A step that starts and is then found in the cache under the same digest was cached.
    {
      type: "step-started",
      time: T + 920,
      target: "test",
      step: info("[base 2/2] WORKDIR /src", "sha256:c"),
    },
    {
      type: "step-cached",
      time: T + 930,
      target: "test",
      step: info("[base 2/2] WORKDIR /src", "sha256:c"),
    },
    {
      type: "step-started",
      time: T + 940,
      target: "lint",
      step: info("[lint 1/1] RUN lint", "sha256:d"),
    },
  ];

  it("prints a step another target's build reports again once, and says who waits for what", () => {
    const formatter = createPlainFormatter({ color: false, dockerfile: "Dockerfile" });
    const lines = events.flatMap((event) => formatter.format(event)).map((line) => line.text);
    expect(lines.filter((line) => line.includes("make deps"))).toEqual([
      "[  0.0s] test › base  RUN make deps",
      "[  0.9s] test › base  DONE RUN make deps (870 ms)",
    ]);
    expect(lines).toContain("[  0.9s] test › base  CACHED WORKDIR /src");
    expect(lines.filter((line) => line.includes("waiting"))).toEqual([
      "[  0.0s] lint  waiting for deps (building for test): base",
    ]);
  });
});

describe("missingCacheRef", () => {
  it("reads the ref of a cache import the registry does not have, and nothing else", () => {
    const ref = "127.0.0.1:5000/stagecraft-it/inl-27654:app-test";
    // Recorded on Docker 26.1.5 (c8d engine) with a --cache-from ref nobody had written.
    expect(
      missingCacheRef(
        `importing cache manifest from ${ref}`,
        `failed to configure registry cache importer: ${ref}: not found`,
      ),
    ).toBe(ref);
    expect(
      missingCacheRef(
        `importing cache manifest from ${ref}`,
        "unauthorized: authentication required",
      ),
    ).toBeUndefined();
    expect(missingCacheRef("RUN make", "failed: not found")).toBeUndefined();
  });
});

describe("a run whose engine is lost", () => {
  it("says the others were cancelled because of the engine, live and in the report", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-lost-"));
    try {
      const dockerfile =
        "FROM scratch AS a\nCOPY hello.txt /\nFROM scratch AS b\nCOPY hello.txt /\n";
      writeFileSync(join(dir, "Dockerfile"), dockerfile);
      writeFileSync(join(dir, "hello.txt"), "hello\n");
      // a's stream ends without a result, as when the engine goes away; b would take 5 s.
      const engine = new FakeEngine({
        a: { durationMs: 5, dropStream: true },
        b: { durationMs: 5_000 },
      });
      const io = createMemoryIo();
      const renderer = createRenderer({ mode: "plain", io, targets: ["a", "b"], color: false });
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["a", "b"] }),
        context: { dir, dockerfile: join(dir, "Dockerfile") },
        keepGoing: true,
        onEvent: (event) => {
          renderer.onEvent(event);
        },
      });
      renderer.finish(outcome.report);
      expect(outcome.report.targets.map((target) => [target.target, target.status])).toEqual([
        ["a", "failed"],
        ["b", "cancelled"],
      ]);
      expect(outcome.report.targets[1]?.cancelReason).toMatchObject({ kind: "engine" });
      const text = io.stdout.text();
      expect(text).toMatch(/ b {2}cancelled: the engine was lost\n/);
      expect(text).toMatch(/⊘ b .*cancelled: the engine was lost/);
      expect(text).not.toContain("cancelled: a failed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

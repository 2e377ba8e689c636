import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BuildCancelledError, BuildFailedError, EngineError } from "../errors.js";
import { FakeEngine } from "../testing/fake-engine.js";
import {
  STEP_START_GUARD_MS,
  IMAGE_LABELS,
  runTargets,
  type SchedulerNotice,
} from "./run-targets.js";

const context = { stream: () => Readable.from([]), dockerfileInContext: "Dockerfile" };
const specs = (...names: string[]) => names.map((name) => ({ name, stage: name }));

describe("runTargets", () => {
  it("submits every target at once by default and collects the image ids", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 30 },
      b: { durationMs: 30 },
      c: { durationMs: 30 },
    });
    const notices: SchedulerNotice[] = [];
    const result = await runTargets({
      engine,
      context,
      targets: specs("a", "b", "c"),
      onNotice: (n) => notices.push(n),
    });
    expect(result.status).toBe("succeeded");
    expect(result.targets.map((t) => t.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(result.targets.every((t) => t.imageId?.startsWith("sha256:"))).toBe(true);
    expect(engine.maxConcurrent).toBe(3);
    expect(notices.filter((n) => n.type === "target-queued")).toHaveLength(3);
    expect(notices.filter((n) => n.type === "target-finished")).toHaveLength(3);
  });

  it("labels every image as stagecraft's, with its target", async () => {
    const engine = new FakeEngine();
    await runTargets({
      engine,
      context,
      targets: specs("app"),
      settings: { labels: { team: "x" } },
    });
    expect(engine.calls[0]?.request.labels).toEqual({
      team: "x",
      [IMAGE_LABELS.managed]: "true",
      [IMAGE_LABELS.target]: "app",
    });
  });

  it("respects the concurrency limit", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 20 },
      b: { durationMs: 20 },
      c: { durationMs: 20 },
    });
    const result = await runTargets({
      engine,
      context,
      targets: specs("a", "b", "c"),
      concurrency: 1,
    });
    expect(result.status).toBe("succeeded");
    expect(engine.maxConcurrent).toBe(1);
  });

  it("fails fast: one failure cancels the others on the daemon", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 5, failWith: "exit code: 1" },
      b: { durationMs: 5_000 },
      c: { durationMs: 5_000 },
    });
    const result = await runTargets({ engine, context, targets: specs("a", "b", "c") });
    // The 5 s builds ended because the daemon was told to cancel them, not because they finished
    // (how soon is measured by bench/, scenario limits).
    expect(engine.calls.map((call) => call.outcome)).toEqual(["failed", "cancelled", "cancelled"]);
    expect(result.status).toBe("failed");
    expect(result.targets.map((t) => t.status)).toEqual(["failed", "cancelled", "cancelled"]);
    expect(engine.cancelled).toHaveLength(2);
    expect(result.targets[1]?.error).toBeInstanceOf(BuildCancelledError);
    expect((result.targets[1]?.error as BuildCancelledError).reason).toEqual({
      kind: "fail-fast",
      failedTarget: "a",
    });
    expect(result.targets[1]?.error?.message).toBe('target "b" was cancelled because a failed');
  });

  it("fails fast before queued targets start", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 5, failWith: "boom" },
      b: { durationMs: 10 },
    });
    const result = await runTargets({ engine, context, targets: specs("a", "b"), concurrency: 1 });
    expect(result.targets.map((t) => t.status)).toEqual(["failed", "cancelled"]);
    expect(engine.calls).toHaveLength(1);
  });

  it("keeps going: independent targets finish and every failure is reported", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 5, failWith: "a broke" },
      b: { durationMs: 30 },
      c: { durationMs: 10, failWith: "c broke" },
    });
    const result = await runTargets({
      engine,
      context,
      targets: specs("a", "b", "c"),
      keepGoing: true,
    });
    expect(result.status).toBe("failed");
    expect(result.targets.map((t) => t.status)).toEqual(["failed", "succeeded", "failed"]);
    expect((result.targets[2]?.error as BuildFailedError).daemonMessage).toBe("c broke");
    expect(engine.cancelled).toHaveLength(0);
  });

  it("cancels every build when the signal aborts, and reports the run as cancelled", async () => {
    const engine = new FakeEngine({ a: { durationMs: 10_000 }, b: { durationMs: 10_000 } });
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error("SIGINT"));
    }, 20);
    const result = await runTargets({
      engine,
      context,
      targets: specs("a", "b"),
      signal: controller.signal,
    });
    expect(result.status).toBe("cancelled");
    expect(result.targets.map((t) => t.status)).toEqual(["cancelled", "cancelled"]);
    expect((result.targets[0]?.error as BuildCancelledError).reason).toEqual({
      kind: "interrupted",
    });
    expect(engine.cancelled).toHaveLength(2);
  });

  it("holds a cancel until the latest step start is old enough for the daemon to honour it", async () => {
    const engine = new FakeEngine({ a: { durationMs: 10_000 } });
    const cancelledAt: number[] = [];
    const cancelBuild = engine.cancelBuild.bind(engine);
    engine.cancelBuild = (buildId) => {
      cancelledAt.push(Date.now());
      return cancelBuild(buildId);
    };
    const controller = new AbortController();
    let stepStartedAt: number | undefined;
    setTimeout(() => {
      stepStartedAt = Date.now();
      controller.abort();
    }, 10);
    const result = await runTargets({
      engine,
      context,
      targets: specs("a"),
      signal: controller.signal,
      lastStepStartedAt: () => stepStartedAt,
    });
    expect(result.targets[0]?.status).toBe("cancelled");
    expect(cancelledAt).toHaveLength(1);
    expect(cancelledAt[0]! - stepStartedAt!).toBeGreaterThanOrEqual(STEP_START_GUARD_MS - 5);
  });

  it("drops the request when the daemon ignores the cancel", async () => {
    const engine = new FakeEngine({ a: { durationMs: 10_000 } });
    // An engine whose cancel does nothing: the grace timer must abort the request.
    engine.cancelBuild = () => Promise.resolve();
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 10);
    const result = await runTargets({
      engine,
      context,
      targets: specs("a"),
      signal: controller.signal,
      cancelGraceMs: 20,
    });
    expect(result.targets[0]?.status).toBe("cancelled");
    expect(engine.calls[0]?.outcome).toBe("aborted");
  });

  it("adds what the progress stream knows to a failure", async () => {
    const engine = new FakeEngine({ app: { failWith: "exit code: 2" } });
    const result = await runTargets({
      engine,
      context,
      targets: specs("app"),
      describeFailure: () => ({ stage: "build", line: 7, logTail: ["make: *** [all] Error 2"] }),
    });
    const error = result.targets[0]?.error as BuildFailedError;
    expect(error).toMatchObject({
      target: "app",
      stage: "build",
      line: 7,
      daemonMessage: "exit code: 2",
    });
    expect(error.logTail).toEqual(["make: *** [all] Error 2"]);
  });

  it("reports a dropped stream as an engine error, never as success", async () => {
    const engine = new FakeEngine({ app: { dropStream: true } });
    const result = await runTargets({ engine, context, targets: specs("app") });
    expect(result.status).toBe("failed");
    expect(result.targets[0]?.error).toBeInstanceOf(EngineError);
  });

  it("passes every BuildKit status on, with its target", async () => {
    const trace = (name: string): string =>
      JSON.stringify({ id: "moby.buildkit.trace", aux: encodeStatus(name) });
    const engine = new FakeEngine({ a: { lines: [trace("one"), "not json", trace("two")] } });
    const seen: string[] = [];
    await runTargets({
      engine,
      context,
      targets: specs("a"),
      onStatus: (target, status) => seen.push(`${target}:${status.vertexes[0]?.name}`),
    });
    expect(seen).toEqual(["a:one", "a:two"]);
  });

  it("cancels the others because of the engine, not fail-fast, when the engine is lost", async () => {
    const engine = new FakeEngine({
      a: { durationMs: 5, dropStream: true },
      b: { durationMs: 5_000 },
    });
    const result = await runTargets({ engine, context, targets: specs("a", "b"), keepGoing: true });
    expect(result.targets.map((t) => t.status)).toEqual(["failed", "cancelled"]);
    expect((result.targets[1]?.error as BuildCancelledError).reason).toMatchObject({
      kind: "engine",
    });
    expect(result.targets[1]?.error?.message).toContain("because the engine was lost");
  });

  it("blames a shared step's failure on the target it was built for, whoever reported it first", async () => {
    const engine = new FakeEngine({
      // a's stream reports the failure of b's step first; b's own stream fails a moment later.
      a: { durationMs: 5, failWith: "exit code: 1" },
      b: { durationMs: 40, failWith: "exit code: 1" },
      c: { durationMs: 5_000 },
    });
    const result = await runTargets({
      engine,
      context,
      targets: specs("a", "b", "c"),
      describeFailure: () => ({ stage: "base", stepOwner: "b" }),
    });
    expect(result.status).toBe("failed");
    expect(result.targets.map((t) => t.status)).toEqual(["cancelled", "failed", "cancelled"]);
    for (const index of [0, 2]) {
      expect((result.targets[index]?.error as BuildCancelledError).reason).toEqual({
        kind: "fail-fast",
        failedTarget: "b",
      });
    }
    // b was not cancelled: its own stream said it failed.
    expect(engine.calls.find((call) => call.request.target === "b")?.outcome).toBe("failed");
  });

  it("cancels every build at the time limit; the run fails", async () => {
    const engine = new FakeEngine({ a: { durationMs: 5_000 }, b: { durationMs: 5_000 } });
    const result = await runTargets({ engine, context, targets: specs("a", "b"), timeoutMs: 30 });
    expect(result.status).toBe("failed");
    expect(result.targets.map((t) => t.status)).toEqual(["cancelled", "cancelled"]);
    expect((result.targets[0]?.error as BuildCancelledError).reason).toEqual({
      kind: "timeout",
      afterMs: 30,
    });
    expect(engine.cancelled).toHaveLength(2);
  });
});

/** A StatusResponse with one vertex of this name, base64 (field 1 = vertexes; Vertex 1 = digest, 3 = name). */
function encodeStatus(name: string): string {
  const field = (number: number, bytes: Buffer): Buffer =>
    Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
  const vertex = Buffer.concat([
    field(1, Buffer.from(`sha256:${name}`)),
    field(3, Buffer.from(name)),
  ]);
  return field(1, vertex).toString("base64");
}

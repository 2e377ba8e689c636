import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EngineError, OutputWriteError, UsageError } from "../errors.js";
import type {
  BuildRequest,
  BuildResponse,
  EngineInfo,
  EngineSession,
  SessionOptions,
} from "../engine/engine.js";
import type { BuildEvent, RunStartedEvent, TargetCancelledEvent } from "../events.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { runBuildGroups, type BuildGroup } from "./run-build-groups.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A group building `targets` of this Dockerfile from a context of its own. */
function group(
  name: string,
  dockerfile: string,
  targets: string[],
  targetNames?: Record<string, string>,
): BuildGroup {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-groups-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  return {
    name,
    options: {
      analysis: analyzeDockerfile(dockerfile, { targets }),
      context: { dir, dockerfile: join(dir, "Dockerfile") },
      stageSizes: false,
    },
    targetNames,
  };
}

const API = "FROM scratch AS base\nFROM base AS api\nFROM base AS worker\n";
const WEB = "FROM scratch AS base\nFROM base AS web\n";

describe("runBuildGroups", () => {
  it("reports several groups as one run: one start, one end, one report, names given", async () => {
    const events: BuildEvent[] = [];
    const outcome = await runBuildGroups({
      engine: new FakeEngine({ api: { durationMs: 5 }, web: { durationMs: 10 } }),
      groups: [
        group("api", API, ["api", "worker"], { api: "api-svc" }),
        group("web", WEB, ["web"]),
      ],
      onEvent: (event) => events.push(event),
    });

    expect(outcome.status).toBe("succeeded");
    expect(events.filter((event) => event.type === "run-started")).toHaveLength(1);
    expect(events.filter((event) => event.type === "run-finished")).toHaveLength(1);
    expect(events[0]?.type).toBe("run-started");
    expect(events.at(-1)?.type).toBe("run-finished");
    const start = events[0] as RunStartedEvent;
    expect(start.targets).toEqual(["api-svc", "worker", "web"]);
    // `base` is a stage of both Dockerfiles: each keeps its own under its group's name.
    expect(start.stages.map((stage) => stage.id)).toEqual([
      "api/base",
      "api",
      "worker",
      "web/base",
      "web",
    ]);
    expect(start.targetStages.web).toEqual(["web/base", "web"]);
    expect(start.concurrency).toBe(3);
    for (const event of events) {
      if ("target" in event) expect(["api-svc", "worker", "web"]).toContain(event.target);
    }
    expect(outcome.report.targets.map((target) => [target.target, target.status])).toEqual([
      ["api-svc", "succeeded"],
      ["worker", "succeeded"],
      ["web", "succeeded"],
    ]);
    expect(outcome.report.stageGraph?.map((stage) => stage.id)).toContain("web/base");
    expect(outcome.targets.map((target) => target.name)).toEqual(["api-svc", "worker", "web"]);
    expect(Object.keys(outcome.images).sort()).toEqual(["api-svc", "web", "worker"]);
    expect(outcome.groups.map((entry) => entry.targetNames)).toEqual([
      { api: "api-svc", worker: "worker" },
      { web: "web" },
    ]);
  });

  it("holds the concurrency limit over all groups", async () => {
    const engine = new FakeEngine({
      api: { durationMs: 20 },
      worker: { durationMs: 20 },
      web: { durationMs: 20 },
    });
    const outcome = await runBuildGroups({
      engine,
      groups: [group("api", API, ["api", "worker"]), group("web", WEB, ["web"])],
      concurrency: 1,
    });
    expect(outcome.status).toBe("succeeded");
    expect(engine.calls).toHaveLength(3);
    expect(engine.maxConcurrent).toBe(1);
  });

  it("lets two groups build side by side without a limit", async () => {
    const engine = new FakeEngine({ api: { durationMs: 30 }, web: { durationMs: 30 } });
    await runBuildGroups({
      engine,
      groups: [group("api", API, ["api"]), group("web", WEB, ["web"])],
    });
    expect(engine.maxConcurrent).toBe(2);
  });

  it("fails fast over groups: a failure in one cancels the others' targets", async () => {
    const events: BuildEvent[] = [];
    const outcome = await runBuildGroups({
      engine: new FakeEngine({
        api: { durationMs: 5, failWith: "process did not complete successfully: exit code: 2" },
        web: { durationMs: 5_000 },
      }),
      groups: [group("api", API, ["api"], { api: "api-svc" }), group("web", WEB, ["web"])],
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["api-svc", "failed"],
      ["web", "cancelled"],
    ]);
    const cancelled = events.find(
      (event): event is TargetCancelledEvent => event.type === "target-cancelled",
    );
    expect(cancelled?.reason).toEqual({ kind: "fail-fast", failedTarget: "api-svc" });
    expect(cancelled?.message).toBe('target "web" was cancelled because api-svc failed');
    expect(outcome.report.failures.map((failure) => failure.target)).toEqual(["api-svc"]);
  });

  it("lets the other groups finish with keepGoing", async () => {
    const outcome = await runBuildGroups({
      engine: new FakeEngine({
        api: { durationMs: 5, failWith: "exit code: 2" },
        web: { durationMs: 40 },
      }),
      groups: [group("api", API, ["api"]), group("web", WEB, ["web"])],
      keepGoing: true,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["api", "failed"],
      ["web", "succeeded"],
    ]);
  });

  it("an output that cannot be written fails its target alone: fail-fast stops no other group", async () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), {
      code: "ENOSPC",
      syscall: "write",
    });
    // As the daemon does: the session's output failed, so the export fails with it, and the
    // session's close reports the same error again.
    class FullDiskEngine extends FakeEngine {
      override openSession(options: SessionOptions): Promise<EngineSession> {
        return super
          .openSession(options)
          .then((session) =>
            options.output === undefined
              ? session
              : { ...session, outputFailure: full, close: () => Promise.reject(full) },
          );
      }
      override build(request: BuildRequest): Promise<BuildResponse> {
        if (request.session?.outputFailure !== undefined) {
          return Promise.reject(new OutputWriteError(full));
        }
        return super.build(request);
      }
    }
    const exporting = group("api", API, ["api"], { api: "api-svc" });
    exporting.options = {
      ...exporting.options,
      session: { output: { type: "local", dir: join(exporting.options.context.dir, "out") } },
    };
    const events: BuildEvent[] = [];
    const outcome = await runBuildGroups({
      engine: new FullDiskEngine({ web: { durationMs: 40 } }),
      groups: [exporting, group("web", WEB, ["web"])],
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["api-svc", "failed"],
      ["web", "succeeded"],
    ]);
    expect(outcome.targets[0]?.error).toMatchObject({ code: "OUTPUT_WRITE", osCode: "ENOSPC" });
    expect(outcome.targets[0]?.error?.message).toBe(
      "the output could not be written: ENOSPC: no space left on device, write",
    );
    expect(events.some((event) => event.type === "target-cancelled")).toBe(false);
  });

  it("is cancelled as a whole when the caller aborts", async () => {
    const controller = new AbortController();
    const running = runBuildGroups({
      engine: new FakeEngine({ api: { durationMs: 5_000 }, web: { durationMs: 5_000 } }),
      groups: [group("api", API, ["api"]), group("web", WEB, ["web"])],
      signal: controller.signal,
    });
    setTimeout(() => {
      controller.abort();
    }, 20);
    const outcome = await running;
    expect(outcome.status).toBe("cancelled");
    expect(outcome.targets.every((target) => target.status === "cancelled")).toBe(true);
  });

  it("builds a target another group reads as a context first, and names it for the reader", async () => {
    const engine = new FakeEngine({ base: { durationMs: 20 }, app: { durationMs: 5 } });
    const reader = group("app", "FROM base AS app\n", ["app"]);
    reader.contextsFrom = { base: "base" };
    const outcome = await runBuildGroups({
      engine,
      groups: [reader, group("lib", "FROM scratch AS base\n", ["base"])],
    });
    expect(outcome.status).toBe("succeeded");
    const [first, second] = engine.calls;
    expect(first?.request.target).toBe("base");
    expect(second?.request.target).toBe("app");
    expect(second?.startedAt).toBeGreaterThanOrEqual(first?.endedAt ?? Infinity);
    const context = second?.request.namedContexts?.base ?? "";
    expect(context).toMatch(/^docker-image:\/\/stagecraft-context\/base:[a-z0-9]+$/);
    const base = outcome.targets.find((target) => target.name === "base");
    expect(engine.tagged).toEqual([
      { source: base?.imageId, target: context.slice("docker-image://".length) },
    ]);
    // The temporary name is gone after the run; the image itself is the base target's.
    expect(await engine.inspectImage(context.slice("docker-image://".length))).toBeUndefined();
    expect(outcome.report.targets.map((target) => [target.target, target.status])).toEqual([
      ["app", "succeeded"],
      ["base", "succeeded"],
    ]);
  });

  it("with pull, has the engine pull a reader's own images and builds it from the store", async () => {
    // BuildKit's pull mode would look for the read target's temporary name in a registry.
    const engine = new FakeEngine({ base: { durationMs: 5 }, app: { durationMs: 5 } });
    const pulled: { ref: string; platform: string | undefined }[] = [];
    Object.assign(engine, {
      pullImage: (ref: string, options: { platform?: string } = {}) => {
        pulled.push({ ref, platform: options.platform });
        return Promise.resolve();
      },
    });
    const reader = group("app", "FROM base AS app\nCOPY --from=tools:1 /bin/x /x\n", ["app"]);
    reader.contextsFrom = { base: "base" };
    reader.options = {
      ...reader.options,
      pull: true,
      namedContexts: { src: "docker-image://127.0.0.1:5000/src:2" },
    };
    const lib = group("lib", "FROM busybox AS base\n", ["base"]);
    lib.options = { ...lib.options, pull: true };
    const outcome = await runBuildGroups({ engine, groups: [reader, lib] });
    expect(outcome.status).toBe("succeeded");
    expect(pulled).toEqual([
      { ref: "tools:1", platform: undefined },
      { ref: "127.0.0.1:5000/src:2", platform: undefined },
    ]);
    const byTarget: Record<string, boolean | undefined> = Object.fromEntries(
      engine.calls.map((call) => [call.request.target ?? "", call.request.pull] as const),
    );
    // The group that reads no other target's image keeps BuildKit's own pull.
    expect(byTarget).toEqual({ app: false, base: true });
  });

  /** A reader (app, with pull) of lib's target base whose own image tools:1 cannot be pulled. */
  function failingPull(): { engine: FakeEngine; groups: BuildGroup[] } {
    const engine = new FakeEngine({
      base: { durationMs: 20 },
      app: { durationMs: 5 },
      web: { durationMs: 300 },
    });
    Object.assign(engine, {
      pullImage: (ref: string) =>
        Promise.reject(
          new EngineError("ENGINE_REQUEST", `the engine could not pull ${ref}: manifest unknown`, {
            hint: `Check that docker.io holds ${ref} and that this machine reaches it (docker pull ${ref}).`,
          }),
        ),
    });
    const reader = group("app", "FROM base AS app\nCOPY --from=tools:1 /bin/x /x\n", ["app"]);
    reader.contextsFrom = { base: "base" };
    reader.options = { ...reader.options, pull: true };
    const lib = group("lib", "FROM scratch AS base\n", ["base"]);
    return { engine, groups: [reader, lib, group("web", WEB, ["web"])] };
  }

  it("with pull and keepGoing, fails only the reader whose image could not be pulled", async () => {
    const { engine, groups } = failingPull();
    const events: BuildEvent[] = [];
    const outcome = await runBuildGroups({
      engine,
      groups,
      keepGoing: true,
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["app", "failed"],
      ["base", "succeeded"],
      ["web", "succeeded"],
    ]);
    const app = outcome.targets.find((target) => target.name === "app");
    expect(app?.error?.message).toBe("the engine could not pull tools:1: manifest unknown");
    expect(app?.error?.hint).toMatch(/docker pull tools:1/);
    const failed = events.filter((event) => event.type === "target-failed");
    expect(failed.map((event) => [event.target, event.error.message])).toEqual([
      ["app", "the engine could not pull tools:1: manifest unknown"],
    ]);
    expect(outcome.report.targets.find((target) => target.target === "app")?.status).toBe("failed");
    // Nothing was built for the reader: its build stopped at the pull.
    expect(engine.calls.map((call) => call.request.target).sort()).toEqual(["base", "web"]);
  });

  it("with pull and fail-fast, a failed pull fails the reader and cancels the others", async () => {
    const { engine, groups } = failingPull();
    const outcome = await runBuildGroups({ engine, groups });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["app", "failed"],
      ["base", "succeeded"],
      ["web", "cancelled"],
    ]);
    const web = outcome.targets.find((target) => target.name === "web");
    expect(web?.error?.message).toBe('target "web" was cancelled because app failed');
  });

  it("cancels the readers of a target that failed, even with keepGoing", async () => {
    const engine = new FakeEngine({ base: { durationMs: 5, failWith: "exit code: 1" } });
    const reader = group("app", "FROM base AS app\n", ["app"]);
    reader.contextsFrom = { base: "base" };
    const events: BuildEvent[] = [];
    const outcome = await runBuildGroups({
      engine,
      groups: [reader, group("lib", "FROM scratch AS base\n", ["base"])],
      keepGoing: true,
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.targets.map((target) => [target.name, target.status])).toEqual([
      ["app", "cancelled"],
      ["base", "failed"],
    ]);
    expect(engine.calls.map((call) => call.request.target)).toEqual(["base"]);
    const cancelled = events.find(
      (event): event is TargetCancelledEvent => event.type === "target-cancelled",
    );
    expect(cancelled?.message).toBe('target "app" was cancelled because base failed');
    expect(engine.tagged).toEqual([]);
  });

  it("refuses groups that read each other's targets in a cycle", async () => {
    const a = group("a", "FROM y AS x\n", ["x"]);
    const b = group("b", "FROM x AS y\n", ["y"]);
    a.contextsFrom = { y: "y" };
    b.contextsFrom = { x: "x" };
    await expect(runBuildGroups({ engine: new FakeEngine(), groups: [a, b] })).rejects.toThrow(
      "groups read each other's targets in a cycle: a -> b -> a",
    );
  });

  it("refuses two groups that give a target the same name", async () => {
    await expect(
      runBuildGroups({
        engine: new FakeEngine(),
        groups: [group("a", WEB, ["web"]), group("b", WEB, ["web"])],
      }),
    ).rejects.toThrow(UsageError);
  });

  it("throws the error a group meets before it builds, and builds nothing else", async () => {
    const broken = group("api", API, ["api"]);
    broken.options = { ...broken.options, tags: { api: ["Not A Tag"] } };
    const engine = new FakeEngine({ web: { durationMs: 5_000 } });
    await expect(
      runBuildGroups({ engine, groups: [broken, group("web", WEB, ["web"])] }),
    ).rejects.toThrow(/not a valid image name/);
    expect(engine.calls.every((call) => call.outcome !== "succeeded")).toBe(true);
  });

  it("emits nothing and throws when no group can begin (the engine is down)", async () => {
    class DownEngine extends FakeEngine {
      override info(): Promise<EngineInfo> {
        return Promise.reject(new EngineError("ENGINE_UNREACHABLE", "cannot reach fake://"));
      }
    }
    const events: BuildEvent[] = [];
    await expect(
      runBuildGroups({
        engine: new DownEngine(),
        groups: [group("api", API, ["api"]), group("web", WEB, ["web"])],
        onEvent: (event) => events.push(event),
      }),
    ).rejects.toThrow(/cannot reach fake/);
    expect(events).toEqual([]);
  });
});

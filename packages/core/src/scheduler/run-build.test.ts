import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine, EngineInfo } from "../engine/engine.js";
import { readCapabilities } from "../engine/engine-capabilities.js";
import { ContextError, DockerfileError, UsageError } from "../errors.js";
import type { BuildEvent } from "../events.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { statusResponseType } from "../progress/status-response-type.test-support.js";
import { runBuild } from "./run-build.js";

const fixtures = new URL("../progress/__fixtures__/buildkit-streams/docker-26.1/", import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), "utf8");
const streamLines = (name: string): string[] =>
  fixture(`${name}.ndjson`)
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line !== "");

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A build context holding this Dockerfile; returns the `context` option. */
function contextWith(dockerfile: string): { dir: string; dockerfile: string } {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-run-build-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "hello.txt"), "hello\n");
  return { dir, dockerfile: join(dir, "Dockerfile") };
}

/** A runtime stage that copies from a build stage that is no target: the size probes' case. */
const COPIES_FROM_BUILD = [
  "FROM scratch AS build",
  "COPY hello.txt /big",
  "FROM scratch AS runtime",
  "COPY --from=build /big /small",
].join("\n");

/** A daemon line with the one step of stage `build`, cached or run. */
const copyVertex = (cached: boolean): string =>
  JSON.stringify({
    id: "moby.buildkit.trace",
    aux: Buffer.from(
      statusResponseType
        .encode({
          vertexes: [
            {
              digest: "sha256:copy",
              name: "[build 1/1] COPY hello.txt /big",
              cached,
              started: { seconds: 1 },
              completed: { seconds: 2 },
            },
          ],
        })
        .finish(),
    ).toString("base64"),
  });

describe("runBuild", () => {
  it("measures the stage a target copies from with an untagged probe, then removes it", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    const engine = new FakeEngine({
      build: { sizeBytes: 1_100_000_000 },
      runtime: {
        sizeBytes: 48_000_000,
        history: [
          {
            id: "<missing>",
            createdBy: "COPY /big /small # buildkit",
            sizeBytes: 48_000_000,
            comment: "buildkit.dockerfile.v0",
            created: 0,
          },
        ],
      },
    });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
      context: contextWith(dockerfile),
      sizeBudgets: { runtime: 40_000_000 },
    });
    expect(outcome.status).toBe("succeeded");
    const [target] = outcome.report.targets;
    expect(target?.sizeComparison).toEqual({
      from: "build",
      fromSizeBytes: 1_100_000_000,
      sizeBytes: 48_000_000,
      changePercent: -95.6,
    });
    expect(target?.layers).toEqual([
      {
        index: 0,
        sizeBytes: 48_000_000,
        createdBy: "COPY /big /small",
        origin: "stage",
        stage: "runtime",
        line: 4,
        copiedFrom: "build",
        baseImage: null,
      },
    ]);
    expect(outcome.report.sizeBudgets?.[0]).toMatchObject({ exceeded: true, overBytes: 8_000_000 });
    const probe = engine.calls.find((call) => call.request.target === "build");
    expect(probe?.request.labels).toMatchObject({ "org.stagecraft.size-probe": "build" });
    expect(probe?.request.tags).toEqual([]);
    expect(engine.removed).toHaveLength(1);
    expect(await engine.inspectImage(engine.removed[0] ?? "")).toBeUndefined();
    // The probe is no target: the report and the outcome list runtime only.
    expect(outcome.targets.map((result) => result.name)).toEqual(["runtime"]);
  });

  it("through the Control API a probe asks for the size only, so no image is made or removed", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    const run = async (script: "size" | "unread", buildPath: "control" | "build") => {
      const engine = new FakeEngine(
        {
          build: { sizeBytes: 1_100_000_000, sizeOnly: script },
          runtime: { sizeBytes: 48_000_000 },
        },
        { buildPath },
      );
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
        context: contextWith(dockerfile),
      });
      expect(outcome.status).toBe("succeeded");
      return {
        from: outcome.report.targets[0]?.sizeComparison?.fromSizeBytes,
        probes: engine.calls
          .filter((call) => call.request.target === "build")
          .map((call) => call.request.sizeOnly ?? false),
        removed: engine.removed.length,
      };
    };
    expect(await run("size", "control")).toEqual({
      from: 1_100_000_000,
      probes: [true],
      removed: 0,
    });
    // No image and no size (the manifest was collected first): built once more as an image.
    expect(await run("unread", "control")).toEqual({
      from: 1_100_000_000,
      probes: [true, false],
      removed: 1,
    });
    // POST /build has no such export: the probe is an image, inspected and removed.
    expect(await run("size", "build")).toEqual({
      from: 1_100_000_000,
      probes: [false],
      removed: 1,
    });
  });

  it("remembers a probed stage size and probes again only when the stage or its context changed", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    const context = contextWith(dockerfile);
    const cacheDir = mkdtempSync(join(tmpdir(), "stagecraft-stage-sizes-"));
    dirs.push(cacheDir);
    const stageSizeFile = join(cacheDir, "stagecraft", "stage-sizes.json");
    const build = async (cached: boolean): Promise<{ probed: boolean; size: unknown }> => {
      const engine = new FakeEngine({
        build: { sizeBytes: 1_100_000_000 },
        runtime: { sizeBytes: 48_000_000, lines: [copyVertex(cached)] },
      });
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
        context,
        stageSizeFile,
      });
      return {
        probed: engine.calls.some((call) => call.request.target === "build"),
        size: outcome.report.targets[0]?.sizeComparison?.fromSizeBytes,
      };
    };
    // A step of the stage ran: its size is measured and kept; the next cached build recalls it.
    expect(await build(false)).toEqual({ probed: true, size: 1_100_000_000 });
    expect(await build(true)).toEqual({ probed: false, size: 1_100_000_000 });
    // The step ran again (the cache holds a new result): measured again, not recalled.
    expect(await build(false)).toEqual({ probed: true, size: 1_100_000_000 });
    // Another context file: the step digests are the same, the fingerprint is not.
    writeFileSync(join(context.dir, "hello.txt"), "changed\n");
    expect(await build(true)).toEqual({ probed: true, size: 1_100_000_000 });
    expect(await build(true)).toEqual({ probed: false, size: 1_100_000_000 });
  });

  it("leaves a stage unmeasured when every step of it came from an imported cache", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    const context = contextWith(dockerfile);
    const build = async (cached: boolean, cacheFrom: boolean) => {
      const engine = new FakeEngine({
        build: { sizeBytes: 1_100_000_000 },
        runtime: { sizeBytes: 48_000_000, lines: [copyVertex(cached)] },
      });
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
        context,
        ...(cacheFrom
          ? { cacheFrom: [{ type: "registry", attrs: { ref: "127.0.0.1:5000/c:main" } }] }
          : {}),
      });
      return {
        probed: engine.calls.some((call) => call.request.target === "build"),
        unmeasured: outcome.report.unmeasuredStages?.map((entry) => entry.stage) ?? [],
        size: outcome.report.targets[0]?.sizeComparison?.fromSizeBytes,
      };
    };
    // A fresh engine's rebuild from a registry cache: a probe would pull the stage's layers.
    expect(await build(true, true)).toEqual({
      probed: false,
      unmeasured: ["build"],
      size: undefined,
    });
    // A step of it ran here, so its layers are on the engine: measured.
    expect(await build(false, true)).toEqual({ probed: true, unmeasured: [], size: 1_100_000_000 });
    // No cache import: a cached stage is the engine's own, measured as before.
    expect(await build(true, false)).toEqual({ probed: true, unmeasured: [], size: 1_100_000_000 });
  });

  it("remembers a stage size for a session context by its walk: an ignored file probes nothing", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    const context = { ...contextWith(dockerfile), transfer: "session" as const };
    writeFileSync(join(context.dir, ".dockerignore"), "*.log\n");
    const cacheDir = mkdtempSync(join(tmpdir(), "stagecraft-stage-sizes-"));
    dirs.push(cacheDir);
    const stageSizeFile = join(cacheDir, "stage-sizes.json");
    const build = async (cached = true): Promise<{ probed: boolean; session: boolean }> => {
      const engine = new FakeEngine({
        build: { sizeBytes: 1_100_000_000 },
        runtime: { sizeBytes: 48_000_000, lines: [copyVertex(cached)] },
      });
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
        context,
        stageSizeFile,
      });
      expect(outcome.report.targets[0]?.sizeComparison?.fromSizeBytes).toBe(1_100_000_000);
      return {
        probed: engine.calls.some((call) => call.request.target === "build"),
        session: engine.sessions.length > 0,
      };
    };
    expect(await build(false)).toEqual({ probed: true, session: true });
    expect(await build()).toEqual({ probed: false, session: true });
    writeFileSync(join(context.dir, "debug.log"), "ignored\n");
    expect(await build()).toEqual({ probed: false, session: true });
    // The step digests stay the same (as for a cached COPY); the fingerprint does not.
    writeFileSync(join(context.dir, "hello.txt"), "a longer hello\n");
    expect(await build()).toEqual({ probed: true, session: true });
    expect(await build()).toEqual({ probed: false, session: true });
  });

  it("measures nothing more with stageSizes: false", async () => {
    const dockerfile = "FROM scratch AS build\nCOPY hello.txt /\nFROM build AS test\n";
    const engine = new FakeEngine();
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["test"] }),
      context: contextWith(dockerfile),
      stageSizes: false,
    });
    expect(engine.calls.map((call) => call.request.target)).toEqual(["test"]);
    expect(outcome.report.targets[0]?.sizeComparison).toBeNull();
  });

  it("sends a stage's probe as soon as the stage is built, while the target goes on", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    // runtime's stream says at once that stage build is done; runtime itself takes 300 ms more.
    const engine = new FakeEngine({
      build: { sizeBytes: 1_100_000_000, durationMs: 20 },
      runtime: { sizeBytes: 48_000_000, lines: [copyVertex(false)], durationMs: 300 },
    });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
      context: contextWith(dockerfile),
    });
    const runtime = engine.calls.find((call) => call.request.target === "runtime");
    const probe = engine.calls.find((call) => call.request.target === "build");
    expect(probe?.outcome).toBe("succeeded");
    expect(probe?.endedAt).toBeLessThan(runtime?.endedAt ?? 0);
    expect(outcome.report.targets[0]?.sizeComparison?.fromSizeBytes).toBe(1_100_000_000);
    expect(engine.removed).toHaveLength(1);
  });

  it("on the containerd store, sends the probe after the targets, where it competes with no export", async () => {
    const dockerfile = COPIES_FROM_BUILD;
    // The same streams as above: stage build is done at once, runtime takes 300 ms more.
    const engine = new FakeEngine({
      build: { sizeBytes: 1_100_000_000, durationMs: 20 },
      runtime: { sizeBytes: 48_000_000, lines: [copyVertex(false)], durationMs: 300 },
    });
    // Docker 28 reads a tar context on that store, so only the probe's timing differs.
    const onContainerd = Object.assign(engine, {
      capabilities: async () =>
        readCapabilities(
          { ...(await engine.info()), version: "28.5.2" },
          { Driver: "overlayfs", DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]] },
        ),
    });
    const outcome = await runBuild({
      engine: onContainerd,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
      context: contextWith(dockerfile),
    });
    const runtime = engine.calls.find((call) => call.request.target === "runtime");
    const probe = engine.calls.find((call) => call.request.target === "build");
    expect(probe?.startedAt).toBeGreaterThanOrEqual(runtime?.endedAt ?? Infinity);
    expect(outcome.report.targets[0]?.sizeComparison?.fromSizeBytes).toBe(1_100_000_000);
    // A tar context: the probe goes to POST /build, which can only make an image.
    expect(probe?.request.sizeOnly).toBeUndefined();
    expect(engine.removed).toHaveLength(1);
    // Docker 26.1 reads no tar there: the context goes in a session and the probe asks for its size only.
    const older = new FakeEngine({
      build: { sizeBytes: 1_100_000_000, sizeOnly: "size" },
      runtime: { sizeBytes: 48_000_000 },
    });
    const on26 = Object.assign(older, {
      capabilities: async () =>
        readCapabilities(await older.info(), {
          Driver: "overlayfs",
          DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
        }),
    });
    const again = await runBuild({
      engine: on26,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
      context: contextWith(dockerfile),
    });
    expect(again.report.context?.transfer).toBe("session");
    expect(again.report.targets[0]?.sizeComparison?.fromSizeBytes).toBe(1_100_000_000);
    expect(older.calls.find((call) => call.request.target === "build")?.request.sizeOnly).toBe(
      true,
    );
    expect(older.removed).toEqual([]);
  });

  it("sends a stage's probe once a target that needs the stage finished, without stage events", async () => {
    const dockerfile = `${COPIES_FROM_BUILD}\nFROM build AS test\nCOPY hello.txt /again\n`;
    // No status lines: the stage is known to be built only when runtime, which copies from it, ends.
    const engine = new FakeEngine({
      build: { durationMs: 20 },
      runtime: { durationMs: 50 },
      test: { durationMs: 400 },
    });
    await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime", "test"] }),
      context: contextWith(dockerfile),
    });
    const runtime = engine.calls.find((call) => call.request.target === "runtime");
    const test = engine.calls.find((call) => call.request.target === "test");
    const probe = engine.calls.find((call) => call.request.target === "build");
    expect(probe?.startedAt).toBeGreaterThanOrEqual(runtime?.endedAt ?? Infinity);
    expect(probe?.endedAt).toBeLessThan(test?.endedAt ?? 0);
  });

  it("with --concurrency, a probe takes a slot only when no target waits for one", async () => {
    const dockerfile = `${COPIES_FROM_BUILD}\nFROM scratch AS test\nCOPY hello.txt /\n`;
    const engine = new FakeEngine({
      build: { durationMs: 20 },
      runtime: { lines: [copyVertex(false)], durationMs: 100 },
      test: { durationMs: 100 },
    });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime", "test"] }),
      context: contextWith(dockerfile),
      concurrency: 1,
    });
    expect(outcome.status).toBe("succeeded");
    // Stage build was done long before test started: its probe still waited behind test.
    expect(engine.calls.map((call) => call.request.target)).toEqual(["runtime", "test", "build"]);
    expect(engine.maxConcurrent).toBe(1);
  });

  it("a failing target stops a probe in flight: cancelled on the daemon, no size shown", async () => {
    const dockerfile = `${COPIES_FROM_BUILD}\nFROM scratch AS test\nCOPY hello.txt /\n`;
    const engine = new FakeEngine({
      build: { durationMs: 10_000 },
      runtime: { lines: [copyVertex(false)], durationMs: 300 },
      test: { failWith: "process did not complete successfully: exit code: 1", durationMs: 100 },
    });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["runtime", "test"] }),
      context: contextWith(dockerfile),
    });
    expect(outcome.status).toBe("failed");
    const probe = engine.calls.find((call) => call.request.target === "build");
    expect(probe?.outcome).toBe("cancelled");
    expect(engine.cancelled).toContain(probe?.request.buildId);
    expect(outcome.report.targets.map((target) => target.sizeComparison ?? null)).toEqual([
      null,
      null,
    ]);
  });

  for (const stop of ["interrupt", "timeout"] as const) {
    it(`${stop === "interrupt" ? "an interrupt" : "the timeout"} while a probe builds: cancelled, its image removed`, async () => {
      const dockerfile = COPIES_FROM_BUILD;
      // A daemon that misses the probe's cancel and makes its image (a build that was about to end).
      class LateEngine extends FakeEngine {
        override cancelBuild(buildId: string): Promise<void> {
          const probe = this.calls.find((call) => call.request.buildId === buildId);
          if (probe?.request.target === "build") {
            this.cancelled.push(buildId);
            return Promise.resolve();
          }
          return super.cancelBuild(buildId);
        }
      }
      const engine = new LateEngine({
        build: { durationMs: 150 },
        runtime: { lines: [copyVertex(false)], durationMs: 5_000 },
      });
      const controller = new AbortController();
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["runtime"] }),
        context: contextWith(dockerfile),
        ...(stop === "interrupt" ? { signal: controller.signal } : { timeoutMs: 100 }),
        onEvent: (event) => {
          if (event.type === "stage-finished" && stop === "interrupt") {
            setTimeout(() => {
              controller.abort();
            }, 50);
          }
        },
      });
      expect(outcome.status).toBe(stop === "interrupt" ? "cancelled" : "failed");
      const probe = engine.calls.find((call) => call.request.target === "build");
      expect(engine.cancelled).toContain(probe?.request.buildId);
      // The daemon said which image the probe made before its request was dropped: removed.
      expect(probe?.outcome).toBe("succeeded");
      expect(engine.removed).toHaveLength(1);
      expect(await engine.inspectImage(engine.removed[0] ?? "")).toBeUndefined();
    });
  }

  it("bounds a failure's message in its event, after masking: no half secret is left", async () => {
    const dockerfile = "FROM scratch AS broken\n";
    // A secret across the 2,000-character cut (after `target "broken" failed: `): masked first.
    const daemonMessage = `${"a".repeat(1965)}S3CRET-ACROSS-CUT${"m".repeat(5_000_000)}`;
    const events: BuildEvent[] = [];
    await runBuild({
      engine: new FakeEngine({ broken: { failWith: daemonMessage } }),
      analysis: analyzeDockerfile(dockerfile, { targets: ["broken"] }),
      context: contextWith(dockerfile),
      maskValues: ["S3CRET-ACROSS-CUT"],
      onEvent: (event) => events.push(event),
    });
    const failed = events.find((event) => event.type === "target-failed");
    const message = failed?.type === "target-failed" ? failed.error.message : "";
    expect(message.length).toBeLessThan(2_100);
    expect(message).toMatch(/… \(\d+ more characters\)$/);
    expect(message).not.toContain("S3CRET");
    expect(message).toContain("***");
  });

  it("reports a failed target with its stage, Dockerfile line and last log lines", async () => {
    const dockerfile = fixture("run-failure.Dockerfile");
    const lines = streamLines("run-failure");
    const daemonMessage = (JSON.parse(lines.at(-1)!) as { errorDetail: { message: string } })
      .errorDetail.message;
    const engine = new FakeEngine({ broken: { lines, failWith: daemonMessage } });
    const events: BuildEvent[] = [];
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["broken"] }),
      context: contextWith(dockerfile),
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    const failed = events.find((event) => event.type === "target-failed");
    expect(failed?.type === "target-failed" && failed.error).toMatchObject({
      code: "BUILD_FAILED",
      stage: "broken",
      line: 5,
    });
    expect(outcome.report.failures[0]).toMatchObject({
      target: "broken",
      stage: "broken",
      line: 5,
    });
    expect(outcome.report.failures[0]?.logTail).toContain("error: undefined reference to 'main'");
    expect(events[0]).toMatchObject({
      type: "run-started",
      engine: { endpoint: "fake://", version: "26.1.5" },
      context: { transfer: "tar", files: 2 },
    });
    expect(events.at(-1)).toMatchObject({
      type: "run-finished",
      status: "failed",
      failed: ["broken"],
    });
  });

  it("masks secret values in every event and in the report, line by line too", async () => {
    const dockerfile = fixture("multistage-parallel.Dockerfile");
    const lines = streamLines("multistage-parallel");
    const engine = new FakeEngine({ final: { lines } });
    const events: BuildEvent[] = [];
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["final"] }),
      context: contextWith(dockerfile),
      tags: { final: ["hidden-token/app:1"] },
      maskValues: ["hidden-token", "building\nbase: done"],
      session: { secrets: { multi: Buffer.from("first line of it\nbase: starting\n") } },
      onEvent: (event) => events.push(event),
    });
    const text = JSON.stringify(events) + JSON.stringify(outcome.report);
    expect(text).not.toContain("hidden-token");
    expect(text).toContain("***/app:1");
    // Each line of a secret of several lines is masked where it appears on its own.
    expect(text).not.toContain("base: starting");
    expect(text).not.toContain("base: done");
    expect(text).toContain("a: ***");
    expect(text).toContain("/b.txt");
  });

  it("inspects the images of the targets that were built and puts their sizes in the report", async () => {
    const dockerfile = "FROM busybox AS app\nRUN true\n";
    const engine = new FakeEngine({ app: { sizeBytes: 48_000_000 } });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      tags: { app: ["me/app:1"] },
    });
    expect(outcome.images.app?.sizeBytes).toBe(48_000_000);
    expect(outcome.targets[0]?.imageId).toBe(outcome.images.app?.id);
    expect(outcome.report.targets[0]).toMatchObject({ target: "app", sizeBytes: 48_000_000 });
    expect(engine.calls[0]?.request.tags).toEqual(["me/app:1"]);
  });

  it("refuses bad tags and targets BuildKit would stop, before the engine is asked anything", async () => {
    const engine = new FakeEngine();
    const build = (options: {
      tags?: Record<string, string[]>;
      targets?: string[];
      dockerfile?: string;
    }) => {
      const dockerfile = options.dockerfile ?? "FROM busybox AS app\nRUN true\n";
      return runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: options.targets ?? ["app"] }),
        context: contextWith(dockerfile),
        tags: options.tags,
      });
    };
    await expect(build({ tags: { app: ["Me/App"] } })).rejects.toMatchObject({
      code: "INVALID_TAG",
    });
    await expect(build({ tags: { other: ["me/app"] } })).rejects.toBeInstanceOf(UsageError);
    await expect(
      build({
        dockerfile: "FROM busybox AS app\nCOPY --from=later /x /x\nFROM busybox AS later\n",
      }),
    ).rejects.toBeInstanceOf(DockerfileError);
    expect(engine.calls).toHaveLength(0);
  });

  it("says when nothing has come from the engine for a while, and keeps waiting", async () => {
    const dockerfile = "FROM busybox AS app\nRUN sleep 1\n";
    const engine = new FakeEngine({ app: { durationMs: 150 } });
    const events: BuildEvent[] = [];
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      quietNoticeMs: 40,
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("succeeded");
    const quiet = events.flatMap((event) => (event.type === "engine-quiet" ? [event] : []));
    expect(quiet.length).toBeGreaterThanOrEqual(1);
    expect(quiet[0]).toMatchObject({ running: ["app"] });
    // Said again only when as long again has passed.
    const times = quiet.map((event) => event.quietMs);
    for (const [index, ms] of times.entries()) expect(ms).toBeGreaterThanOrEqual(40 * (index + 1));
  });

  it("gives up the engine's probe when the context cannot be read (nothing is left open)", async () => {
    let probeSignal: AbortSignal | undefined;
    const never: Engine = {
      local: true,
      info: (signal?: AbortSignal) =>
        new Promise<EngineInfo>((_resolve, reject) => {
          probeSignal = signal;
          signal?.addEventListener("abort", () => {
            reject(new Error("aborted"));
          });
        }),
      build: () => Promise.reject(new Error("not reached")),
      cancelBuild: () => Promise.resolve(),
      inspectImage: () => Promise.resolve(undefined),
    };
    const dockerfile = "FROM busybox\n";
    await expect(
      runBuild({
        engine: never,
        analysis: analyzeDockerfile(dockerfile),
        context: { dir: "/nonexistent/context", dockerfile: "/nonexistent/context/Dockerfile" },
      }),
    ).rejects.toBeInstanceOf(ContextError);
    expect(probeSignal?.aborted).toBe(true);
  });
});

describe("runBuild with pinned bases", () => {
  const MIRROR = "127.0.0.1:5000/stagecraft-bases";
  const dockerfile = [
    "FROM stagecraft/busybox:latest AS build",
    "RUN echo hi > /out",
    "FROM stagecraft/busybox:latest AS app",
    "COPY --from=build /out /out",
    "FROM debian:12 AS other",
    "RUN true",
  ].join("\n");

  it("pushes the targets' bases to the mirror and builds FROM them by digest, as named contexts", async () => {
    const engine = new FakeEngine({}, { buildPath: "control" });
    engine.addImage("stagecraft/busybox:latest");
    engine.addImage("debian:12");
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      pinBases: MIRROR,
      stageSizes: false,
    });
    expect(outcome.status).toBe("succeeded");
    // Only the bases of the requested target: debian:12 belongs to `other`.
    expect(engine.pushed).toEqual([`${MIRROR}/stagecraft/busybox:latest`]);
    const pinned = outcome.report.cache?.pinned?.[0]?.pinned ?? "";
    expect(pinned).toMatch(new RegExp(`^${MIRROR}/stagecraft/busybox@sha256:[0-9a-f]{64}$`));
    expect(outcome.report.cache).toMatchObject({
      from: [],
      to: [],
      pinned: [{ reference: "stagecraft/busybox:latest", pinned }],
      unpinned: [],
    });
    expect(engine.calls.map((call) => call.request.namedContexts)).toEqual([
      { "stagecraft/busybox": `docker-image://${pinned}` },
    ]);
  });

  it("pins by default with a registry cache on a Control API engine, into <registry>/stagecraft-bases", async () => {
    const engine = new FakeEngine({}, { buildPath: "control" });
    engine.addImage("stagecraft/busybox:latest");
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      cacheFrom: [{ type: "registry", attrs: { ref: "127.0.0.1:5000/cache/app:main" } }],
      // The caller's own named contexts travel beside the pins.
      namedContexts: { lib: "docker-image://127.0.0.1:5000/lib:1" },
      stageSizes: false,
    });
    expect(engine.pushed).toEqual([`${MIRROR}/stagecraft/busybox:latest`]);
    expect(engine.calls[0]?.request.namedContexts).toEqual({
      "stagecraft/busybox": `docker-image://${outcome.report.cache?.pinned?.[0]?.pinned ?? ""}`,
      lib: "docker-image://127.0.0.1:5000/lib:1",
    });
  });

  it("leaves a base the caller's named context replaces, and pins nothing when turned off", async () => {
    const engine = new FakeEngine({}, { buildPath: "control" });
    engine.addImage("stagecraft/busybox:latest");
    const own = "docker-image://127.0.0.1:5000/mine@sha256:" + "b".repeat(64);
    const replaced = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      pinBases: MIRROR,
      namedContexts: { "stagecraft/busybox": own },
      stageSizes: false,
    });
    expect(engine.pushed).toEqual([]);
    expect(replaced.report.cache?.pinned).toEqual([]);
    expect(engine.calls[0]?.request.namedContexts).toEqual({ "stagecraft/busybox": own });

    const off = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      cacheFrom: [{ type: "registry", attrs: { ref: "127.0.0.1:5000/cache/app:main" } }],
      pinBases: false,
      stageSizes: false,
    });
    expect(engine.pushed).toEqual([]);
    expect(off.report.cache?.pinned).toBeUndefined();
  });

  it("refuses pins on an engine that builds through /build, before building", async () => {
    const engine = new FakeEngine();
    engine.addImage("stagecraft/busybox:latest");
    await expect(
      runBuild({
        engine,
        analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
        context: contextWith(dockerfile),
        pinBases: MIRROR,
      }),
    ).rejects.toThrow(UsageError);
    expect(engine.calls).toEqual([]);
    expect(engine.pushed).toEqual([]);
  });
});

describe("runBuild's sessions", () => {
  const dockerfile = [
    "FROM stagecraft/busybox:latest AS source",
    "COPY . /src",
    "FROM source AS test",
    "RUN true",
    "FROM source AS lint",
    "RUN true",
  ].join("\n");
  const build = async (cacheFrom: { type: string; attrs: Record<string, string> }[]) => {
    const engine = new FakeEngine({}, { buildPath: "control" });
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["test", "lint"] }),
      context: { ...contextWith(dockerfile), transfer: "session" },
      cacheFrom,
      pinBases: false,
      stageSizes: false,
    });
    expect(outcome.status).toBe("succeeded");
    return {
      opened: engine.sessions.length,
      used: new Set(engine.calls.map((call) => call.request.session?.id)),
      served: engine.calls.every((call) => call.request.session?.contextDockerfile !== undefined),
    };
  };

  it("gives each target a session of its own when the targets import a cache", async () => {
    // One session would key the shared context alike for both targets, and the second would miss
    // the imported steps after the stages they share (examples/node-service's `RUN npm test`).
    const cache = [{ type: "registry", attrs: { ref: "127.0.0.1:5000/cache/app:main" } }];
    expect(await build(cache)).toEqual({
      opened: 2,
      used: new Set(["fake-session-1", "fake-session-2"]),
      served: true,
    });
  });

  it("shares one session between the targets without a cache import", async () => {
    expect(await build([])).toEqual({ opened: 1, used: new Set(["fake-session-1"]), served: true });
  });
});

describe("runBuild for several platforms", () => {
  const dockerfile = [
    "FROM --platform=$BUILDPLATFORM stagecraft/busybox:latest AS build",
    "COPY hello.txt /out/hello.txt",
    "FROM scratch AS app",
    "COPY --from=build /out /out",
  ].join("\n");
  const PLATFORMS = ["linux/amd64", "linux/arm64"];
  const build = (engine: FakeEngine, platforms: string[] = PLATFORMS) => {
    engine.addImage("stagecraft/busybox:latest");
    const events: BuildEvent[] = [];
    const outcome = runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"], platform: platforms[0] ?? "" }),
      context: { ...contextWith(dockerfile), transfer: "session" },
      platforms,
      stageSizes: false,
      onEvent: (event) => events.push(event),
    });
    return { outcome, events };
  };
  const withStore = (engine: FakeEngine, kind: "containerd" | "graph-driver"): FakeEngine =>
    Object.assign(engine, {
      capabilities: async () => ({
        ...(await engine.info()),
        imageStore: { kind, driver: kind === "containerd" ? "overlayfs" : "overlay2" },
      }),
    });

  it("asks BuildKit for every platform at once and says them per target", async () => {
    const engine = withStore(new FakeEngine({}, { buildPath: "control" }), "containerd");
    const { outcome, events } = build(engine);
    const done = await outcome;
    expect(done.status).toBe("succeeded");
    expect(engine.calls.map((call) => call.request.platform)).toEqual(["linux/amd64,linux/arm64"]);
    expect(events.find((event) => event.type === "target-finished")).toMatchObject({
      platforms: PLATFORMS,
    });
    expect(done.report.targets[0]?.platforms).toEqual(PLATFORMS);
  });

  it("refuses them before sending on /build and on a graph-driver store", async () => {
    const viaBuild = new FakeEngine();
    await expect(build(viaBuild).outcome).rejects.toThrow(
      "a build for several platforms (linux/amd64, linux/arm64) needs BuildKit's Control API",
    );
    expect(viaBuild.calls).toEqual([]);
    const graphDriver = withStore(new FakeEngine({}, { buildPath: "control" }), "graph-driver");
    await expect(build(graphDriver).outcome).rejects.toThrow(
      "Multi-platform build is not supported for the docker driver",
    );
    expect(graphDriver.calls).toEqual([]);
    await expect(
      build(new FakeEngine({}, { buildPath: "control" }), ["linux/amd64", "nope/"]).outcome,
    ).rejects.toThrow(UsageError);
  });

  it("names one platform per target too, and none when the run names none", async () => {
    const one = await build(new FakeEngine(), ["linux/arm64"]).outcome;
    expect(one.report.targets[0]?.platforms).toEqual(["linux/arm64"]);
    const engine = new FakeEngine();
    engine.addImage("stagecraft/busybox:latest");
    const none = await runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["app"] }),
      context: contextWith(dockerfile),
      stageSizes: false,
    });
    expect(none.report.targets[0]?.platforms).toBeUndefined();
    expect(engine.calls[0]?.request.platform).toBeUndefined();
  });
});

describe("runBuild importing a cache on a graph-driver engine", () => {
  const BASE = `127.0.0.1:5000/base@sha256:${"a".repeat(64)}`;
  const dockerfile = `FROM ${BASE} AS build\nCOPY hello.txt /big\n`;
  const CACHE = [{ type: "registry", attrs: { ref: "127.0.0.1:5000/cache/app:main" } }];
  const ranCopy = JSON.stringify({
    id: "moby.buildkit.trace",
    aux: Buffer.from(
      statusResponseType
        .encode({
          vertexes: [
            {
              digest: "sha256:copy",
              name: "[build 2/2] COPY hello.txt /big",
              cached: false,
              started: { seconds: 1 },
              completed: { seconds: 2 },
            },
          ],
        })
        .finish(),
    ).toString("base64"),
  });
  const onStore = (
    engine: FakeEngine,
    kind: "containerd" | "graph-driver",
  ): FakeEngine & { pulled: string[] } => {
    const pulled: string[] = [];
    return Object.assign(engine, {
      pulled,
      capabilities: async () =>
        readCapabilities(
          await engine.info(),
          kind === "containerd"
            ? {
                Driver: "overlayfs",
                DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
              }
            : { Driver: "overlay2" },
        ),
      pullImage: (ref: string) => {
        pulled.push(ref);
        engine.addImage(ref);
        return Promise.resolve();
      },
    });
  };
  const build = (engine: FakeEngine, extra: { pull?: boolean } = {}) =>
    runBuild({
      engine,
      analysis: analyzeDockerfile(dockerfile, { targets: ["build"] }),
      context: contextWith(dockerfile),
      cacheFrom: CACHE,
      stageSizes: false,
      ...extra,
    });

  it("reads a base pinned by digest through a local name with no digest, removed after the run", async () => {
    const engine = onStore(new FakeEngine({}, { buildPath: "control" }), "graph-driver");
    const image = engine.addImage(BASE);
    const outcome = await build(engine);
    expect(outcome.status).toBe("succeeded");
    const contexts = engine.calls[0]?.request.namedContexts ?? {};
    expect(Object.keys(contexts)).toEqual([BASE]);
    const local = (contexts[BASE] ?? "").replace(/^docker-image:\/\//, "");
    expect(local).toMatch(
      new RegExp(`^stagecraft-local-pins/sha256-${"a".repeat(64)}:[0-9a-f]{12}$`),
    );
    expect(engine.tagged).toEqual([{ source: image.id, target: local }]);
    expect(engine.pulled).toEqual([]);
    // Only the name goes: the image stays under its digest.
    expect(await engine.inspectImage(local)).toBeUndefined();
    expect(await engine.inspectImage(BASE)).toBeDefined();
  });

  it("pulls a base by its digest first when the engine does not have it", async () => {
    const engine = onStore(new FakeEngine({}, { buildPath: "control" }), "graph-driver");
    await build(engine);
    expect(engine.pulled).toEqual([BASE]);
    expect(engine.calls[0]?.request.namedContexts?.[BASE]).toMatch(
      /^docker-image:\/\/stagecraft-local-pins\//,
    );
  });

  it("reads a base pinned to the mirror through a local name too", async () => {
    const tagged = "FROM stagecraft/busybox:latest AS build\nCOPY hello.txt /big\n";
    const engine = onStore(new FakeEngine({}, { buildPath: "control" }), "graph-driver");
    engine.addImage("stagecraft/busybox:latest");
    const outcome = await runBuild({
      engine,
      analysis: analyzeDockerfile(tagged, { targets: ["build"] }),
      context: contextWith(tagged),
      cacheFrom: CACHE,
      stageSizes: false,
    });
    const pinned = outcome.report.cache?.pinned?.[0]?.pinned ?? "";
    expect(pinned).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(engine.pulled).toEqual([pinned]);
    expect(engine.calls[0]?.request.namedContexts?.["stagecraft/busybox"]).toMatch(
      /^docker-image:\/\/stagecraft-local-pins\/sha256-[0-9a-f]{64}:[0-9a-f]{12}$/,
    );
  });

  it("keeps the digest on /build, with --pull and on the containerd store, and a miss says why", async () => {
    const viaBuild = onStore(new FakeEngine({ build: { lines: [ranCopy] } }), "graph-driver");
    const missed = await build(viaBuild);
    expect(viaBuild.calls[0]?.request.namedContexts).toBeUndefined();
    expect(viaBuild.tagged).toEqual([]);
    expect(missed.report.targets[0]).toMatchObject({ stepsRun: 1, stepsCached: 0 });
    const reason = missed.report.cache?.misses[0]?.reason ?? "";
    expect(reason).toContain(`although ${BASE} is read by registry digest`);
    expect(reason).toContain("docker builder prune");

    const pulling = onStore(new FakeEngine({}, { buildPath: "control" }), "graph-driver");
    await build(pulling, { pull: true });
    expect(pulling.tagged).toEqual([]);
    expect(pulling.calls[0]?.request.namedContexts).toBeUndefined();

    const containerd = onStore(
      new FakeEngine({ build: { lines: [ranCopy] } }, { buildPath: "control" }),
      "containerd",
    );
    const other = await build(containerd);
    expect(containerd.tagged).toEqual([]);
    expect(other.report.cache?.misses[0]?.reason).not.toContain("read by registry digest");
  });
});

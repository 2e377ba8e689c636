import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DockerEngine,
  analyzeDockerfile,
  runBuild,
  type BuildEvent,
  type Engine,
  type RunBuildOptions,
} from "@stagecraft/core";
import { BuildkitEngine, ControlClient, parseBuildkitAddress } from "@stagecraft/core/engine";
import { runStagecraft } from "./support/cli.js";
import { startBuildkitProxy, type BuildkitProxy } from "./support/buildkit-proxy.js";
import {
  BUSYBOX,
  TEST_LABELS,
  docker,
  makeProject,
  removeImages,
  runInImage,
} from "./support/engine.js";

const made: string[] = [];
const proxies: BuildkitProxy[] = [];
const engines: { close(): void }[] = [];
afterAll(async () => {
  for (const engine of engines) engine.close();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await removeImages(made);
});

async function proxy(tls: boolean, unix = false): Promise<BuildkitProxy> {
  const started = await startBuildkitProxy({ tls, unix });
  proxies.push(started);
  return started;
}

/** Builds the Dockerfile's targets in `dir` on `engine` through `runBuild`; the context goes by session. */
async function build(
  engine: Engine,
  dir: string,
  targets: string[],
  tags: Record<string, string[]>,
  options: Partial<RunBuildOptions> = {},
): Promise<{ outcome: Awaited<ReturnType<typeof runBuild>>; events: BuildEvent[] }> {
  for (const list of Object.values(tags)) made.push(...list);
  const events: BuildEvent[] = [];
  const outcome = await runBuild({
    engine,
    analysis: analyzeDockerfile(readFileSync(join(dir, "Dockerfile"), "utf8"), { targets }),
    context: { dir, dockerfile: join(dir, "Dockerfile"), transfer: "session" },
    tags,
    labels: TEST_LABELS,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { outcome, events };
}

/** The report and the events without what differs between two runs of the same build. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (/(ms|Ms|time|At|buildId|imageId|id|Id|bytes|files|sent|endpoint|apiVersion)$/.test(key))
      continue;
    out[key] = comparable(entry);
  }
  return out;
}

/**
 * The events of each target, sorted (two targets' events interleave as they happen, and BuildKit
 * runs independent steps in any order; the report compares their outcome), without the ones whose
 * number depends on timing: raw statuses, and sub-task progress (BuildKit sends a
 * `transfer` update as often as it likes; their names are compared as a set).
 */
function eventKinds(events: readonly BuildEvent[]): Record<string, string[]> {
  const byTarget: Record<string, string[]> = {};
  // BuildKit may show a cache lookup as started before it says cached, on either path.
  const cached = new Set(
    events.flatMap((event) => (event.type === "step-cached" ? [event.step.name] : [])),
  );
  for (const event of events) {
    if (event.type === "step-started" && cached.has(event.step.name)) continue;
    if (
      event.type === "daemon-status" ||
      event.type === "engine-quiet" ||
      event.type === "transfer"
    )
      continue;
    const owner = "target" in event ? event.target : "run";
    const kind =
      "stage" in event
        ? `${event.type}:${String(event.stage)}`
        : "step" in event && typeof event.step === "object"
          ? `${event.type}:${event.step.name}`
          : event.type;
    (byTarget[owner] ??= []).push(kind);
  }
  for (const list of Object.values(byTarget)) list.sort();
  return byTarget;
}

function transferNames(events: readonly BuildEvent[]): string[] {
  const names = events.flatMap((event) =>
    event.type === "transfer" ? [event.name.replace(/sha256:[0-9a-f]+/g, "sha256:…")] : [],
  );
  return [...new Set(names)].sort();
}

describe("BuildKit Control API against the engine's BuildKit", () => {
  let plain: BuildkitProxy;
  beforeAll(async () => {
    plain = await proxy(false);
  });

  it("lists workers, disk usage and its version through /grpc and through a standalone address", async () => {
    const engine = new DockerEngine();
    engines.push(engine);
    const viaGrpc = await engine.listWorkers();
    expect(viaGrpc.length).toBeGreaterThan(0);
    expect(viaGrpc[0]?.platforms).toContain("linux/amd64");
    const client = await ControlClient.connect(parseBuildkitAddress(plain.address));
    try {
      const [info, workers, usage] = await Promise.all([
        client.info(),
        client.listWorkers(),
        client.diskUsage(),
      ]);
      expect(info.package).toBe("github.com/moby/buildkit");
      expect(workers.map((worker) => worker.id)).toEqual(viaGrpc.map((worker) => worker.id));
      expect(usage.every((record) => record.id !== "" && record.sizeBytes >= 0)).toBe(true);
    } finally {
      client.close();
    }
    expect(plain.connections()).toBeGreaterThan(0);
  });

  it("gives the same events and report through Control.Solve as through POST /build", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `ARG NONCE`,
        `RUN echo "base $NONCE" > /base.txt`,
        `FROM base AS test`,
        `COPY hello.txt /hello.txt`,
        `RUN cat /hello.txt /base.txt`,
        `FROM base AS app`,
        `LABEL role=app`,
        `RUN echo app > /app.txt`,
        ``,
      ].join("\n"),
      "hello.txt": "hello\n",
    });
    try {
      const tag = (engine: string, target: string): string =>
        `sc-it/control-${engine}-${target}:${nonce}`;
      const args = { buildArgs: { NONCE: nonce } };
      const runOn = async (engine: Engine, name: string) => {
        const analysis = analyzeDockerfile(readFileSync(join(project.dir, "Dockerfile"), "utf8"), {
          targets: ["test", "app"],
          ...args,
        });
        const events: BuildEvent[] = [];
        const tags = { test: [tag(name, "test")], app: [tag(name, "app")] };
        made.push(...tags.test, ...tags.app);
        const outcome = await runBuild({
          engine,
          analysis,
          context: {
            dir: project.dir,
            dockerfile: join(project.dir, "Dockerfile"),
            transfer: "session",
          },
          tags,
          labels: TEST_LABELS,
          // One target at a time: a step two targets share is attributed to the one that shows it first.
          concurrency: 1,
          onEvent: (event) => events.push(event),
        });
        return { outcome, events };
      };
      const control = new DockerEngine({ builder: "control" });
      engines.push(control);
      // Cold through /build, so both runs below see the same cache state (everything cached).
      const cold = await runOn(new DockerEngine(), "cold");
      expect(cold.outcome.status).toBe("succeeded");
      // The same tags, so the reports may be compared whole.
      const viaBuild = await runOn(new DockerEngine(), "warm");
      const viaControl = await runOn(control, "warm");
      expect(viaControl.outcome.status).toBe("succeeded");
      expect(comparable(viaControl.outcome.report)).toEqual(comparable(viaBuild.outcome.report));
      expect(eventKinds(viaControl.events)).toEqual(eventKinds(viaBuild.events));
      expect(transferNames(viaControl.events)).toEqual(transferNames(viaBuild.events));
      const app = await docker.getImage(tag("warm", "app")).inspect();
      expect(app.Id).toBe(viaControl.outcome.images.app?.id);
      expect(app.Id).toBe(viaBuild.outcome.images.app?.id);
      expect(app.Config.Labels).toMatchObject({ role: "app", ...TEST_LABELS });
      expect(viaControl.outcome.report.steps.every((step) => step.status === "cached")).toBe(true);
    } finally {
      project.remove();
    }
  });

  it("reports a failing RUN step with BuildKit's words and the stage, as /build does", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS broken\nRUN echo ${randomUUID()} && exit 3\n`,
    });
    try {
      const control = new DockerEngine({ builder: "control" });
      engines.push(control);
      const viaControl = await build(control, project.dir, ["broken"], {});
      const viaBuild = await build(new DockerEngine(), project.dir, ["broken"], {});
      expect(viaControl.outcome.status).toBe("failed");
      const failure = viaControl.outcome.report.failures[0];
      expect(failure?.stage).toBe("broken");
      expect(failure?.message).toContain("exit code: 3");
      expect(comparable(viaControl.outcome.report.failures)).toEqual(
        comparable(viaBuild.outcome.report.failures),
      );
    } finally {
      project.remove();
    }
  });

  it("builds on a standalone BuildKit over TLS with the session inside Control.Session", async () => {
    const tls = await proxy(true);
    if (tls.tls === undefined) throw new Error("the TLS proxy made no certificates");
    const engine = new BuildkitEngine({ address: tls.address, tls: tls.tls });
    engines.push(engine);
    const nonce = randomUUID();
    const secret = `secret-${nonce}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS final`,
        `COPY hello.txt /hello.txt`,
        `RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-length`,
        `RUN echo ${nonce} > /nonce`,
        ``,
      ].join("\n"),
      "hello.txt": "over tls\n",
    });
    try {
      const tag = `sc-it/control-tls:${nonce}`;
      const { outcome, events } = await build(
        engine,
        project.dir,
        ["final"],
        { final: [tag] },
        {
          session: { secrets: { token: new TextEncoder().encode(secret) } },
        },
      );
      expect(outcome.status).toBe("succeeded");
      expect(outcome.engine.endpoint).toBe(`${tls.address} (TLS)`);
      expect(tls.address).toMatch(/^buildkit\+tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(events.some((event) => event.type === "context-sent")).toBe(true);
      // The proxy's BuildKit is the engine's: the image landed in its store under the tag.
      expect(
        (await runInImage(tag, ["cat", "/hello.txt", "/token-length", "/nonce"])).split("\n"),
      ).toEqual(["over tls", String(secret.length), nonce, ""]);
    } finally {
      project.remove();
    }
  });

  it("builds on a standalone BuildKit over a unix socket: context, secret, events and report", async () => {
    const unix = await proxy(false, true);
    expect(unix.address).toMatch(/^buildkit\+unix:\/\/\/.+\/buildkitd\.sock$/);
    const engine = new BuildkitEngine({ address: unix.address });
    engines.push(engine);
    const nonce = randomUUID();
    const secret = `secret-${nonce}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce`,
        `FROM base AS final`,
        `COPY hello.txt /hello.txt`,
        `RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-length`,
        ``,
      ].join("\n"),
      "hello.txt": "over a unix socket\n",
    });
    try {
      const tag = `sc-it/control-unix:${nonce}`;
      const { outcome, events } = await build(
        engine,
        project.dir,
        ["final"],
        { final: [tag] },
        { session: { secrets: { token: new TextEncoder().encode(secret) } } },
      );
      expect(outcome.status).toBe("succeeded");
      expect(outcome.engine.endpoint).toBe(unix.address);
      expect(outcome.engine.apiVersion).toBe("buildkit");
      expect(unix.connections()).toBeGreaterThan(0);
      // The context went through the session inside Control.Session, on the unix connection.
      expect(events.some((event) => event.type === "context-sent")).toBe(true);
      // Every step is attributed to its stage, as on the engine's own paths.
      const ran = events.flatMap((event) =>
        event.type === "step-finished" ? [`${event.step.stage}:${event.step.instruction}`] : [],
      );
      expect(ran).toContain(`base:RUN echo ${nonce} > /nonce`);
      expect(ran.some((step) => step.startsWith("final:RUN --mount=type=secret"))).toBe(true);
      expect(events.at(-1)?.type).toBe("run-finished");
      const report = outcome.report;
      expect(report.targets.map((target) => [target.target, target.status])).toEqual([
        ["final", "succeeded"],
      ]);
      expect(report.stages.map((stage) => stage.stage).sort()).toEqual(["base", "final"]);
      expect(report.steps.some((step) => step.status === "ran")).toBe(true);
      // The secret's value is nowhere in what the run reported.
      expect(JSON.stringify({ report, events })).not.toContain(secret);
      expect(
        (await runInImage(tag, ["cat", "/hello.txt", "/token-length", "/nonce"])).split("\n"),
      ).toEqual(["over a unix socket", String(secret.length), nonce, ""]);
      const description = await engine.describe();
      expect(description.store).toEqual({ kind: "docker-engine" });
      expect(description.endpoint).toBe(unix.address);
      expect(description.platforms).toContain("linux/amd64");
      expect(description.cache).toBeUndefined();
    } finally {
      project.remove();
    }
  });

  it("refuses a TLS address whose client certificate is missing", async () => {
    const tls = await proxy(true);
    if (tls.tls === undefined) throw new Error("the TLS proxy made no certificates");
    const engine = new BuildkitEngine({ address: tls.address, tls: { ca: tls.tls.ca } });
    engines.push(engine);
    await expect(engine.info()).rejects.toMatchObject({ code: "ENGINE_UNREACHABLE" });
  });

  it("reads named contexts (a directory and docker-image://) with stagecraft build --build-context", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      "app/Dockerfile": [
        `FROM base AS final`,
        `COPY --from=lib lib.txt /lib.txt`,
        `COPY app.txt /app.txt`,
        `RUN echo ${nonce} > /nonce`,
        ``,
      ].join("\n"),
      "app/app.txt": "app\n",
      "lib/lib.txt": "from the lib context\n",
    });
    const tag = `sc-it/control-named:${nonce}`;
    made.push(tag);
    try {
      const run = await runStagecraft(
        [
          "build",
          "app",
          "-t",
          tag,
          "--build-context",
          "lib=lib",
          "--build-context",
          `base=docker-image://${BUSYBOX}`,
          "--label",
          "org.stagecraft.test=1",
          "--progress",
          "plain",
        ],
        { cwd: project.dir },
      );
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(await runInImage(tag, ["cat", "/lib.txt", "/app.txt", "/nonce"])).toBe(
        `from the lib context\napp\n${nonce}\n`,
      );
    } finally {
      project.remove();
    }
  });

  it("refuses named contexts on the /build path, before sending", async () => {
    const project = makeProject({ Dockerfile: `FROM base\n` });
    try {
      const { outcome } = await build(
        new DockerEngine(),
        project.dir,
        [],
        {},
        {
          namedContexts: { base: `docker-image://${BUSYBOX}` },
        },
      );
      expect(outcome.status).toBe("failed");
      expect(outcome.report.failures[0]?.message).toContain(
        "named contexts need BuildKit's Control API",
      );
    } finally {
      project.remove();
    }
  });
});

// The containerd image store of Docker 26.1 cannot read a context uploaded as a tar through
// POST /build (moby/moby#47717): stagecraft sends a small context through a session there, and
// refuses an explicit tar transfer before sending anything. Its image scan finds the layer
// directories through the engine's containerd. A stage-size probe through the Control API makes no
// image there, and its size is the engine's own for that stage.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeDockerfile, DockerEngine, runBuild, type Engine } from "@stagecraft/core";
import { scanImageLayers } from "@stagecraft/core/engine";
import { BUSYBOX, docker, makeProject, TEST_LABELS } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";
import type Docker from "dockerode";
import { TEST_ENGINES, extraEngine, removeLabelled } from "./support/infra.js";

const LABEL = ["--label", "org.stagecraft.test=1"];
const removals: (() => void)[] = [];

afterAll(async () => {
  for (const remove of removals) remove();
  const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
  await removeLabelled(c8d.docker);
  await removeLabelled(docker);
});

describe("a small context on the containerd image store", () => {
  it("travels through a session by default and builds; a forced tar is refused before sending", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({
      Dockerfile: "FROM stagecraft/busybox:latest\nCOPY hello.txt /hello.txt\n",
      "hello.txt": "hello\n",
    });
    removals.push(project.remove);
    const env = { env: { DOCKER_HOST: c8d.host } };

    const auto = await runStagecraft(["build", project.dir, ...LABEL, "--progress", "json"], env);
    expect(auto.stderr).toBe("");
    expect(auto.code).toBe(0);
    const started = auto.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { type: string; context?: { transfer: string } })
      .find((event) => event.type === "run-started");
    expect(started?.context?.transfer).toBe("session");

    const tar = await runStagecraft(
      ["build", project.dir, ...LABEL, "--context-transfer", "tar", "--progress", "plain"],
      env,
    );
    expect(tar.code).not.toBe(0);
    expect(tar.stderr).toContain("cannot read a context uploaded as a tar (moby/moby#47717");
    expect(tar.stderr).not.toContain("failed to read downloaded context");
  });

  it("the image scan reads the snapshotter's layer directories: the same files every way", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX}`,
        "RUN mkdir -p /usr/local/bin && cp /bin/busybox /usr/local/bin/make",
        "COPY hello.txt /srv/hello.txt",
        "",
      ].join("\n"),
      "hello.txt": "hello\n",
    });
    removals.push(project.remove);
    const build = async (engine: DockerEngine) => {
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(readFileSync(join(project.dir, "Dockerfile"), "utf8")),
        context: { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") },
        labels: TEST_LABELS,
        stageSizes: false,
      });
      expect(outcome.status).toBe("succeeded");
      return outcome.report.targets[0]?.imageId ?? "";
    };
    const c8dEngine = new DockerEngine({ env: { DOCKER_HOST: c8d.host } });
    const onC8dImage = await build(c8dEngine);
    const onC8d = await scanImageLayers(c8dEngine, onC8dImage);
    const blobs = await scanImageLayers(c8dEngine, onC8dImage, { method: "content-store" });
    const exported = await scanImageLayers(c8dEngine, onC8dImage, { method: "export" });
    const main = new DockerEngine();
    const onOverlay2 = await scanImageLayers(main, await build(main));
    // Inspect names no layer directories on the containerd store; its containerd does (through
    // a container created for it and removed), and this machine holds its content store.
    expect(onC8d.method).toBe("layer-dirs");
    expect(blobs.method).toBe("content-store");
    expect(exported.method).toBe("export");
    expect(onOverlay2.method).toBe("layer-dirs");
    const built = onC8d.layers.slice(-2).map((layer) => layer.paths);
    expect(built).toEqual([["/usr/local/bin/make"], ["/srv/hello.txt"]]);
    expect(blobs.layers).toEqual(exported.layers);
    expect(onC8d.layers).toEqual(exported.layers);
    const scanContainers = await c8d.docker.listContainers({
      all: true,
      filters: { label: ["org.stagecraft.layer-scan=true"] },
    });
    expect(scanContainers).toEqual([]);
    expect(onC8d.layers.map((layer) => layer.paths)).toEqual(
      onOverlay2.layers.map((layer) => layer.paths),
    );
  });
});

describe("a stage-size probe through the Control API", () => {
  /** The engine, with every `removeImage` it is asked for recorded. */
  const recording = (engine: DockerEngine, removed: string[]): Engine =>
    new Proxy(engine, {
      get(target, property) {
        if (property === "removeImage") {
          return (ref: string, signal?: AbortSignal) => {
            removed.push(ref);
            return target.removeImage(ref, signal);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });

  it("makes no image on the containerd store (none to remove), and its size is the engine's own", async () => {
    // Two runs on c8d (Control API, POST /build) and one on the main engine, each with the stage
    // built again as a target.
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const nonce = `${Date.now()}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN head -c 300000 /dev/urandom > /blob && echo ${nonce} > /nonce`,
        `FROM ${BUSYBOX} AS app`,
        "COPY --from=base /blob /blob",
        "",
      ].join("\n"),
    });
    removals.push(project.remove);
    const text = readFileSync(join(project.dir, "Dockerfile"), "utf8");
    const context = { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") };
    const onStore = async (
      env: NodeJS.ProcessEnv,
      own: Docker,
      builder: "control" | "build" = "control",
    ) => {
      const removed: string[] = [];
      const engine = new DockerEngine({ env, builder });
      const since = Math.floor(Date.now() / 1000);
      const outcome = await runBuild({
        engine: recording(engine, removed),
        analysis: analyzeDockerfile(text, { targets: ["app"] }),
        context,
        labels: TEST_LABELS,
      });
      const until = Math.ceil(Date.now() / 1000) + 1;
      expect(outcome.status).toBe("succeeded");
      const probed = outcome.report.targets[0]?.sizeComparison;
      expect(probed?.from).toBe("base");
      // The engine's own number for the same stage built as a target (every step cached).
      const asTarget = await runBuild({
        engine,
        analysis: analyzeDockerfile(text, { targets: ["base"] }),
        context,
        labels: TEST_LABELS,
        stageSizes: false,
      });
      const inspected = (await own.getImage(asTarget.report.targets[0]?.imageId ?? "").inspect())
        .Size;
      engine.close();
      const deleted = execFileSync(
        "docker",
        ["events", "--since", `${since}`, "--until", `${until}`, "--filter", "type=image"],
        { encoding: "utf8", env },
      )
        .split("\n")
        .filter((line) => line.includes(" delete "));
      return { probed: probed?.fromSizeBytes ?? 0, inspected, removed, deleted };
    };

    const onC8dEnv = { ...process.env, DOCKER_HOST: c8d.host };
    const onC8d = await onStore(onC8dEnv, c8d.docker);
    // No image was made, so none was removed: the engine logged no image deletion during the run.
    expect(onC8d.removed).toEqual([]);
    expect(onC8d.deleted).toEqual([]);
    // inspect's Size there is the manifest, config and layer blobs; the probe's config differs from
    // the target's only in its labels and creation time (a few bytes), the layers are the same blobs.
    expect(Math.abs(onC8d.probed - onC8d.inspected)).toBeLessThan(256);
    expect(onC8d.inspected).toBeGreaterThan(300_000);

    // A run through POST /build (its context in a session there) sends the probe the same way.
    const viaBuild = await onStore(onC8dEnv, c8d.docker, "build");
    expect(viaBuild.removed).toEqual([]);
    expect(viaBuild.deleted).toEqual([]);
    expect(Math.abs(viaBuild.probed - viaBuild.inspected)).toBeLessThan(256);

    // The graph driver's exporter makes the image all the same: it is removed, its size exact.
    const onOverlay2 = await onStore(process.env, docker);
    expect(onOverlay2.removed).toHaveLength(1);
    expect(onOverlay2.probed).toBe(onOverlay2.inspected);
  });
});

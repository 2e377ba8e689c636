import { afterEach, describe, expect, it } from "vitest";
import { FakeEngine } from "../testing/fake-engine.js";
import type { Engine } from "./engine.js";
import { FakeRegistry } from "./fake-registry.test-support.js";
import { contextNameOf, mirrorName, pinBaseImages } from "./pin-base-images.js";
import { readRegistryImage } from "./read-registry-image.js";
import { runConfigKey } from "./run-config-key.js";

const MIRROR = "127.0.0.1:5000/stagecraft-bases";

describe("pinBaseImages", () => {
  it("pushes each base the engine has to the mirror and names it by digest, then untags it", async () => {
    const engine = new FakeEngine();
    const busybox = engine.addImage("stagecraft/busybox:latest");
    const debian = engine.addImage("debian:12");
    const pins = await pinBaseImages(
      engine,
      ["stagecraft/busybox:latest", "debian:12", "stagecraft/busybox:latest"],
      `${MIRROR}/`,
    );
    expect(engine.tagged).toEqual([
      { source: busybox.id, target: `${MIRROR}/stagecraft/busybox:latest` },
      { source: debian.id, target: `${MIRROR}/library/debian:12` },
    ]);
    expect(engine.pushed).toEqual([
      `${MIRROR}/stagecraft/busybox:latest`,
      `${MIRROR}/library/debian:12`,
    ]);
    expect(pins.pinned).toEqual([
      {
        reference: "stagecraft/busybox:latest",
        pinned: expect.stringMatching(
          new RegExp(`^${MIRROR}/stagecraft/busybox@sha256:[0-9a-f]{64}$`),
        ) as string,
      },
      {
        reference: "debian:12",
        pinned: expect.stringMatching(new RegExp(`^${MIRROR}/library/debian@sha256:`)) as string,
      },
    ]);
    expect(pins.unpinned).toEqual([]);
    // The mirror's names are gone again; the bases stay.
    expect(await engine.inspectImage(`${MIRROR}/library/debian:12`)).toBeUndefined();
    expect(await engine.inspectImage("debian:12")).toBeDefined();
  });

  it("leaves digests, scratch and images the engine does not have, saying why", async () => {
    const engine = new FakeEngine();
    const pins = await pinBaseImages(
      engine,
      ["node:22", "scratch", `alpine@sha256:${"a".repeat(64)}`],
      MIRROR,
    );
    expect(pins.pinned).toEqual([]);
    expect(pins.unpinned).toEqual([
      {
        reference: "node:22",
        reason: "the engine does not have it (the build pulls it from its registry)",
      },
      { reference: "scratch", reason: "scratch is no image" },
      { reference: `alpine@sha256:${"a".repeat(64)}`, reason: "already pinned by digest" },
    ]);
    expect(engine.pushed).toEqual([]);
  });

  it("says so when the engine cannot push", async () => {
    const engine = new FakeEngine();
    engine.addImage("debian:12");
    const pins = await pinBaseImages(
      { inspectImage: (ref) => engine.inspectImage(ref) },
      ["debian:12"],
      MIRROR,
    );
    expect(pins.unpinned).toEqual([
      { reference: "debian:12", reason: "the engine cannot tag and push images" },
    ]);
  });
});

describe("pinBaseImages with a mirror that already holds the tag", () => {
  const LAYERS = [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`];
  const LOGIN = { username: "ci", password: "s3cret" };
  let registry: FakeRegistry | undefined;
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
  });

  /** A fake engine that reads the mirror through the registry API with the login a push would send. */
  function engineReading(
    engine: FakeEngine,
  ): Pick<Engine, "inspectImage" | "tagImage" | "push" | "removeImage" | "readRegistryImage"> {
    return {
      inspectImage: (ref) => engine.inspectImage(ref),
      tagImage: (source, target) => engine.tagImage(source, target),
      push: (request) => engine.push(request),
      removeImage: (ref) => engine.removeImage(ref),
      readRegistryImage: (ref, platform, signal) =>
        readRegistryImage(ref, {
          login: { ...LOGIN, serveraddress: registry?.host ?? "" },
          platform,
          signal,
        }),
    };
  }

  it("reuses the mirror's digest when its config is the image's (overlay2's image id)", async () => {
    registry = await FakeRegistry.start({ kind: "basic", ...LOGIN });
    const stored = registry.putImage("stagecraft-bases/library/debian", "12", { diffIds: LAYERS });
    const engine = new FakeEngine();
    engine.addImage("debian:12", {
      id: stored.configDigest,
      diffIds: [`sha256:${"9".repeat(64)}`],
    });
    const pins = await pinBaseImages(
      engineReading(engine),
      ["debian:12"],
      `${registry.host}/stagecraft-bases`,
    );
    expect(pins.pinned).toEqual([
      {
        reference: "debian:12",
        pinned: `${registry.host}/stagecraft-bases/library/debian@${stored.digest}`,
        found: "config",
      },
    ]);
    expect(engine.tagged).toEqual([]);
    expect(engine.pushed).toEqual([]);
  });

  it("reuses the mirror's digest when only the layers agree (a containerd-store image id)", async () => {
    registry = await FakeRegistry.start({ kind: "basic", ...LOGIN });
    const stored = registry.putImage("stagecraft-bases/library/debian", "12", {
      diffIds: LAYERS,
      platform: { os: "linux", architecture: "amd64" },
    });
    const engine = new FakeEngine();
    engine.addImage("debian:12", {
      id: `sha256:${"c".repeat(64)}`,
      diffIds: LAYERS,
      runConfig: runConfigKey({ Env: [], User: "" }),
      os: "linux",
      architecture: "amd64",
    });
    const pins = await pinBaseImages(
      engineReading(engine),
      ["debian:12"],
      `${registry.host}/stagecraft-bases`,
    );
    expect(pins.pinned).toEqual([
      {
        reference: "debian:12",
        pinned: `${registry.host}/stagecraft-bases/library/debian@${stored.digest}`,
        found: "layers",
      },
    ]);
    expect(engine.pushed).toEqual([]);
  });

  it("pushes when the layers agree but a build FROM the image would inherit another config", async () => {
    registry = await FakeRegistry.start({ kind: "basic", ...LOGIN });
    registry.putImage("stagecraft-bases/library/debian", "12", {
      diffIds: LAYERS,
      extra: { config: { Env: ["MODE=mirror"] } },
    });
    const engine = new FakeEngine();
    engine.addImage("debian:12", {
      id: `sha256:${"c".repeat(64)}`,
      diffIds: LAYERS,
      runConfig: runConfigKey({ Env: ["MODE=local"] }),
    });
    const pins = await pinBaseImages(
      engineReading(engine),
      ["debian:12"],
      `${registry.host}/stagecraft-bases`,
    );
    expect(pins.pinned[0]?.found).toBeUndefined();
    expect(engine.pushed).toHaveLength(1);
  });

  it("pushes when the mirror's image differs, or it has none under the tag", async () => {
    registry = await FakeRegistry.start({ kind: "basic", ...LOGIN });
    registry.putImage("stagecraft-bases/library/debian", "12", { diffIds: LAYERS });
    const engine = new FakeEngine();
    engine.addImage("debian:12", { diffIds: [LAYERS[0]!] });
    engine.addImage("alpine:3", { diffIds: LAYERS });
    const pins = await pinBaseImages(
      engineReading(engine),
      ["debian:12", "alpine:3"],
      `${registry.host}/stagecraft-bases`,
    );
    // Both are pushed (at once: in either order).
    expect([...engine.pushed].sort()).toEqual([
      `${registry.host}/stagecraft-bases/library/alpine:3`,
      `${registry.host}/stagecraft-bases/library/debian:12`,
    ]);
    expect(pins.pinned.map((pin) => pin.found)).toEqual([undefined, undefined]);
    // The mirror was asked for each tag, with the login.
    const manifests = registry.requests.filter((request) => request.url.includes("/manifests/"));
    expect(manifests.filter((request) => request.authorization !== undefined).length).toBe(2);
  });

  it("pushes as before when the mirror cannot be read", async () => {
    registry = await FakeRegistry.start({ kind: "basic", ...LOGIN });
    registry.putImage("stagecraft-bases/library/debian", "12", { diffIds: LAYERS });
    const engine = new FakeEngine();
    engine.addImage("debian:12", { diffIds: LAYERS });
    const reading = engineReading(engine);
    const pins = await pinBaseImages(
      {
        ...reading,
        readRegistryImage: (ref, platform, signal) => readRegistryImage(ref, { platform, signal }),
      },
      ["debian:12"],
      `${registry.host}/stagecraft-bases`,
    );
    expect(engine.pushed).toEqual([`${registry.host}/stagecraft-bases/library/debian:12`]);
    expect(pins.pinned[0]?.found).toBeUndefined();
  });
});

describe("mirrorName", () => {
  it("keeps the registry's path, a non-Hub host as a path component, and the tag", () => {
    expect(mirrorName("node", "m/x")).toEqual({ repository: "m/x/library/node", tag: "latest" });
    expect(mirrorName("docker.io/node:22", "m")).toEqual({
      repository: "m/library/node",
      tag: "22",
    });
    expect(mirrorName("docker.io/me/app:1", "m")).toEqual({ repository: "m/me/app", tag: "1" });
    expect(mirrorName("ghcr.io/o/app", "m")).toEqual({
      repository: "m/ghcr.io/o/app",
      tag: "latest",
    });
    expect(mirrorName("127.0.0.1:5000/team/base:3", "m")).toEqual({
      repository: "m/127.0.0.1-5000/team/base",
      tag: "3",
    });
  });
});

describe("contextNameOf", () => {
  it("is the familiar name without :latest, as the Dockerfile frontend looks it up", () => {
    expect(contextNameOf("stagecraft/busybox:latest")).toBe("stagecraft/busybox");
    expect(contextNameOf("docker.io/library/node:latest")).toBe("node");
    expect(contextNameOf("docker.io/library/node:22")).toBe("node:22");
    expect(contextNameOf("library/debian:12")).toBe("debian:12");
    expect(contextNameOf("127.0.0.1:5000/team/base:latest")).toBe("127.0.0.1:5000/team/base");
  });
});

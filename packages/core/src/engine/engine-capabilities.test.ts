import { describe, expect, it } from "vitest";
import { checkCacheSupport, readCapabilities, readsTarContext } from "./engine-capabilities.js";
import type { EngineInfo } from "./engine.js";

const info: EngineInfo = {
  endpoint: "unix:///var/run/docker.sock",
  version: "26.1.5",
  apiVersion: "1.45",
  platform: "linux/amd64",
  os: "linux",
  arch: "amd64",
  buildkit: true,
};
const graph = readCapabilities(info, {
  Driver: "overlay2",
  DriverStatus: [["Backing Filesystem", "extfs"]],
});
const containerd = readCapabilities(info, {
  Driver: "overlayfs",
  DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
});
const registry = { type: "registry", attrs: { ref: "127.0.0.1:5000/c:main" } };

describe("readCapabilities", () => {
  it("tells the image store from GET /info's DriverStatus and lists its cache backends", () => {
    expect(graph.imageStore).toEqual({ kind: "graph-driver", driver: "overlay2" });
    expect(graph.cache).toEqual({ exporters: ["inline"], importers: ["local", "registry"] });
    expect(containerd.imageStore).toEqual({ kind: "containerd", driver: "overlayfs" });
    expect(containerd.cache.exporters).toEqual(["gha", "inline", "local", "registry"]);
    expect(graph.sessionTransport).toBe("session-endpoint");
    expect(readCapabilities({ ...info, apiVersion: "1.53" }, {}).sessionTransport).toBe("grpc");
    expect(graph.platforms).toEqual(["linux/amd64"]);
  });
});

describe("checkCacheSupport", () => {
  it("refuses registry export on a graph-driver engine, saying what to change", () => {
    expect(() => {
      checkCacheSupport({ cacheTo: [registry] }, graph, "control");
    }).toThrow(
      "--cache-to type=registry: this engine keeps images in the overlay2 graph driver, which exports inline cache only; enable the containerd image store (features.containerd-snapshotter in daemon.json) or use --cache-to type=inline",
    );
  });

  it("refuses every export but inline through /build, on any store", () => {
    expect(() => {
      checkCacheSupport({ cacheTo: [registry] }, containerd, "build");
    }).toThrow(/POST \/build, which exports inline cache only/);
    expect(() => {
      checkCacheSupport({ cacheTo: [{ type: "inline", attrs: {} }] }, graph, "build");
    }).not.toThrow();
    expect(() => {
      checkCacheSupport({ cacheTo: [registry] }, containerd, "control");
    }).not.toThrow();
  });

  it("takes registry imports everywhere, local ones only through the Control API", () => {
    expect(() => {
      checkCacheSupport({ cacheFrom: [registry] }, graph, "build");
    }).not.toThrow();
    const local = { type: "local", attrs: { src: "/tmp/c" } };
    expect(() => {
      checkCacheSupport({ cacheFrom: [local] }, graph, "build");
    }).toThrow(/cachefrom takes image refs only/);
    expect(() => {
      checkCacheSupport({ cacheFrom: [local] }, graph, "control");
    }).not.toThrow();
    expect(() => {
      checkCacheSupport({ cacheTo: [{ type: "s3", attrs: {} }] }, containerd, "control");
    }).toThrow(/no Docker Engine has the s3 cache exporter/);
    expect(() => {
      checkCacheSupport({ cacheFrom: [{ type: "gha", attrs: {} }] }, graph, "control");
    }).toThrow(/imports local and registry cache only/);
  });
});

describe("readsTarContext", () => {
  it("is false only for the containerd image store before Docker 28 (moby/moby#47717)", () => {
    expect(readsTarContext(graph)).toBe(true);
    expect(readsTarContext(containerd)).toBe(false);
    expect(readsTarContext({ ...containerd, version: "27.5.1" })).toBe(false);
    expect(readsTarContext({ ...containerd, version: "28.0.0" })).toBe(true);
    expect(readsTarContext({ ...containerd, version: "29.2.1" })).toBe(true);
    expect(readsTarContext({ ...graph, version: "20.10.24" })).toBe(true);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { PushProgress } from "../engine.js";
import {
  BuildkitEngine,
  createPushProgressReader,
  parseBuildkitAddress,
} from "./buildkit-engine.js";
import { describeBuildkitAddress } from "./control-client.js";
import { readPushRefusal, readWorkerStore } from "./read-worker-store.js";

const dir = mkdtempSync(join(tmpdir(), "stagecraft-bk-address-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("parseBuildkitAddress", () => {
  it("reads buildkit+tcp and buildkit+unix addresses, and buildctl's tcp and unix", () => {
    expect(parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234")).toEqual({
      kind: "tcp",
      host: "127.0.0.1",
      port: 1234,
    });
    expect(parseBuildkitAddress("tcp://127.0.0.1:1234")).toEqual(
      parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234"),
    );
    expect(parseBuildkitAddress("buildkit+tcp://[::1]:99")).toMatchObject({
      host: "::1",
      port: 99,
    });
    expect(parseBuildkitAddress("buildkit+unix:///run/buildkit/buildkitd.sock")).toEqual({
      kind: "unix",
      socketPath: "/run/buildkit/buildkitd.sock",
    });
    expect(parseBuildkitAddress("unix:///x.sock")).toEqual({ kind: "unix", socketPath: "/x.sock" });
  });

  it("describes an address with the buildkit+ scheme, so it is never taken for DOCKER_HOST's", () => {
    expect(describeBuildkitAddress(parseBuildkitAddress("unix:///x.sock"))).toBe(
      "buildkit+unix:///x.sock",
    );
    expect(describeBuildkitAddress(parseBuildkitAddress("tcp://[::1]:99"))).toBe(
      "buildkit+tcp://[::1]:99",
    );
  });

  it("refuses another scheme, a tcp address without a port and a unix address without a path", () => {
    expect(() => parseBuildkitAddress("docker-container://buildkitd")).toThrow(
      /"docker-container:\/\/buildkitd" is not a BuildKit address/,
    );
    expect(() => parseBuildkitAddress("buildkit+ssh://me@host")).toThrow(
      /is not a BuildKit address/,
    );
    expect(() => parseBuildkitAddress("buildkit+tcp://127.0.0.1")).toThrow(
      /"buildkit\+tcp:\/\/127.0.0.1" names no port/,
    );
    expect(() => parseBuildkitAddress("buildkit+tcp://127.0.0.1:")).toThrow(/names no port/);
    expect(() => parseBuildkitAddress("buildkit+tcp://127.0.0.1:70000")).toThrow(/names no port/);
    expect(() => parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234/path")).toThrow(
      /is not tcp:\/\/HOST:PORT/,
    );
    expect(() => parseBuildkitAddress("buildkit+unix://")).toThrow(/names no socket/);
  });

  it("reads TLS files at once and names the one it cannot read", () => {
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "CA PEM");
    const address = parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234", { ca });
    expect(address).toMatchObject({ kind: "tcp", tls: { ca: Buffer.from("CA PEM") } });
    expect(describeBuildkitAddress(address)).toBe("buildkit+tcp://127.0.0.1:1234 (TLS)");
    const missing = join(dir, "nope.pem");
    expect(() =>
      parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234", { ca, cert: missing, key: ca }),
    ).toThrow(`cannot read the client certificate ${missing}`);
    expect(() => parseBuildkitAddress("buildkit+tcp://127.0.0.1:1234", { ca, cert: ca })).toThrow(
      /a client certificate needs its key/,
    );
    expect(() => parseBuildkitAddress("buildkit+unix:///x.sock", { ca })).toThrow(
      /is a unix socket, which takes no TLS files/,
    );
  });
});

describe("readWorkerStore", () => {
  it("tells moby's worker, a containerd worker and the OCI worker apart", () => {
    const worker = (labels: Record<string, string>) => ({ id: "w", labels, platforms: [] });
    expect(
      readWorkerStore([
        worker({ "org.mobyproject.buildkit.worker.moby.host-gateway-ip": "172.17.0.1" }),
      ]),
    ).toEqual({ kind: "docker-engine" });
    expect(
      readWorkerStore([
        worker({
          "org.mobyproject.buildkit.worker.executor": "containerd",
          "org.mobyproject.buildkit.worker.containerd.namespace": "k8s.io",
        }),
      ]),
    ).toEqual({ kind: "containerd", namespace: "k8s.io" });
    expect(
      readWorkerStore([worker({ "org.mobyproject.buildkit.worker.executor": "oci" })]),
    ).toEqual({ kind: "none", executor: "oci" });
    expect(readWorkerStore([])).toEqual({ kind: "none", executor: "unknown" });
  });
});

describe("readPushRefusal", () => {
  it("refuses moby's worker on a graph driver, and lets the containerd store's and buildkitd's push", () => {
    const worker = (labels: Record<string, string>) => [{ id: "w", labels, platforms: [] }];
    expect(
      readPushRefusal(
        worker({ "org.mobyproject.buildkit.worker.moby.host-gateway-ip": "172.17.0.1" }),
        "buildkit+unix:///bk.sock",
      ),
    ).toBe(
      `the BuildKit at buildkit+unix:///bk.sock cannot push images: it is a Docker Engine's, which keeps images in a graph driver, and answers an image export with push=true with 'exporter "image" could not be found'`,
    );
    // Labels as Docker 26.1.5 with the containerd image store and buildkitd's workers send them.
    for (const labels of [
      {
        "org.mobyproject.buildkit.worker.moby.host-gateway-ip": "198.18.1.1",
        "org.mobyproject.buildkit.worker.executor": "containerd",
        "org.mobyproject.buildkit.worker.snapshotter": "overlayfs",
      },
      { "org.mobyproject.buildkit.worker.executor": "containerd" },
      { "org.mobyproject.buildkit.worker.executor": "oci" },
    ]) {
      expect(readPushRefusal(worker(labels), "x")).toBeUndefined();
    }
  });
});

describe("createPushProgressReader", () => {
  const line = (id: string, completed: number | null) => ({
    id,
    vertex: "sha256:export",
    name: "",
    current: 0,
    total: 0,
    timestamp: 1,
    started: 1,
    completed,
  });
  const status = (...statuses: ReturnType<typeof line>[]) => ({
    vertexes: [],
    statuses,
    logs: [],
    warnings: [],
  });
  const said = (events: PushProgress[]): string[] =>
    events.map((event) => `${event.layer} ${event.status}`);

  it("says each push step once as it starts and once as it ends, leaving the build's other lines", () => {
    const events: PushProgress[] = [];
    const reader = createPushProgressReader((event) => events.push(event));
    reader.onStatus(status(line("exporting layers", null), line("pushing layers", null)));
    reader.onStatus(status(line("pushing layers", null), line("pushing layers", 2)));
    const manifest = "pushing manifest for r/a:1@sha256:abc";
    reader.onStatus(status(line(manifest, null)));
    reader.onStatus(status(line(manifest, 3)));
    reader.finish();
    expect(said(events)).toEqual([
      "layers Pushing",
      "layers Pushed",
      "manifest Pushing",
      "manifest Pushed",
    ]);
    expect(events[0]).toMatchObject({ current: null, total: null });
  });

  it("does not say a step that failed was pushed: BuildKit ends it alike, the solve says the error", () => {
    const events: PushProgress[] = [];
    const reader = createPushProgressReader((event) => events.push(event));
    reader.onStatus(status(line("pushing layers", null)));
    reader.onStatus(status(line("pushing layers", 2)));
    expect(said(events)).toEqual(["layers Pushing"]);
  });

  it("passes on byte counts should the daemon send them", () => {
    const events: PushProgress[] = [];
    const reader = createPushProgressReader((event) => events.push(event));
    reader.onStatus(status({ ...line("pushing sha256:abc", null), current: 5, total: 10 }));
    expect(events).toEqual([{ layer: "sha256:abc", status: "Pushing", current: 5, total: 10 }]);
  });
});

describe("BuildkitEngine.push", () => {
  it("refuses a tag no build of this engine made, before asking the daemon", async () => {
    const engine = new BuildkitEngine({ address: "buildkit+unix:///nonexistent/bk.sock" });
    await expect(engine.push({ ref: "127.0.0.1:5000/a:1" })).rejects.toMatchObject({
      code: "ENGINE_UNSUPPORTED",
      message:
        "127.0.0.1:5000/a:1 was not built by buildkit+unix:///nonexistent/bk.sock in this run: a buildkitd pushes an image from the build that makes it",
    });
  });
});

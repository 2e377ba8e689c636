import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseBuildkitAddress } from "./buildkit-engine.js";
import { describeBuildkitAddress } from "./control-client.js";
import { readWorkerStore } from "./read-worker-store.js";

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

import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveEngineEndpoint } from "./resolve-endpoint.js";

/** A fake file system: paths to contents; anything else does not exist. */
function files(entries: Record<string, string>) {
  return (path: string): Buffer => {
    const content = entries[path];
    if (content === undefined)
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
    return Buffer.from(content);
  };
}
const none = files({});
const contextId = (name: string) => createHash("sha256").update(name).digest("hex");

describe("resolveEngineEndpoint", () => {
  it("uses the default socket when nothing is configured", () => {
    expect(resolveEngineEndpoint({ HOME: "/home/u" }, none)).toEqual({
      description: "unix:///var/run/docker.sock",
      source: "the default socket",
      transport: { kind: "unix", socketPath: "/var/run/docker.sock" },
    });
  });

  it("takes DOCKER_HOST first: unix, tcp, ssh", () => {
    expect(
      resolveEngineEndpoint({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, none).transport,
    ).toEqual({ kind: "unix", socketPath: "/run/user/1000/docker.sock" });
    expect(resolveEngineEndpoint({ DOCKER_HOST: "tcp://127.0.0.1:2375" }, none)).toMatchObject({
      description: "tcp://127.0.0.1:2375",
      source: "DOCKER_HOST",
      transport: { kind: "tcp", host: "127.0.0.1", port: 2375 },
    });
    expect(
      resolveEngineEndpoint({ DOCKER_HOST: "ssh://builder@example.test" }, none).transport,
    ).toEqual({ kind: "ssh", host: "example.test", user: "builder" });
    // The port only when given: otherwise ssh's own configuration decides.
    expect(
      resolveEngineEndpoint({ DOCKER_HOST: "ssh://example.test:2222" }, none).transport,
    ).toEqual({ kind: "ssh", host: "example.test", port: 2222 });
  });

  it("speaks TLS with DOCKER_TLS_VERIFY and the certificates in DOCKER_CERT_PATH", () => {
    const read = files({
      "/certs/ca.pem": "CA",
      "/certs/cert.pem": "CERT",
      "/certs/key.pem": "KEY",
    });
    const endpoint = resolveEngineEndpoint(
      { DOCKER_HOST: "tcp://127.0.0.1", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" },
      read,
    );
    expect(endpoint.description).toBe("tcp://127.0.0.1:2376 (TLS)");
    expect(endpoint.transport).toMatchObject({ kind: "tcp", host: "127.0.0.1", port: 2376 });
    const tls = endpoint.transport.kind === "tcp" ? endpoint.transport.tls : undefined;
    expect(tls?.ca.toString()).toBe("CA");
    expect(tls?.cert.toString()).toBe("CERT");
    expect(tls?.key.toString()).toBe("KEY");
  });

  it("names the missing TLS file", () => {
    expect(() =>
      resolveEngineEndpoint(
        {
          DOCKER_HOST: "tcp://127.0.0.1:2376",
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: "/nowhere",
        },
        none,
      ),
    ).toThrow("cannot read the TLS file /nowhere/ca.pem");
  });

  it("follows DOCKER_CONTEXT, then the current context of the docker config", () => {
    const home = "/home/u";
    const meta = (name: string, host: string) => ({
      [join(home, ".docker/contexts/meta", contextId(name), "meta.json")]: JSON.stringify({
        Name: name,
        Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
      }),
    });
    const read = files({
      [join(home, ".docker/config.json")]: JSON.stringify({ currentContext: "remote" }),
      ...meta("remote", "tcp://127.0.0.1:23750"),
      ...meta("other", "unix:///var/run/other.sock"),
    });
    expect(resolveEngineEndpoint({ HOME: home }, read)).toMatchObject({
      description: "tcp://127.0.0.1:23750",
      source: 'docker context "remote"',
    });
    expect(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: "other" }, read)).toMatchObject({
      transport: { kind: "unix", socketPath: "/var/run/other.sock" },
      source: 'docker context "other"',
    });
    expect(
      resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: "default" }, read).transport,
    ).toEqual({ kind: "unix", socketPath: "/var/run/docker.sock" });
  });

  it("says how to list contexts when the named one does not exist", () => {
    expect(() => resolveEngineEndpoint({ HOME: "/home/u", DOCKER_CONTEXT: "gone" }, none)).toThrow(
      expect.objectContaining({
        code: "ENGINE_UNREACHABLE",
        message: expect.stringContaining('docker context "gone" not found') as unknown,
        hint: expect.stringContaining("docker context ls") as unknown,
      }) as Error,
    );
  });

  it("rejects an address it cannot use", () => {
    expect(() =>
      resolveEngineEndpoint({ DOCKER_HOST: "npipe:////./pipe/docker_engine" }, none),
    ).toThrow('unsupported engine address "npipe:////./pipe/docker_engine"');
  });
});

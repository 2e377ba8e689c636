import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createSocketServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EngineError } from "../errors.js";
import { WireWriter } from "../progress/protobuf-wire.js";
import { frame } from "./buildkit/grpc-connection.js";
import { DockerEngine } from "./docker-engine.js";

// The answers of Engine 26.1.5 to GET /distribution/{name}/json, as measured on this project's
// machine (Docker Hub unreachable: no DNS; the loopback registries of test/global-setup.ts).
const ANSWERS: Record<string, [number, unknown]> = {
  "/distribution/127.0.0.1:5000/exp/busybox/json": [
    200,
    {
      Descriptor: {
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        digest: `sha256:${"36".repeat(32)}`,
        size: 527,
      },
      Platforms: [{ architecture: "amd64", os: "linux" }],
    },
  ],
  "/distribution/127.0.0.1:5000/absent:1/json": [
    404,
    { message: "manifest unknown: manifest unknown" },
  ],
  "/distribution/stagecraft/absent:1/json": [
    500,
    {
      message:
        'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on …: no such host',
    },
  ],
  "/distribution/127.0.0.1:5001/absent:1/json": [
    500,
    { message: 'Head "http://127.0.0.1:5001/v2/absent/manifests/1": no basic auth credentials' },
  ],
  "/distribution/127.0.0.1:5001/secret:1/json": [
    401,
    { message: "unauthorized: authentication required" },
  ],
};

describe("DockerEngine.inspectDistribution", () => {
  let dir: string;
  let server: Server;
  let engine: DockerEngine;
  const logins: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-distribution-"));
    const socketPath = join(dir, "engine.sock");
    server = createServer((request, response) => {
      logins.push(request.headers["x-registry-auth"] as string | undefined);
      const [status, body] = ANSWERS[request.url ?? ""] ?? [500, { message: "unexpected" }];
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const config = join(dir, "docker");
    mkdirSync(config);
    const basic = Buffer.from("ci:secret").toString("base64");
    writeFileSync(
      join(config, "config.json"),
      JSON.stringify({ auths: { "127.0.0.1:5001": { auth: basic } } }),
    );
    engine = new DockerEngine({
      env: { DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: config },
    });
  });

  afterAll(async () => {
    engine.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("tells found, absent, denied and unreachable apart by the daemon's status and words", async () => {
    expect(await engine.inspectDistribution("127.0.0.1:5000/exp/busybox")).toEqual({
      kind: "found",
      digest: `sha256:${"36".repeat(32)}`,
    });
    expect(await engine.inspectDistribution("127.0.0.1:5000/absent:1")).toEqual({
      kind: "absent",
      message: "manifest unknown: manifest unknown",
    });
    expect(await engine.inspectDistribution("stagecraft/absent:1")).toEqual({
      kind: "unreachable",
      message: expect.stringContaining("lookup registry-1.docker.io") as string,
    });
    expect(await engine.inspectDistribution("127.0.0.1:5001/absent:1")).toMatchObject({
      kind: "denied",
      message: expect.stringContaining("no basic auth credentials") as string,
    });
    expect(await engine.inspectDistribution("127.0.0.1:5001/secret:1")).toEqual({
      kind: "denied",
      message: "unauthorized: authentication required",
    });
  });

  it("sends the docker CLI's login for the image's registry, as a pull would", async () => {
    logins.length = 0;
    await engine.inspectDistribution("127.0.0.1:5001/secret:1");
    const decoded = JSON.parse(Buffer.from(logins[0] ?? "", "base64").toString("utf8")) as Record<
      string,
      string
    >;
    expect(decoded).toMatchObject({
      username: "ci",
      password: "secret",
      serveraddress: "127.0.0.1:5001",
    });
  });
});

describe("DockerEngine.pullImage", () => {
  it("asks POST /images/create for the name and tag or digest, and rejects on the stream's error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-pull-"));
    const socketPath = join(dir, "engine.sock");
    const asked: { url: string; login: string | undefined }[] = [];
    const server = createServer((request, response) => {
      asked.push({
        url: request.url ?? "",
        login: request.headers["x-registry-auth"] as string | undefined,
      });
      response.writeHead(200, { "Content-Type": "application/json" });
      // Engine 26.1's words when a tag is missing: a status line, then the error line.
      const missing = (request.url ?? "").includes("tag=2");
      if ((request.url ?? "").includes("tag=3")) {
        // A registry that wants a login: the engine's error line carries its 401 words.
        response.end(
          `${JSON.stringify({ error: 'Head "http://127.0.0.1:5000/v2/app/manifests/3": unauthorized: authentication required' })}\r\n`,
        );
        return;
      }
      response.end(
        missing
          ? `${JSON.stringify({ status: "Pulling from app" })}\r\n${JSON.stringify({
              errorDetail: { message: "manifest for 127.0.0.1:5000/app:2 not found" },
              error: "manifest for 127.0.0.1:5000/app:2 not found",
            })}\r\n`
          : `${JSON.stringify({ status: "Status: Image is up to date for 127.0.0.1:5000/app:1" })}\r\n`,
      );
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const engine = new DockerEngine({
      env: { DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: dir },
    });
    try {
      await engine.pullImage("127.0.0.1:5000/app:1", { platform: "linux/arm64" });
      const digest = `sha256:${"ab".repeat(32)}`;
      await engine.pullImage(`busybox@${digest}`);
      await expect(engine.pullImage("127.0.0.1:5000/app:2")).rejects.toThrow(
        "the engine could not pull 127.0.0.1:5000/app:2: manifest for 127.0.0.1:5000/app:2 not found",
      );
      const queries = asked.map((entry) => new URL(entry.url, "http://engine").searchParams);
      expect(queries.map((query) => Object.fromEntries(query))).toEqual([
        { fromImage: "127.0.0.1:5000/app", tag: "1", platform: "linux/arm64" },
        { fromImage: "busybox", tag: digest },
        { fromImage: "127.0.0.1:5000/app", tag: "2" },
      ]);
      expect(asked.every((entry) => entry.login !== undefined)).toBe(true);
      // Denied: the fix is a login, not the registry's reachability.
      const denied = await engine.pullImage("127.0.0.1:5000/app:3").then(
        () => undefined,
        (error: unknown) => error as EngineError,
      );
      expect(denied?.message).toContain("unauthorized: authentication required");
      expect(denied?.hint).toBe(
        "Log in to 127.0.0.1:5000 (docker login 127.0.0.1:5000), then build again.",
      );
    } finally {
      engine.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

/** A Unix socket that takes every connection and reads it, and never writes a byte back. */
async function silentEngine(): Promise<{ socket: string; requests: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-silent-"));
  const socket = join(dir, "engine.sock");
  const requests: string[] = [];
  const connections: Socket[] = [];
  const server = createSocketServer((connection) => {
    connections.push(connection);
    connection.on("data", (data: Buffer) => requests.push(data.toString("latin1")));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  cleanups.push(() => {
    for (const connection of connections) connection.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, requests };
}

describe("DockerEngine against an engine that takes the connection and never answers", () => {
  it("gives up the version probe at its time limit, saying the engine did not answer", async () => {
    const { socket, requests } = await silentEngine();
    const engine = new DockerEngine({
      env: { DOCKER_HOST: `unix://${socket}` },
      requestTimeoutMs: 1000,
    });
    const error = await engine.info().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(
      requests.some((request) => request.startsWith("GET /") && request.includes("/version")),
    ).toBe(true);
    expect(error).toMatchObject({ code: "ENGINE_UNRESPONSIVE" });
    expect((error as Error).message).toBe(
      `the engine at unix://${socket} (from DOCKER_HOST) took the connection but did not answer GET /version within 1 s`,
    );
  });

  it("gives it up at once when the caller aborts, with the caller's reason", async () => {
    const { socket } = await silentEngine();
    const engine = new DockerEngine({ env: { DOCKER_HOST: `unix://${socket}` } });
    const controller = new AbortController();
    const asked = engine.info(controller.signal);
    setTimeout(() => {
      controller.abort(new Error("interrupted"));
    }, 50);
    await expect(asked).rejects.toThrow("interrupted");
  });
});

describe("DockerEngine.contentStoreDirs", () => {
  /** An engine on a socket answering /version and /info as Engine 26.1.5 does, with this store. */
  async function engineWith(driverType: string | undefined): Promise<DockerEngine> {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-content-dirs-"));
    const socketPath = join(dir, "engine.sock");
    const server = createServer((request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      const info = {
        Driver: driverType === undefined ? "overlay2" : "overlayfs",
        DriverStatus: driverType === undefined ? [] : [["driver-type", driverType]],
        DockerRootDir: "/srv/engine",
      };
      const version = { Version: "26.1.5", ApiVersion: "1.45", Os: "linux", Arch: "amd64" };
      response.end(JSON.stringify(request.url?.endsWith("/info") === true ? info : version));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const engine = new DockerEngine({ env: { DOCKER_HOST: `unix://${socketPath}` } });
    cleanups.push(() => {
      engine.close();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return engine;
  }

  it("names the content store of dockerd's own containerd under the data root, then the system one", async () => {
    const engine = await engineWith("io.containerd.snapshotter.v1");
    expect(await engine.contentStoreDirs()).toEqual([
      "/srv/engine/containerd/daemon/io.containerd.content.v1.content/blobs",
      "/var/lib/containerd/io.containerd.content.v1.content/blobs",
    ]);
  });

  it("names none for a graph driver or an engine on another machine", async () => {
    expect(await (await engineWith(undefined)).contentStoreDirs()).toEqual([]);
    const remote = new DockerEngine({ env: { DOCKER_HOST: "tcp://127.0.0.1:1" } });
    expect(await remote.contentStoreDirs()).toEqual([]);
    remote.close();
  });
});

describe("DockerEngine.findLayerDirs", () => {
  it("asks the containerd /info names for the mounts of a container it creates, then removes it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-find-layer-dirs-"));
    const calls: string[] = [];
    let created: unknown;
    const engineServer = createServer((request, response) => {
      calls.push(`${request.method ?? ""} ${request.url ?? ""}`);
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        response.writeHead(200, { "Content-Type": "application/json" });
        const url = request.url ?? "";
        if (url.endsWith("/info")) {
          response.end(
            JSON.stringify({
              Driver: "overlayfs",
              DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
              DockerRootDir: join(dir, "no-such-root"),
              Containerd: { Address: join(dir, "c.sock"), Namespaces: { Containers: "ns1" } },
            }),
          );
        } else if (url.startsWith("/containers/create")) {
          created = { type: request.headers["content-type"], body: JSON.parse(body) as unknown };
          response.end(JSON.stringify({ Id: "c1" }));
        } else if (url.startsWith("/containers/c1")) {
          response.end();
        } else {
          response.end(
            JSON.stringify({ Version: "26.1.5", ApiVersion: "1.45", Os: "linux", Arch: "amd64" }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => engineServer.listen(join(dir, "engine.sock"), resolve));
    const asked: { namespace: unknown; path: unknown; request: string }[] = [];
    const containerd = createHttp2Server();
    containerd.on("stream", (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        asked.push({
          namespace: headers["containerd-namespace"],
          path: headers[":path"],
          request: Buffer.concat(chunks).subarray(5).toString("latin1"),
        });
        const answer = new WireWriter(128);
        answer.message(1, (mount) => {
          mount.bytes(1, Buffer.from("overlay"));
          mount.bytes(4, Buffer.from("upperdir=/s/4/fs"));
          mount.bytes(4, Buffer.from("lowerdir=/s/3/fs:/s/2/fs:/s/1/fs"));
        });
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.on("wantTrailers", () => {
          stream.sendTrailers({ "grpc-status": "0" });
        });
        stream.end(frame(answer.finish()));
      });
    });
    await new Promise<void>((resolve) => containerd.listen(join(dir, "c.sock"), resolve));
    const engine = new DockerEngine({ env: { DOCKER_HOST: `unix://${join(dir, "engine.sock")}` } });
    cleanups.push(() => {
      engine.close();
      engineServer.close();
      containerd.close();
      rmSync(dir, { recursive: true, force: true });
    });

    expect(await engine.findLayerDirs("sha256:abc", 2)).toEqual(["/s/1/fs", "/s/2/fs"]);
    expect(created).toMatchObject({
      type: "application/json",
      body: { Image: "sha256:abc", HostConfig: { NetworkMode: "none" } },
    });
    expect(asked).toEqual([
      {
        namespace: "ns1",
        path: "/containerd.services.snapshots.v1.Snapshots/Mounts",
        request: "\n\toverlayfs\u0012\u0002c1",
      },
    ]);
    expect(calls.filter((call) => call.includes("/containers/"))).toEqual([
      expect.stringMatching(/^POST \/containers\/create/) as string,
      "DELETE /containers/c1?force=true&v=true",
    ]);
  });
});

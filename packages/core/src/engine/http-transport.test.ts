import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { Readable, type Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineHttpError, HttpTransport, queryString } from "./http-transport.js";

describe("queryString", () => {
  it("repeats arrays, writes objects as JSON and encodes everything", () => {
    expect(
      queryString({
        version: "2",
        t: ["a:1", "b/c:2"],
        buildargs: { A: "x y", B: "&" },
        dockerfile: "sub dir/Dockerfile",
      }),
    ).toBe(
      "?version=2&t=a%3A1&t=b%2Fc%3A2&buildargs=%7B%22A%22%3A%22x%20y%22%2C%22B%22%3A%22%26%22%7D" +
        "&dockerfile=sub%20dir%2FDockerfile",
    );
    expect(queryString(undefined)).toBe("");
    expect(queryString({})).toBe("");
  });
});

describe("HttpTransport", () => {
  let dir: string;
  let socketPath: string;
  let server: Server;
  const sockets = new Set<Duplex>();
  const seen: {
    method: string | undefined;
    url: string | undefined;
    headers: Record<string, unknown>;
    body?: string;
  }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-http-"));
    socketPath = join(dir, "engine.sock");
    server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body });
        if (request.url === "/version") {
          response.writeHead(200, { "Content-Type": "application/json" });
          response.end(JSON.stringify({ Version: "26.1.5" }));
        } else if (request.url?.startsWith("/build?")) {
          response.writeHead(200);
          response.write('{"stream":"one"}\n');
          response.end('{"stream":"two"}\n');
        } else if (request.url === "/plain-error") {
          response.writeHead(500);
          response.end("something broke\n");
        } else if (request.url === "/empty") {
          response.writeHead(200);
          response.end();
        } else {
          response.writeHead(404, { "Content-Type": "application/json" });
          response.end(JSON.stringify({ message: `no such image: ${request.url ?? ""}` }));
        }
      });
    });
    server.on("upgrade", (request, socket) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers });
      sockets.add(socket);
      if (request.url !== "/session") {
        const body = JSON.stringify({ message: "page not found" });
        socket.end(
          `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        return;
      }
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nhello",
      );
      socket.on("data", (chunk: Buffer) => {
        socket.end(`echo:${chunk.toString()}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  const transport = (): HttpTransport => new HttpTransport({ kind: "unix", socketPath }, {});

  it("reads JSON answers", async () => {
    await expect(transport().json({ method: "GET", path: "/version" })).resolves.toEqual({
      Version: "26.1.5",
    });
    await expect(transport().json({ method: "GET", path: "/empty" })).resolves.toBeUndefined();
  });

  it("keeps the daemon's message and the status of a refused call", async () => {
    const refused = await transport()
      .json({ method: "GET", path: "/images/nope/json" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EngineHttpError);
    expect(refused).toMatchObject({ statusCode: 404, message: "no such image: /images/nope/json" });
    await expect(transport().json({ method: "GET", path: "/plain-error" })).rejects.toMatchObject({
      statusCode: 500,
      message: "something broke",
    });
  });

  it("streams a tar body up and the answer back", async () => {
    const response = await transport().stream({
      method: "POST",
      path: "/build",
      query: { version: "2", t: ["x:1", "y:2"] },
      body: Readable.from([Buffer.from("tar-"), Buffer.from("bytes")]),
    });
    let text = "";
    for await (const chunk of response) text += String(chunk);
    expect(text).toBe('{"stream":"one"}\n{"stream":"two"}\n');
    const call = seen.find((entry) => entry.url?.startsWith("/build?"));
    expect(call).toMatchObject({
      method: "POST",
      url: "/build?version=2&t=x%3A1&t=y%3A2",
      body: "tar-bytes",
    });
    expect(call?.headers["content-type"]).toBe("application/x-tar");
  });

  it("hands over the upgraded connection with the bytes that came with the 101", async () => {
    const socket = await transport().upgrade({
      method: "POST",
      path: "/session",
      headers: { Upgrade: "h2c", "X-Docker-Expose-Session-Grpc-Method": ["/a/B", "/c/D"] },
    });
    socket.write("ping");
    let text = "";
    for await (const chunk of socket) text += String(chunk);
    expect(text).toBe("helloecho:ping");
    const call = seen.find((entry) => entry.url === "/session");
    expect(call?.headers.upgrade).toBe("h2c");
    expect(call?.headers["x-docker-expose-session-grpc-method"]).toBe("/a/B, /c/D");
  });

  it("rejects an upgrade the engine answers with an error", async () => {
    await expect(
      transport().upgrade({ method: "POST", path: "/nothing-here", headers: { Upgrade: "h2c" } }),
    ).rejects.toMatchObject({ statusCode: 404, message: "page not found" });
  });

  it("says which socket error stopped the connection", async () => {
    const nowhere = new HttpTransport({ kind: "unix", socketPath: join(dir, "missing.sock") }, {});
    await expect(nowhere.json({ method: "GET", path: "/version" })).rejects.toMatchObject({
      code: "ENOENT",
      statusCode: undefined,
    });
  });

  it("stops at once when the signal aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(
      transport().stream({ method: "GET", path: "/version", signal: controller.signal }),
    ).rejects.toThrow();
  });

  describe("over ssh", () => {
    // A stand-in for ssh: records its arguments and joins its stdio to the test's socket, as
    // `ssh HOST docker system dial-stdio` joins them to the remote engine's.
    const fakeSsh = (script: string): Record<string, string> => {
      const bin = join(dir, "bin");
      rmSync(bin, { recursive: true, force: true });
      mkdirSync(bin, { recursive: true });
      const path = join(bin, "ssh");
      writeFileSync(path, `#!/bin/sh\n${script}\n`);
      chmodSync(path, 0o755);
      return { PATH: `${bin}:${process.env.PATH ?? ""}` };
    };

    it("runs `ssh -l USER -p PORT -- HOST docker system dial-stdio` per call", async () => {
      const bridge = join(dir, "bridge.mjs");
      writeFileSync(
        bridge,
        `import { connect } from "node:net";
         const socket = connect(${JSON.stringify(socketPath)});
         process.stdin.pipe(socket); socket.pipe(process.stdout);`,
      );
      const argsFile = join(dir, "ssh-args");
      const env = fakeSsh(`echo "$@" >> ${argsFile}\nexec "${process.execPath}" ${bridge}`);
      const ssh = new HttpTransport(
        { kind: "ssh", host: "builder.test", port: 2222, user: "ci" },
        env,
      );
      await expect(ssh.json({ method: "GET", path: "/version" })).resolves.toEqual({
        Version: "26.1.5",
      });
      expect(readFileSync(argsFile, "utf8")).toBe(
        "-o ConnectTimeout=30 -T -l ci -p 2222 -- builder.test docker system dial-stdio\n",
      );
    });

    it("reports what ssh said when it fails", async () => {
      const env = fakeSsh(
        `echo "ssh: connect to host builder.test port 22: Connection refused" >&2\nexit 255`,
      );
      const ssh = new HttpTransport({ kind: "ssh", host: "builder.test" }, env);
      await expect(ssh.json({ method: "GET", path: "/version" })).rejects.toThrow(
        "ssh to builder.test exited with status 255: ssh: connect to host builder.test port 22: Connection refused",
      );
    });
  });

  it("speaks plain HTTP over TCP with the address as Host", async () => {
    const tcp = createServer((request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ host: request.headers.host }));
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const { port } = tcp.address() as AddressInfo;
    try {
      const transport = new HttpTransport({ kind: "tcp", host: "127.0.0.1", port }, {});
      await expect(transport.json({ method: "GET", path: "/version" })).resolves.toEqual({
        host: `127.0.0.1:${port}`,
      });
    } finally {
      tcp.closeAllConnections();
      tcp.close();
    }
  });

  describe("over TLS", () => {
    // docker's TLS: the client checks the engine's certificate against the CA and shows its own.
    const openssl = (args: string[]): void => {
      execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    };
    let tlsServer: HttpsServer;
    let port: number;
    const certs: Record<string, Buffer> = {};

    beforeAll(async () => {
      openssl(
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"].concat([
          "-keyout",
          "ca-key.pem",
          "-out",
          "ca.pem",
          "-subj",
          "/CN=test CA",
        ]),
      );
      for (const [name, extra] of [
        ["server", "subjectAltName=IP:127.0.0.1"],
        ["client", "extendedKeyUsage=clientAuth"],
      ] as const) {
        openssl(
          ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}-key.pem`].concat([
            "-out",
            `${name}.csr`,
            "-subj",
            `/CN=${name}`,
          ]),
        );
        writeFileSync(join(dir, `${name}.ext`), `${extra}\n`);
        openssl(
          ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem"].concat([
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            `${name}.ext`,
            "-out",
            `${name}.pem`,
          ]),
        );
      }
      for (const name of ["ca", "server", "server-key", "client", "client-key"]) {
        certs[name] = readFileSync(join(dir, `${name}.pem`));
      }
      tlsServer = createHttpsServer(
        {
          key: certs["server-key"],
          cert: certs.server,
          ca: certs.ca,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (request, response) => {
          const socket: unknown = request.socket;
          const peer = (socket as TLSSocket).getPeerCertificate();
          response.writeHead(200, { "Content-Type": "application/json" });
          response.end(JSON.stringify({ client: peer.subject.CN }));
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
      port = (tlsServer.address() as AddressInfo).port;
    });

    afterAll(async () => {
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => {
        tlsServer.close(() => {
          resolve();
        });
      });
    });

    it("checks the engine against the CA and shows the client certificate", async () => {
      const tls = {
        ca: required(certs.ca),
        cert: required(certs.client),
        key: required(certs["client-key"]),
      };
      const transport = new HttpTransport({ kind: "tcp", host: "127.0.0.1", port, tls }, {});
      await expect(transport.json({ method: "GET", path: "/version" })).resolves.toEqual({
        client: "client",
      });
    });

    it("refuses an engine whose certificate the CA did not sign", async () => {
      const tls = {
        ca: required(certs.client),
        cert: required(certs.client),
        key: required(certs["client-key"]),
      };
      const transport = new HttpTransport({ kind: "tcp", host: "127.0.0.1", port, tls }, {});
      await expect(transport.json({ method: "GET", path: "/version" })).rejects.toMatchObject({
        statusCode: undefined,
        code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) as unknown,
      });
    });
  });
});

function required(value: Buffer | undefined): Buffer {
  if (value === undefined) throw new Error("certificate missing");
  return value;
}

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer } from "node:tls";

// A standalone BuildKit for tests: after `POST /grpc` with `Upgrade: h2c`, the Docker Engine speaks
// plain gRPC over HTTP/2 as BuildKit's server (moby `api/server/router/grpc`). This proxy listens on
// 127.0.0.1 or a unix socket of its own, upgrades a fresh connection to the engine for every client,
// and passes bytes both ways, so a client sees a buildkitd at buildkit+tcp://127.0.0.1:PORT (plain
// h2c, or TLS with a client certificate) or buildkit+unix:///tmp/…/buildkitd.sock (plain, as
// buildkitd's own unix socket).

/** A running proxy: its address, the TLS files a client needs, and how to stop it. */
export interface BuildkitProxy {
  address: string;
  /** PEM paths of the CA and a client certificate it accepts (TLS proxies only). */
  tls?: { ca: string; cert: string; key: string };
  /** How many client connections it took. */
  connections(): number;
  close(): Promise<void>;
}

/** Opens `/grpc` on the engine socket; resolves with the upgraded connection. */
function upgradeToGrpc(socketPath: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const call = request({
      socketPath,
      method: "POST",
      path: "/grpc",
      headers: { Connection: "Upgrade", Upgrade: "h2c" },
    });
    call.on("upgrade", (_response, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    call.on("response", (response) => {
      reject(new Error(`the engine answered /grpc with HTTP ${response.statusCode}`));
    });
    call.on("error", reject);
    call.end();
  });
}

function pipeThrough(client: Socket, socketPath: string): void {
  client.pause();
  upgradeToGrpc(socketPath).then(
    (engine) => {
      client.pipe(engine);
      engine.pipe(client);
      client.resume();
      const close = (): void => {
        client.destroy();
        engine.destroy();
      };
      client.on("close", close);
      engine.on("close", close);
      client.on("error", close);
      engine.on("error", close);
    },
    () => client.destroy(),
  );
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate with `openssl`. */
function makeCertificates(
  dir: string,
): Record<"ca" | "caKey" | "serverCert" | "serverKey" | "clientCert" | "clientKey", string> {
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { stdio: "ignore" });
  };
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=stagecraft test CA",
    "-keyout",
    path("ca-key.pem"),
    "-out",
    path("ca.pem"),
  );
  writeFileSync(path("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(path("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, subject] of [
    ["server", "/CN=127.0.0.1"],
    ["client", "/CN=stagecraft test client"],
  ] as const) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      subject,
      "-keyout",
      path(`${name}-key.pem`),
      "-out",
      path(`${name}.csr`),
    );
    openssl(
      "x509",
      "-req",
      "-in",
      path(`${name}.csr`),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca-key.pem"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      path(`${name}.ext`),
      "-out",
      path(`${name}.pem`),
    );
  }
  return {
    ca: path("ca.pem"),
    caKey: path("ca-key.pem"),
    serverCert: path("server.pem"),
    serverKey: path("server-key.pem"),
    clientCert: path("client.pem"),
    clientKey: path("client-key.pem"),
  };
}

/**
 * Starts a proxy to the engine's BuildKit on 127.0.0.1: plain h2c, or with `tls: true` TLS (ALPN h2)
 * that requires a client certificate signed by its own CA; with `unix: true` on a unix socket in a
 * directory of its own (plain, no TLS).
 */
export async function startBuildkitProxy(
  options: { tls?: boolean; unix?: boolean; socketPath?: string } = {},
): Promise<BuildkitProxy> {
  const socketPath = options.socketPath ?? "/var/run/docker.sock";
  let count = 0;
  const open = new Set<Socket>();
  const onClient = (client: Socket): void => {
    count += 1;
    open.add(client);
    client.on("close", () => open.delete(client));
    pipeThrough(client, socketPath);
  };
  // `server.close` waits for every connection; a test's client may still hold one.
  const dropClients = (): void => {
    for (const client of open) client.destroy();
  };
  /** Stops listening, drops the clients, and removes the proxy's directory when it has one. */
  const closeWith =
    (server: { close: (done: () => void) => unknown }, dir?: string) => (): Promise<void> =>
      new Promise((resolve) => {
        server.close(() => {
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        dropClients();
      });
  if (options.unix === true) {
    if (options.tls === true)
      throw new Error("the proxy's unix socket is plain, as buildkitd's is");
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-bk-unix-"));
    const path = join(dir, "buildkitd.sock");
    const server = createNetServer(onClient);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, resolve);
    });
    return {
      address: `buildkit+unix://${path}`,
      connections: () => count,
      close: closeWith(server, dir),
    };
  }
  if (options.tls !== true) {
    const server = createNetServer(onClient);
    const port = await listen(server);
    return {
      address: `buildkit+tcp://127.0.0.1:${port}`,
      connections: () => count,
      close: closeWith(server),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-bk-tls-"));
  const files = makeCertificates(dir);
  const server = createTlsServer(
    {
      key: readFileSync(files.serverKey),
      cert: readFileSync(files.serverCert),
      ca: readFileSync(files.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ["h2"],
    },
    onClient,
  );
  const port = await listen(server);
  return {
    address: `buildkit+tcp://127.0.0.1:${port}`,
    tls: { ca: files.ca, cert: files.clientCert, key: files.clientKey },
    connections: () => count,
    close: closeWith(server, dir),
  };
}

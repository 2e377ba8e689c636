import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EngineError } from "../errors.js";
import { readDockerConfig, type DockerConfig } from "./docker-config.js";

/** How to reach an engine, and a description for messages. */
export interface EngineEndpoint {
  /** As the user would write it: `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`, … */
  description: string;
  /** Where this came from: `DOCKER_HOST`, `docker context "x"`, or the default socket. */
  source: string;
  transport: EndpointTransport;
}

/**
 * The connection: a unix socket, TCP (TLS when the certificates are set), or SSH through the
 * user's `ssh` running `docker system dial-stdio` on the remote host (the docker CLI's way).
 */
export type EndpointTransport =
  | { kind: "unix"; socketPath: string }
  | {
      kind: "tcp";
      host: string;
      port: number;
      tls?: { ca: Buffer; cert: Buffer; key: Buffer };
    }
  | { kind: "ssh"; host: string; port?: number; user?: string };

const DEFAULT_SOCKET = "/var/run/docker.sock";

interface ContextMeta {
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

/**
 * Works out which engine to talk to the way the docker CLI does: `DOCKER_HOST` first, then
 * `DOCKER_CONTEXT`, then the current context in the docker config, then the default socket.
 */
export function resolveEngineEndpoint(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
  dockerConfig: () => DockerConfig = () => readDockerConfig(env, readFile),
): EngineEndpoint {
  const host = env.DOCKER_HOST;
  if (host !== undefined && host !== "") {
    const tlsVerify =
      env.DOCKER_TLS_VERIFY !== undefined &&
      env.DOCKER_TLS_VERIFY !== "" &&
      env.DOCKER_TLS_VERIFY !== "0";
    const certPath = env.DOCKER_CERT_PATH ?? join(env.HOME ?? homedir(), ".docker");
    return endpointFromHost(host, "DOCKER_HOST", tlsVerify ? certPath : undefined, readFile);
  }
  const config = dockerConfig();
  const configDir = config.dir;
  let contextName = env.DOCKER_CONTEXT;
  if (contextName === undefined || contextName === "") contextName = config.currentContext;
  if (contextName !== undefined && contextName !== "" && contextName !== "default") {
    const id = createHash("sha256").update(contextName).digest("hex");
    const metaPath = join(configDir, "contexts", "meta", id, "meta.json");
    let meta: ContextMeta;
    try {
      meta = JSON.parse(readFile(metaPath).toString("utf8")) as ContextMeta;
    } catch (error) {
      throw new EngineError(
        "ENGINE_UNREACHABLE",
        `docker context "${contextName}" not found (looked for ${metaPath})`,
        {
          cause: error,
          hint: "Run `docker context ls` to see the contexts, or set DOCKER_HOST to the engine's address.",
        },
      );
    }
    const contextHost = meta.Endpoints?.docker?.Host;
    if (contextHost === undefined || contextHost === "") {
      throw new EngineError(
        "ENGINE_UNREACHABLE",
        `docker context "${contextName}" has no docker endpoint`,
        {
          hint: "Set DOCKER_HOST to the engine's address.",
        },
      );
    }
    const tlsDir = join(configDir, "contexts", "tls", id, "docker");
    let hasTls: boolean;
    try {
      readFile(join(tlsDir, "ca.pem"));
      hasTls = true;
    } catch {
      hasTls = false;
    }
    return endpointFromHost(
      contextHost,
      `docker context "${contextName}"`,
      hasTls ? tlsDir : undefined,
      readFile,
    );
  }
  return {
    description: `unix://${DEFAULT_SOCKET}`,
    source: "the default socket",
    transport: { kind: "unix", socketPath: DEFAULT_SOCKET },
  };
}

function endpointFromHost(
  host: string,
  source: string,
  certDir: string | undefined,
  readFile: (path: string) => Buffer,
): EngineEndpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length) || DEFAULT_SOCKET;
    return { description: `unix://${socketPath}`, source, transport: { kind: "unix", socketPath } };
  }
  let url: URL;
  try {
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch (error) {
    throw new EngineError(
      "ENGINE_UNREACHABLE",
      `cannot parse the engine address "${host}" (from ${source})`,
      {
        cause: error,
        hint: "Use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST.",
      },
    );
  }
  if (url.protocol === "ssh:") {
    return {
      description: host,
      source,
      transport: {
        kind: "ssh",
        host: url.hostname,
        ...(url.port === "" ? {} : { port: Number(url.port) }),
        ...(url.username === "" ? {} : { user: decodeURIComponent(url.username) }),
      },
    };
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:" && url.protocol !== "https:") {
    throw new EngineError(
      "ENGINE_UNREACHABLE",
      `unsupported engine address "${host}" (from ${source})`,
      {
        hint: "Use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST.",
      },
    );
  }
  const port = url.port === "" ? (certDir === undefined ? 2375 : 2376) : Number(url.port);
  if (certDir === undefined) {
    return {
      description: `tcp://${url.hostname}:${port}`,
      source,
      transport: { kind: "tcp", host: url.hostname, port },
    };
  }
  const read = (name: string): Buffer => {
    const path = join(certDir, name);
    try {
      return readFile(path);
    } catch (error) {
      throw new EngineError("ENGINE_UNREACHABLE", `cannot read the TLS file ${path} for ${host}`, {
        cause: error,
        hint: "Set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem.",
      });
    }
  };
  return {
    description: `tcp://${url.hostname}:${port} (TLS)`,
    source,
    transport: {
      kind: "tcp",
      host: url.hostname,
      port,
      tls: { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") },
    },
  };
}

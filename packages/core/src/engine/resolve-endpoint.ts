import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EngineError } from "../errors.js";

/** How to reach an engine: docker-modem's connection options, and a description for messages. */
export interface EngineEndpoint {
  /** As the user would write it: `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`, … */
  description: string;
  /** Where this came from: `DOCKER_HOST`, `docker context "x"`, or the default socket. */
  source: string;
  options: EndpointOptions;
}

/** The subset of docker-modem's constructor options stagecraft sets. */
export interface EndpointOptions {
  socketPath?: string;
  host?: string;
  port?: number | string;
  protocol?: "http" | "https" | "ssh";
  username?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  sshOptions?: { agent?: string | undefined };
}

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
): EngineEndpoint {
  const host = env.DOCKER_HOST;
  if (host !== undefined && host !== "") {
    const tlsVerify =
      env.DOCKER_TLS_VERIFY !== undefined &&
      env.DOCKER_TLS_VERIFY !== "" &&
      env.DOCKER_TLS_VERIFY !== "0";
    const certPath = env.DOCKER_CERT_PATH ?? join(env.HOME ?? homedir(), ".docker");
    return endpointFromHost(host, "DOCKER_HOST", tlsVerify ? certPath : undefined, env, readFile);
  }
  const configDir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker");
  let contextName = env.DOCKER_CONTEXT;
  if (contextName === undefined || contextName === "") {
    try {
      const config = JSON.parse(readFile(join(configDir, "config.json")).toString("utf8")) as {
        currentContext?: string;
      };
      contextName = config.currentContext;
    } catch {
      contextName = undefined;
    }
  }
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
      env,
      readFile,
    );
  }
  return {
    description: `unix://${DEFAULT_SOCKET}`,
    source: "the default socket",
    options: { socketPath: DEFAULT_SOCKET },
  };
}

function endpointFromHost(
  host: string,
  source: string,
  certDir: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Buffer,
): EngineEndpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length) || DEFAULT_SOCKET;
    return { description: `unix://${socketPath}`, source, options: { socketPath } };
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
      options: {
        protocol: "ssh",
        host: url.hostname,
        port: url.port === "" ? 22 : Number(url.port),
        ...(url.username === "" ? {} : { username: url.username }),
        sshOptions: { agent: env.SSH_AUTH_SOCK },
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
      options: { protocol: "http", host: url.hostname, port },
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
    options: {
      protocol: "https",
      host: url.hostname,
      port,
      ca: read("ca.pem"),
      cert: read("cert.pem"),
      key: read("key.pem"),
    },
  };
}

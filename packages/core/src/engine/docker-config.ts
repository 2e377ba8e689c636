import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { SessionCredentials } from "./engine.js";

/** What stagecraft reads of the Docker CLI's `config.json`: the current context and registry logins. */
export interface DockerConfig {
  /** The directory: `$DOCKER_CONFIG`, else `~/.docker`. */
  dir: string;
  /** `currentContext`, when set. */
  currentContext: string | undefined;
  /** `auths.*.auth` (base64 `user:secret`), by registry host. */
  credentials: SessionCredentials;
  /** `credsStore`: the helper (`docker-credential-<name>`) that holds every other login. */
  credsStore: string | undefined;
  /** `credHelpers`: a helper per registry host. */
  credHelpers: Readonly<Record<string, string>>;
}

/**
 * Reads the Docker CLI's config once (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`); a
 * missing or unreadable file is an empty config, as it is for the docker CLI.
 */
export function readDockerConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): DockerConfig {
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker");
  let raw: {
    currentContext?: unknown;
    auths?: Record<string, { auth?: unknown } | undefined>;
    credsStore?: unknown;
    credHelpers?: unknown;
  };
  try {
    raw = JSON.parse(readFile(join(dir, "config.json")).toString("utf8")) as typeof raw;
  } catch {
    raw = {};
  }
  const credentials: Record<string, { username: string; secret: string }> = {};
  for (const [key, entry] of Object.entries(raw.auths ?? {})) {
    if (typeof entry?.auth !== "string" || entry.auth === "") continue;
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) continue;
    const host = registryHost(key);
    const login = { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
    credentials[host] = login;
    // Docker Hub logins are stored under index.docker.io; BuildKit asks for registry-1.docker.io.
    if (host === "index.docker.io") {
      credentials["registry-1.docker.io"] = login;
      credentials["docker.io"] = login;
    }
  }
  const helpers: Record<string, string> = {};
  if (typeof raw.credHelpers === "object" && raw.credHelpers !== null) {
    for (const [host, helper] of Object.entries(raw.credHelpers as Record<string, unknown>)) {
      if (typeof helper === "string" && helper !== "") helpers[registryHost(host)] = helper;
    }
  }
  return {
    dir,
    currentContext:
      typeof raw.currentContext === "string" && raw.currentContext !== ""
        ? raw.currentContext
        : undefined,
    credentials,
    credsStore:
      typeof raw.credsStore === "string" && raw.credsStore !== "" ? raw.credsStore : undefined,
    credHelpers: helpers,
  };
}

/** `https://index.docker.io/v1/` → `index.docker.io`: config keys may be URLs. */
function registryHost(key: string): string {
  return key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
}

import type { DockerConfig } from "./docker-config.js";

/** A registry login as the engine takes it in `X-Registry-Auth` (moby `registry.AuthConfig`). */
export interface RegistryLogin {
  username?: string;
  password?: string;
  /** A token from `docker login` with an identity token (helpers answer Username `<token>`). */
  identitytoken?: string;
  serveraddress: string;
}

/** Where a login came from, for diagnostics: a config file entry, a helper, or none. */
export type LoginSource = "auths" | `helper:${string}` | "none";

/** Runs `docker-credential-NAME get` with the host on stdin; resolves with stdout, rejects on failure. */
export type CredentialHelperRunner = (helper: string, host: string) => Promise<string>;

/**
 * The registry host of an image reference, as docker reads it: the first path component when it has
 * a `.` or `:` or is `localhost`, else Docker Hub (`docker.io`).
 */
export function registryOfReference(ref: string): string {
  const slash = ref.indexOf("/");
  if (slash === -1) return "docker.io";
  const first = ref.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    return first === "index.docker.io" ? "docker.io" : first;
  }
  return "docker.io";
}

/**
 * Finds the login for a registry the way the docker CLI does: `credHelpers[host]`, then
 * `credsStore`, then `auths` in config.json. A helper that has no entry (or fails) leaves the
 * file's entry, then anonymous.
 */
export async function resolveRegistryLogin(
  host: string,
  config: DockerConfig,
  runHelper: CredentialHelperRunner = runCredentialHelper,
): Promise<{ login: RegistryLogin; source: LoginSource }> {
  // Docker Hub logins are stored under https://index.docker.io/v1/, and helpers are asked that URL.
  const serverAddress = host === "docker.io" ? "https://index.docker.io/v1/" : host;
  const helper = config.credHelpers[host] ?? config.credsStore;
  if (helper !== undefined) {
    const answer = await runHelper(helper, serverAddress).then(
      (stdout) => parseHelperAnswer(stdout),
      () => undefined,
    );
    if (answer !== undefined) {
      const login: RegistryLogin =
        answer.Username === "<token>"
          ? { identitytoken: answer.Secret, serveraddress: serverAddress }
          : { username: answer.Username, password: answer.Secret, serveraddress: serverAddress };
      return { login, source: `helper:${helper}` };
    }
  }
  const entry = config.credentials[host];
  if (entry !== undefined) {
    return {
      login: { username: entry.username, password: entry.secret, serveraddress: serverAddress },
      source: "auths",
    };
  }
  return { login: { serveraddress: serverAddress }, source: "none" };
}

/**
 * `X-Registry-Auth`: the login as JSON in Go's `base64.URLEncoding`, which is URL-safe *with*
 * `=` padding (moby `registry.DecodeAuthConfig`); Node's `base64url` drops the padding, and the
 * daemon then reads no login at all ("no basic auth credentials").
 */
export function encodeRegistryLogin(login: RegistryLogin): string {
  return Buffer.from(JSON.stringify(login), "utf8")
    .toString("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

function parseHelperAnswer(stdout: string): { Username: string; Secret: string } | undefined {
  try {
    const parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
    if (typeof parsed.Username !== "string" || typeof parsed.Secret !== "string") return undefined;
    return { Username: parsed.Username, Secret: parsed.Secret };
  } catch {
    return undefined;
  }
}

/** The docker credential-helper protocol: `docker-credential-NAME get`, the server URL on stdin. */
export async function runCredentialHelper(
  helper: string,
  host: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string> {
  // Loaded on first use: node:child_process costs every command ~2 ms of CPU at start-up, and
  // only a login kept by a credential helper needs it.
  const { spawn } = await import("node:child_process");
  return await new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, ["get"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      // "credentials not found in native keychain" comes on stdout with exit 1.
      if (code === 0) resolve(stdout);
      else reject(new Error(`docker-credential-${helper} get: ${(stdout || stderr).trim()}`));
    });
    child.stdin.end(host);
  });
}

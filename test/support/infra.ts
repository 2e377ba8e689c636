// The real parts integration tests use beside the main engine: the registries started by
// docker/start-registry.sh and the extra engines started by docker/start-engine.sh (.ci/setup and the
// global set-up start the ones named in TEST_PARTS). Every getter checks that its part answers and throws
// an InfraMissingError naming the command that starts it: a test that needs a part never skips.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { TEST_LABEL } from "./engine.js";

/** The directories and ports the docker/ scripts use (their defaults, or the same variables they read). */
const RUN_DIR = process.env.STAGECRAFT_RUN_DIR ?? "/run/stagecraft";
const STATE_DIR = process.env.STAGECRAFT_STATE_DIR ?? "/var/lib/stagecraft";
const REGISTRY_PORT = process.env.STAGECRAFT_REGISTRY_PORT ?? "5000";
const AUTH_REGISTRY_PORT = process.env.STAGECRAFT_AUTH_REGISTRY_PORT ?? "5001";

/** The extra engines the integration tests rely on, with the flags `docker/start-engine.sh` gets. */
export const TEST_ENGINES = {
  /**
   * An engine with the containerd image store (registry and local cache export work there), with
   * outbound NAT so its RUN steps reach the Debian archive and npm (examples/node-service builds cold
   * there), and the seeded Debian image.
   */
  containerdStore: { name: "c8d", flags: ["--containerd-store", "--nat", "--seed-debian"] },
  /** Two plain graph-driver engines: with the main one, three engines for the pool tests. */
  pool: [
    { name: "pool1", flags: [] },
    { name: "pool2", flags: [] },
  ],
} as const;

/** A part of the test infrastructure is not there; the message says how to start it. */
export class InfraMissingError extends Error {
  constructor(what: string, command: string, options: { cause?: unknown } = {}) {
    super(`${what}. Start it with \`${command}\` (as root), or run \`bash .ci/setup\`.`, options);
    this.name = "InfraMissingError";
  }
}

/** The user the auth registry accepts. */
export interface RegistryCredentials {
  /** `host:port`, as `docker login` and image references write it. */
  registry: string;
  username: string;
  password: string;
}

/** An extra engine started by docker/start-engine.sh, as it describes itself in `NAME.json`. */
export interface ExtraEngine {
  name: string;
  /** The engine's `DOCKER_HOST` (`unix:///run/stagecraft/engines/NAME.sock`). */
  host: string;
  socketPath: string;
  version: string;
  containerdStore: boolean;
  /** The image store `GET /info` reports (`io.containerd.snapshotter.v1`, `overlay2`). */
  storage: string;
  /** The CPU cap, or null when the engine is not capped. */
  cpus: number | null;
  /** Whether its RUN steps and containers reach other hosts (`start-engine.sh --nat`). */
  nat: boolean;
  /** Its own bridge interface (`sc-NAME`) and the subnet its containers and RUN steps get. */
  bridge: string;
  subnet: string;
  /** A dockerode client for this engine. */
  docker: Docker;
}

async function getV2(port: string, authorization?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v2/`, {
    headers: authorization === undefined ? {} : { authorization },
    signal: AbortSignal.timeout(5_000),
  });
}

/** The plain registry's `host:port` (127.0.0.1:5000), once its `/v2/` answers 200. */
export async function registryAddress(): Promise<string> {
  const address = `127.0.0.1:${REGISTRY_PORT}`;
  let status: number;
  try {
    status = (await getV2(REGISTRY_PORT)).status;
  } catch (error) {
    throw new InfraMissingError(
      `No registry answers at http://${address}/v2/`,
      "bash docker/start-registry.sh",
      { cause: error },
    );
  }
  if (status !== 200) {
    throw new InfraMissingError(
      `The registry at http://${address}/v2/ answered ${status}, not 200 (is it the plain one?)`,
      "bash docker/start-registry.sh",
    );
  }
  return address;
}

/** The auth registry's address and its user, read from the file docker/start-registry.sh writes. */
export async function authRegistry(): Promise<RegistryCredentials> {
  const file = join(STATE_DIR, "registry", "auth", "credentials.json");
  let credentials: RegistryCredentials;
  try {
    credentials = JSON.parse(readFileSync(file, "utf8")) as RegistryCredentials;
  } catch (error) {
    throw new InfraMissingError(
      `The auth registry's credentials file ${file} cannot be read`,
      "bash docker/start-registry.sh",
      { cause: error },
    );
  }
  if (credentials.registry !== `127.0.0.1:${AUTH_REGISTRY_PORT}`) {
    throw new InfraMissingError(
      `${file} is for ${credentials.registry}, not 127.0.0.1:${AUTH_REGISTRY_PORT}`,
      "bash docker/start-registry.sh",
    );
  }
  let challenge: string | null;
  try {
    challenge = (await getV2(AUTH_REGISTRY_PORT)).headers.get("www-authenticate");
  } catch (error) {
    throw new InfraMissingError(
      `No registry answers at http://${credentials.registry}/v2/`,
      "bash docker/start-registry.sh",
      { cause: error },
    );
  }
  if (challenge?.startsWith("Basic ") !== true) {
    throw new InfraMissingError(
      `The registry at http://${credentials.registry}/v2/ asks for no basic auth (WWW-Authenticate: ${challenge ?? "none"})`,
      "bash docker/start-registry.sh",
    );
  }
  return credentials;
}

/** The value of an `Authorization: Basic …` header for these credentials. */
export function basicAuth(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/** The unix socket docker/start-engine.sh gives engine NAME. */
export function extraEngineSocket(name: string): string {
  return join(RUN_DIR, "engines", `${name}.sock`);
}

/** The extra engine NAME, once it answers `/_ping`. */
export async function extraEngine(name: string): Promise<ExtraEngine> {
  const described = [TEST_ENGINES.containerdStore, ...TEST_ENGINES.pool].find(
    (engine) => engine.name === name,
  );
  const command = `bash docker/start-engine.sh ${name}${described === undefined ? "" : described.flags.map((flag) => ` ${flag}`).join("")}`;
  const file = join(RUN_DIR, "engines", `${name}.json`);
  let description: Omit<ExtraEngine, "docker" | "socketPath">;
  try {
    description = JSON.parse(readFileSync(file, "utf8")) as typeof description;
  } catch (error) {
    throw new InfraMissingError(`Engine ${name} is not running (no ${file})`, command, {
      cause: error,
    });
  }
  const socketPath = description.host.replace(/^unix:\/\//, "");
  const docker = new Docker({ socketPath });
  try {
    await docker.ping();
  } catch (error) {
    throw new InfraMissingError(
      `Engine ${name} does not answer at ${description.host}`,
      `bash docker/stop-engines.sh ${name} && ${command}`,
      { cause: error },
    );
  }
  return { ...description, socketPath, docker };
}

/** The extra engines of TEST_ENGINES.pool (two), each checked as `extraEngine` does. */
export async function poolEngines(): Promise<ExtraEngine[]> {
  return Promise.all(TEST_ENGINES.pool.map((engine) => extraEngine(engine.name)));
}

/** Removes the containers and images labelled `label` on an engine (default: the test label). */
export async function removeLabelled(docker: Docker, label: string = TEST_LABEL): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const images = await docker.listImages({ filters: { label: [label] } });
  await Promise.all(
    images.map((image) =>
      docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/**
 * Deletes every tag of `repository` from a registry (by deleting the manifests they point to) and
 * returns how many manifests it deleted; a repository the registry does not know deletes nothing.
 * Blobs stay until the registry's garbage collection; tests only need the names gone.
 */
export async function deleteRepositoryTags(
  registry: string,
  repository: string,
  credentials?: RegistryCredentials,
): Promise<number> {
  const headers: Record<string, string> =
    credentials === undefined ? {} : { authorization: basicAuth(credentials) };
  const base = `http://${registry}/v2/${repository}`;
  const list = await fetch(`${base}/tags/list`, { headers });
  if (list.status === 404) return 0;
  if (!list.ok) {
    throw new Error(`GET ${base}/tags/list answered ${list.status}: ${await list.text()}`);
  }
  const tags = ((await list.json()) as { tags: string[] | null }).tags ?? [];
  const digests = new Set<string>();
  for (const tag of tags) {
    const head = await fetch(`${base}/manifests/${tag}`, {
      method: "HEAD",
      headers: { ...headers, accept: MANIFEST_TYPES },
    });
    const digest = head.headers.get("docker-content-digest");
    if (head.ok && digest !== null) digests.add(digest);
  }
  let deleted = 0;
  for (const digest of digests) {
    const response = await fetch(`${base}/manifests/${digest}`, { method: "DELETE", headers });
    if (response.status === 202) deleted += 1;
    else if (response.status !== 404) {
      throw new Error(
        `DELETE ${base}/manifests/${digest} answered ${response.status}: ${await response.text()}`,
      );
    }
  }
  return deleted;
}

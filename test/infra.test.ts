// The real parts other integration tests build on (docker/start-registry.sh, docker/start-engine.sh):
// each used once the way those tests will use it.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type Docker from "dockerode";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, TEST_LABEL, docker, makeProject, runInImage } from "./support/engine.js";
import {
  TEST_ENGINES,
  authRegistry,
  deleteRepositoryTags,
  extraEngine,
  poolEngines,
  registryAddress,
  removeLabelled,
  type RegistryCredentials,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const repository = `stagecraft-it/infra-smoke-${id}`;
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/**
 * Builds a Dockerfile with the stagecraft CLI on an engine (the main one when `host` is undefined) and
 * tags it. The context goes through a session (FileSync): Docker 26.1's containerd-store engines cannot
 * read a context uploaded as the /build body ("failed to read downloaded context: … lookup
 * build-context-…: no such host"; moby's snapshotter controller never gets the request-body transport).
 */
async function buildOn(host: string | undefined, dockerfile: string, tag: string): Promise<void> {
  const project = makeProject({ Dockerfile: dockerfile });
  try {
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "--context-transfer",
        "session",
        "--no-cache",
        "--progress",
        "plain",
        "--label",
        TEST_LABEL,
        "-t",
        tag,
      ],
      { env: { DOCKER_HOST: host } },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
  } finally {
    project.remove();
  }
}

interface ProgressEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Digest?: string };
}

/** Follows a push or pull stream to its end; rejects with the daemon's own words on an error line. */
async function follow(on: Docker, stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  const events = await new Promise<ProgressEvent[]>((resolve, reject) => {
    on.modem.followProgress(stream, (error: Error | null, result: ProgressEvent[]) => {
      if (error) reject(error);
      else resolve(result);
    });
  });
  const failure = events.find((event) => event.errorDetail !== undefined || event.error);
  if (failure) throw new Error(failure.errorDetail?.message ?? failure.error);
  return events;
}

async function push(ref: string, credentials?: RegistryCredentials): Promise<string> {
  // The daemon wants an X-Registry-Auth header even when there is nothing in it (400 otherwise).
  const authconfig =
    credentials === undefined
      ? {}
      : {
          username: credentials.username,
          password: credentials.password,
          serveraddress: credentials.registry,
        };
  const events = await follow(docker, await docker.getImage(ref).push({ authconfig }));
  const digest = events.find((event) => event.aux?.Digest !== undefined)?.aux?.Digest;
  if (digest === undefined) throw new Error(`pushing ${ref} reported no digest`);
  return digest;
}

/** `docker login` with the docker CLI, in a config directory of its own. */
function dockerLogin(credentials: RegistryCredentials, password: string) {
  const config = mkdtempSync(join(tmpdir(), "stagecraft-it-login-"));
  try {
    const run = spawnSync(
      "docker",
      [
        "--config",
        config,
        "login",
        credentials.registry,
        "--username",
        credentials.username,
        "--password-stdin",
      ],
      { input: password, encoding: "utf8", timeout: 60_000 },
    );
    let saved: unknown = null;
    try {
      saved = JSON.parse(readFileSync(join(config, "config.json"), "utf8"));
    } catch {
      // No config written: the login failed.
    }
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, saved };
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/** Whether a dotted IPv4 address lies in a CIDR subnet. */
function inSubnet(address: string, cidr: string): boolean {
  const toNumber = (ip: string) =>
    ip.split(".").reduce((value, part) => value * 256 + Number(part), 0);
  const [network = "", bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(network) / size);
}

/** The IPv4 address of eth0 that a RUN step saw, written to /addr by ADDRESS_STEP. */
const ADDRESS_STEP =
  "RUN ip -4 -o addr show eth0 | awk '{ split($4, a, \"/\"); print a[1] }' > /addr";

describe("the registries and extra engines the integration tests use", () => {
  it("pushes to the plain registry; the containerd-store engine pulls it by digest and runs it", async () => {
    const registry = await registryAddress();
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const ref = `${registry}/${repository}:pushed`;
    await buildOn(
      undefined,
      `FROM ${BUSYBOX}\nRUN echo pushed-${id} > /id\nCMD ["cat", "/id"]\n`,
      ref,
    );
    cleanups.push(() => docker.getImage(ref).remove({ force: true }));
    const digest = await push(ref);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    cleanups.push(() => deleteRepositoryTags(registry, repository));

    const byDigest = `${registry}/${repository}@${digest}`;
    await follow(c8d.docker, await c8d.docker.pull(byDigest));
    cleanups.push(() => c8d.docker.getImage(byDigest).remove({ force: true }));
    const pulled = await c8d.docker.getImage(byDigest).inspect();
    expect(pulled.RepoDigests).toContain(byDigest);
    expect(await runInImage(byDigest, [], c8d.docker)).toBe(`pushed-${id}\n`);

    // The clean-up helper: the tag is gone from the registry afterwards.
    expect(await deleteRepositoryTags(registry, repository)).toBe(1);
    const tags = await fetch(`http://${registry}/v2/${repository}/tags/list`);
    expect(((await tags.json()) as { tags: string[] | null }).tags ?? []).toEqual([]);
  });

  it("logs in to the auth registry with its password and refuses a wrong one with 401", async () => {
    const credentials = await authRegistry();
    const good = dockerLogin(credentials, credentials.password);
    expect(good.stdout + good.stderr).toContain("Login Succeeded");
    expect(good.status).toBe(0);
    expect(good.saved).toMatchObject({ auths: { [credentials.registry]: {} } });

    const bad = dockerLogin(credentials, `${credentials.password}-wrong`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("401 Unauthorized");
  });

  it("the auth registry refuses a push without credentials and takes one with them", async () => {
    const credentials = await authRegistry();
    const ref = `${credentials.registry}/${repository}:auth`;
    await docker
      .getImage(BUSYBOX)
      .tag({ repo: `${credentials.registry}/${repository}`, tag: "auth" });
    cleanups.push(() => docker.getImage(ref).remove({ force: true }));

    await expect(push(ref)).rejects.toThrow(/no basic auth credentials/);
    expect(await push(ref, credentials)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await deleteRepositoryTags(credentials.registry, repository, credentials)).toBe(1);
  });

  it("the containerd-store engine keeps images in containerd (GET /info)", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const info = (await c8d.docker.info()) as { DriverStatus: [string, string][] };
    expect(info.DriverStatus).toContainEqual(["driver-type", "io.containerd.snapshotter.v1"]);
    expect(c8d.containerdStore).toBe(true);
  });

  it("each extra engine builds a RUN step on a bridge of its own", async () => {
    const engines = [
      await extraEngine(TEST_ENGINES.containerdStore.name),
      ...(await poolEngines()),
    ];
    expect(new Set(engines.map((engine) => engine.subnet)).size).toBe(engines.length);
    for (const engine of engines) {
      cleanups.push(() => removeLabelled(engine.docker));
      const tag = `stagecraft-it/infra-run-${engine.name}:${id}`;
      await buildOn(engine.host, `FROM ${BUSYBOX}\n${ADDRESS_STEP}\n`, tag);
      const address = (await runInImage(tag, ["cat", "/addr"], engine.docker)).trim();
      expect(
        inSubnet(address, engine.subnet),
        `${engine.name}: ${address} in ${engine.subnet}`,
      ).toBe(true);
    }
  });

  it("the containerd-store engine's RUN steps reach the Debian archive (--nat), as the main engine's do", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    expect(c8d.nat).toBe(true);
    cleanups.push(() => removeLabelled(c8d.docker));
    // A RUN step that fetches the archive's package lists over TCP: a container that only starts is
    // not enough to show the route out (the step fails without the engine's MASQUERADE and FORWARD
    // rules). The seeded Debian image, on both engines (--seed-debian); busybox's wget crashes on c8d.
    const fetchStep = 'RUN apt-get -q update && test -n "$(ls /var/lib/apt/lists/*_Packages*)"';
    for (const [host, name] of [
      [c8d.host, c8d.name],
      [undefined, "main"],
    ] as const) {
      await buildOn(
        host,
        `FROM stagecraft/debian:bookworm\n${fetchStep}\n`,
        `stagecraft-it/infra-nat-${name}:${id}`,
      );
    }
    cleanups.push(() =>
      docker.getImage(`stagecraft-it/infra-nat-main:${id}`).remove({ force: true }),
    );
  });

  it("the main engine's RUN steps still get its bridge network afterwards", async () => {
    const bridge = (await docker.getNetwork("bridge").inspect()) as {
      IPAM: { Config: { Subnet: string }[] };
    };
    const subnet = bridge.IPAM.Config[0]?.Subnet ?? "";
    const tag = `stagecraft-it/infra-run-main:${id}`;
    cleanups.push(() => docker.getImage(tag).remove({ force: true }));
    await buildOn(undefined, `FROM ${BUSYBOX}\n${ADDRESS_STEP}\n`, tag);
    const address = (await runInImage(tag, ["cat", "/addr"])).trim();
    expect(inSubnet(address, subnet), `${address} in ${subnet}`).toBe(true);
  });
});

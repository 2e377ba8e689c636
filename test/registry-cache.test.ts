// The CI story of issue 13: a registry cache (mode=max) made on the containerd-store engine serves a
// rebuild after the engine lost its images and build cache, every step of every stage included, with
// the bases pinned through the default mirror.
// The first proof's RUN steps only write files; the second builds examples/node-service itself,
// whose apt and npm steps need c8d's outbound NAT (docker/start-engine.sh --nat).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { BUSYBOX, makeProject } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";
import {
  TEST_ENGINES,
  authRegistry,
  deleteRepositoryTags,
  extraEngine,
  registryAddress,
  removeLabelled,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const LABEL = ["--label", "org.stagecraft.test=1"];
const cleanups: (() => Promise<unknown>)[] = [];

/** Runs `remove` after the file's tests. */
function removeLater(remove: () => void): void {
  cleanups.push(() => {
    remove();
    return Promise.resolve();
  });
}

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Report {
  cache: {
    from: string[];
    to: string[];
    pinned?: { reference: string; pinned: string; found?: "config" | "layers" }[];
    unpinned?: { reference: string; reason: string }[];
    misses: { target: string; reason: string }[];
  } | null;
  targets: {
    target: string;
    status: string;
    stepsRun: number;
    stepsCached: number;
    sizeComparison?: { from: string } | null;
  }[];
  stages: { stage: string; status: string; steps: number; stepsRun: number; stepsCached: number }[];
  unmeasuredStages?: { stage: string; reason: string }[];
}

/** Three stages, two targets: `deps` is built for both and is no target (only mode=max keeps it). */
const DOCKERFILE = [
  `FROM ${BUSYBOX} AS deps`,
  `RUN echo deps-${id} > /deps`,
  "RUN cp /deps /deps.copy",
  "FROM deps AS test",
  "RUN cat /deps.copy > /test-result",
  `FROM ${BUSYBOX} AS app`,
  "COPY --from=deps /deps /app/deps",
  `RUN echo app-${id} > /app/id`,
  "",
].join("\n");

function emptyDockerConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-it-config-"));
  writeFileSync(join(dir, "config.json"), "{}");
  removeLater(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe("pins across image stores", () => {
  // The graph driver and the containerd store push one image under different manifest digests;
  // the second engine finds the base in the mirror and takes the first one's digest, pushing nothing.
  it.each([
    ["the main engine (overlay2), then c8d", "main", "c8d", "plain"],
    ["c8d, then the main engine (overlay2)", "c8d", "main", "plain"],
    // The mirror is read with the login the push sends (auths of config.json).
    ["the main engine, then c8d, through the htpasswd registry", "main", "c8d", "auth"],
  ] as const)(
    "pinning from %s gives one digest",
    async (_, first, second, kind) => {
      const auth = kind === "auth" ? await authRegistry() : undefined;
      const registry = auth?.registry ?? (await registryAddress());
      const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
      const project = makeProject({
        Dockerfile: `FROM ${BUSYBOX}\nRUN echo pins-${id}-${first}-${kind} > /id\n`,
      });
      removeLater(project.remove);
      // A mirror of its own: a base another test pushed to the default mirror would be found at once.
      const mirror = `${registry}/stagecraft-it-pins-${id}-${first}`;
      cleanups.push(() =>
        deleteRepositoryTags(
          registry,
          `${mirror.slice(registry.length + 1)}/stagecraft/busybox`,
          auth,
        ),
      );
      cleanups.push(() => removeLabelled(c8d.docker));
      const config = emptyDockerConfig();
      if (auth !== undefined) {
        const basic = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
        writeFileSync(
          join(config, "config.json"),
          JSON.stringify({ auths: { [auth.registry]: { auth: basic } } }),
        );
      }
      const pin = async (engine: "main" | "c8d"): Promise<Report> => {
        const reportFile = join(project.dir, `${engine}.json`);
        const run = await runStagecraft(
          [
            "build",
            project.dir,
            ...LABEL,
            "--pin-bases",
            mirror,
            "--progress",
            "plain",
            "--report",
            reportFile,
          ],
          {
            env: {
              DOCKER_CONFIG: config,
              ...(engine === "c8d" ? { DOCKER_HOST: c8d.host } : {}),
            },
          },
        );
        expect(run.code, run.stdout + run.stderr).toBe(0);
        return JSON.parse(readFileSync(reportFile, "utf8")) as Report;
      };
      const pushed = await pin(first);
      expect(pushed.cache?.pinned).toEqual([
        {
          reference: BUSYBOX,
          pinned: expect.stringMatching(
            new RegExp(`^${mirror}/stagecraft/busybox@sha256:[0-9a-f]{64}$`),
          ) as string,
        },
      ]);
      const found = await pin(second);
      expect(found.cache?.pinned).toEqual([
        {
          reference: BUSYBOX,
          pinned: pushed.cache?.pinned?.[0]?.pinned,
          // overlay2's image id is the config digest; the containerd store's is the manifest's.
          found: second === "main" ? "config" : "layers",
        },
      ]);
    },
    120_000,
  );
});

describe("registry cache (mode=max) on the containerd-store engine", () => {
  it("a rebuild after removing the images and the build cache takes every step from the registry", async () => {
    const registry = await registryAddress();
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({ Dockerfile: DOCKERFILE });
    removeLater(project.remove);
    const repository = `stagecraft-it/registry-cache-${id}`;
    const ref = `${registry}/${repository}:main`;
    cleanups.push(() => deleteRepositoryTags(registry, repository));
    // The default pin mirror of a registry cache: <registry>/stagecraft-bases. Emptied first too:
    // a pin an earlier run (a bench, another file) left there is found, not pushed, and this case
    // is the first push of a new runner.
    await deleteRepositoryTags(registry, "stagecraft-bases/stagecraft/busybox");
    cleanups.push(() => deleteRepositoryTags(registry, "stagecraft-bases/stagecraft/busybox"));
    cleanups.push(() => removeLabelled(c8d.docker));
    const env = { DOCKER_HOST: c8d.host, DOCKER_CONFIG: emptyDockerConfig() };
    const outputs = new Map<string, string>();
    const build = async (name: string, flags: readonly string[]): Promise<Report> => {
      const reportFile = join(project.dir, `${name}.json`);
      const run = await runStagecraft(
        [
          "build",
          project.dir,
          "--target",
          "test,app",
          ...LABEL,
          ...flags,
          "--progress",
          "plain",
          "--report",
          reportFile,
        ],
        { env },
      );
      expect(run.stderr).toBe("");
      expect(run.code, run.stdout).toBe(0);
      outputs.set(name, run.stdout);
      return JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    };

    const cold = await build("cold", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
    expect(cold.cache?.to).toEqual([`registry:${ref}-test`, `registry:${ref}-app`]);
    const pinned = cold.cache?.pinned ?? [];
    expect(pinned).toEqual([
      {
        reference: BUSYBOX,
        pinned: expect.stringMatching(
          new RegExp(`^${registry}/stagecraft-bases/stagecraft/busybox@sha256:[0-9a-f]{64}$`),
        ) as string,
      },
    ]);
    // Every step ran once (deps is shared by both targets).
    expect(cold.stages.map((stage) => [stage.stage, stage.stepsRun])).toEqual([
      ["deps", 2],
      ["test", 1],
      ["app", 2],
    ]);

    // A fresh engine as far as this build goes: no built image, no build cache. Checked: without
    // --cache-from every step runs again (then the engine is emptied once more).
    const forget = async (): Promise<void> => {
      await removeLabelled(c8d.docker);
      execFileSync("docker", ["-H", c8d.host, "builder", "prune", "-af"], { stdio: "ignore" });
    };
    await forget();
    const control = await build("control", ["--pin-bases", `${registry}/stagecraft-bases`]);
    // The same pin; the mirror had the base already, so nothing was pushed again.
    expect(control.cache?.pinned).toEqual([{ ...pinned[0], found: expect.any(String) as string }]);
    expect(control.targets.map((target) => [target.target, target.stepsCached])).toEqual([
      ["test", 0],
      ["app", 0],
    ]);
    await forget();

    const warm = await build("warm", ["--cache-from", ref]);
    expect(warm.cache?.from).toEqual([
      `registry:${ref}`,
      `registry:${ref}-test`,
      `registry:${ref}-app`,
    ]);
    expect(warm.cache?.pinned?.map((pin) => pin.pinned)).toEqual(pinned.map((pin) => pin.pinned));
    expect(warm.cache?.misses).toEqual([]);
    expect(warm.targets.map((target) => [target.target, target.stepsRun])).toEqual([
      ["test", 0],
      ["app", 0],
    ]);
    // Intermediate stages included: deps is no target, and every one of its steps was cached.
    expect(
      warm.stages.map((stage) => [stage.stage, stage.status, stage.stepsRun, stage.stepsCached]),
      outputs.get("warm"),
    ).toEqual([
      ["deps", "cached", 0, 2],
      ["test", "cached", 0, 1],
      ["app", "cached", 0, 2],
    ]);
  });

  it("examples/node-service: every step of every stage comes from the registry after the engine forgot it", async () => {
    const registry = await registryAddress();
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    expect(c8d.nat, "c8d needs --nat: node-service's RUN steps fetch from Debian's archive").toBe(
      true,
    );
    const example = fileURLToPath(new URL("../examples/node-service", import.meta.url));
    const scratch = mkdtempSync(join(tmpdir(), "stagecraft-it-node-service-"));
    removeLater(() => {
      rmSync(scratch, { recursive: true, force: true });
    });
    const repository = `stagecraft-it/registry-cache-node-${id}`;
    const ref = `${registry}/${repository}:ci`;
    cleanups.push(() => deleteRepositoryTags(registry, repository));
    cleanups.push(() => deleteRepositoryTags(registry, "stagecraft-bases/stagecraft/debian"));
    cleanups.push(() => removeLabelled(c8d.docker));
    // A fresh CI runner: no stage size remembered from the cold build.
    const env = {
      DOCKER_HOST: c8d.host,
      DOCKER_CONFIG: emptyDockerConfig(),
      STAGECRAFT_CACHE_DIR: "",
    };
    const targets = ["test", "lint", "runtime"];
    const build = async (name: string, flags: readonly string[]): Promise<Report> => {
      const reportFile = join(scratch, `${name}.json`);
      const run = await runStagecraft(
        [
          "build",
          example,
          "--target",
          targets.join(","),
          // A NONCE of its own: the node stage and everything after it are new to every engine.
          "--build-arg",
          `NONCE=${id}`,
          ...LABEL,
          ...flags,
          "--progress",
          "plain",
          "--report",
          reportFile,
        ],
        { env },
      );
      expect(run.code, run.stdout + run.stderr).toBe(0);
      return JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    };
    const cold = await build("cold", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
    expect(cold.cache?.to).toEqual(targets.map((target) => `registry:${ref}-${target}`));
    expect(cold.targets.map((target) => target.status)).toEqual([
      "succeeded",
      "succeeded",
      "succeeded",
    ]);

    await removeLabelled(c8d.docker);
    execFileSync("docker", ["-H", c8d.host, "builder", "prune", "-af"], { stdio: "ignore" });

    const warm = await build("warm", ["--cache-from", ref]);
    expect(warm.cache?.from).toEqual([
      `registry:${ref}`,
      ...targets.map((target) => `registry:${ref}-${target}`),
    ]);
    expect(warm.cache?.pinned?.map((pin) => pin.reference)).toEqual(["stagecraft/debian:bookworm"]);
    expect(warm.cache?.misses).toEqual([]);
    // Not a step ran: `RUN npm test` and `RUN npm run lint` (the last steps of two targets that
    // share every stage before them) included, and the intermediate stages deps, source and build.
    expect(warm.targets.map((target) => [target.target, target.stepsRun])).toEqual(
      targets.map((target) => [target, 0]),
    );
    expect(warm.stages.map((stage) => [stage.stage, stage.status, stage.stepsRun])).toEqual(
      ["node", "deps", "source", "test", "lint", "build", "runtime"].map((stage) => [
        stage,
        "cached",
        0,
      ]),
    );
    expect(warm.stages.reduce((sum, stage) => sum + stage.stepsCached, 0)).toBe(
      cold.stages.reduce((sum, stage) => sum + stage.steps, 0),
    );
    // The cold build measured the stages the targets are built from (runtime copies from build;
    // test and lint start from source); the rebuild leaves them unmeasured
    // rather than pull and unpack its layers from the registry (6-8 s of a 6 s rebuild).
    expect(cold.targets.find((target) => target.target === "runtime")?.sizeComparison?.from).toBe(
      "build",
    );
    expect(cold.unmeasuredStages).toBeUndefined();
    expect(warm.unmeasuredStages?.map((entry) => entry.stage)).toEqual(["source", "build"]);
  }, 600_000);
});

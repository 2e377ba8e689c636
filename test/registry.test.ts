// --push, --cache-from/--cache-to and `stagecraft engine` against the real registries
// (127.0.0.1:5000 plain, 127.0.0.1:5001 htpasswd) and engines (main overlay2, c8d containerd store).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUSYBOX, docker, makeProject, removeImages, runInImage } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";
import {
  TEST_ENGINES,
  authRegistry,
  deleteRepositoryTags,
  extraEngine,
  poolEngines,
  registryAddress,
  removeLabelled,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const repository = (name: string): string => `stagecraft-it/registry-${id}-${name}`;
const LABEL = ["--label", "org.stagecraft.test=1"];
const cleanups: (() => Promise<unknown>)[] = [];
const made: string[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await removeImages(made);
});

/** Runs `remove` after the file's tests. */
function removeLater(remove: () => void): void {
  cleanups.push(() => {
    remove();
    return Promise.resolve();
  });
}

/** A temp DOCKER_CONFIG holding `config`; removed after the file's tests. */
function dockerConfig(config: object): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-it-config-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  removeLater(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

interface Report {
  published: {
    target: string;
    status: string;
    tags: { tag: string; digest: string }[];
    error: { registry: string; message: string; hint: string | null } | null;
  }[];
  cache: { from: string[]; to: string[]; misses: { target: string; reason: string }[] } | null;
  targets: { target: string; stepsCached: number; stepsRun: number }[];
  context: { transfer: string } | null;
}

const THREE_TARGETS = (base: string): string =>
  [
    `FROM ${base} AS one`,
    `RUN echo one-${id} > /id`,
    `CMD ["cat", "/id"]`,
    `FROM ${base} AS two`,
    `RUN echo two-${id} > /id`,
    `CMD ["cat", "/id"]`,
    `FROM ${base} AS three`,
    `RUN echo three-${id} > /id`,
    `CMD ["cat", "/id"]`,
    "",
  ].join("\n");

describe("stagecraft engine", () => {
  it("tells the graph-driver engine from the containerd-store one", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const main = await runStagecraft(["engine", "--format", "json"]);
    expect(main.code).toBe(0);
    const mainCaps = JSON.parse(main.stdout) as {
      imageStore: { kind: string; driver: string };
      cache: { exporters: string[] };
    };
    expect(mainCaps.imageStore).toEqual({ kind: "graph-driver", driver: "overlay2" });
    expect(mainCaps.cache.exporters).toEqual(["inline"]);

    const other = await runStagecraft(["engine", "--engine", c8d.host, "--format", "json"]);
    expect(other.code).toBe(0);
    const otherCaps = JSON.parse(other.stdout) as typeof mainCaps;
    expect(otherCaps.imageStore.kind).toBe("containerd");
    expect(otherCaps.cache.exporters).toEqual(["gha", "inline", "local", "registry"]);

    const text = await runStagecraft(["engine"]);
    expect(text.stdout).toContain("image store:       graph driver overlay2");
  });
});

describe("stagecraft build --push", () => {
  it("pushes three targets; the containerd-store engine pulls each by digest and runs it", async () => {
    const registry = await registryAddress();
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({ Dockerfile: THREE_TARGETS(BUSYBOX) });
    removeLater(project.remove);
    const names = ["one", "two", "three"];
    const tags = names.map((name) => `${registry}/${repository(name)}:1`);
    made.push(...tags);
    for (const name of names) cleanups.push(() => deleteRepositoryTags(registry, repository(name)));
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "--target",
        names.join(","),
        ...names.flatMap((name, index) => ["-t", `${name}=${tags[index] ?? ""}`]),
        ...LABEL,
        "--push",
        "--progress",
        "plain",
        "--report",
        join(project.dir, "report.json"),
        "--metadata-file",
        join(project.dir, "metadata.json"),
      ],
      { env: { DOCKER_CONFIG: dockerConfig({}) } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(project.dir, "report.json"), "utf8")) as Report;
    const metadata = JSON.parse(readFileSync(join(project.dir, "metadata.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    expect(report.published.map((entry) => entry.status)).toEqual(["pushed", "pushed", "pushed"]);
    cleanups.push(() => removeLabelled(c8d.docker));
    for (const [index, name] of names.entries()) {
      const entry = report.published[index];
      const digest = entry?.tags[0]?.digest ?? "";
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(metadata[name]?.["containerimage.digest"]).toBe(digest);
      expect(run.stdout).toContain(`pushed ${tags[index] ?? ""}@${digest}`);
      const byDigest = `${registry}/${repository(name)}@${digest}`;
      const stream = await c8d.docker.pull(byDigest);
      await new Promise<void>((resolve, reject) => {
        c8d.docker.modem.followProgress(stream, (done: Error | null) => {
          if (done === null) resolve();
          else reject(done);
        });
      });
      cleanups.push(() => c8d.docker.getImage(byDigest).remove({ force: true }));
      expect(await runInImage(byDigest, [], c8d.docker)).toBe(`${name}-${id}\n`);
    }
  });

  it("builds and pushes three targets from the containerd-store engine, its context through the session", async () => {
    // Docker 26.1's containerd store cannot read a tar upload (moby/moby#47717): --push failed there.
    const registry = await registryAddress();
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({ Dockerfile: THREE_TARGETS(BUSYBOX) });
    removeLater(project.remove);
    const names = ["one", "two", "three"];
    const tags = names.map((name) => `${registry}/${repository(`c8d-${name}`)}:1`);
    for (const name of names) {
      cleanups.push(() => deleteRepositoryTags(registry, repository(`c8d-${name}`)));
    }
    cleanups.push(() => removeLabelled(c8d.docker));
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "--target",
        names.join(","),
        ...names.flatMap((name, index) => ["-t", `${name}=${tags[index] ?? ""}`]),
        ...LABEL,
        "--push",
        "--progress",
        "quiet",
        "--report",
        join(project.dir, "report.json"),
      ],
      { env: { DOCKER_CONFIG: dockerConfig({}), DOCKER_HOST: c8d.host } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(project.dir, "report.json"), "utf8")) as Report;
    expect(report.published.map((entry) => entry.status)).toEqual(["pushed", "pushed", "pushed"]);
    expect(report.context?.transfer).toBe("session");
  });

  it("logs in to the htpasswd registry from auths and from a credential helper; wrong ones fail clearly", async () => {
    const auth = await authRegistry();
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN echo auth-${id} > /id\n`,
    });
    removeLater(project.remove);
    const tag = `${auth.registry}/${repository("auth")}:1`;
    made.push(tag);
    cleanups.push(() => deleteRepositoryTags(auth.registry, repository("auth"), auth));
    const push = (env: Record<string, string>) =>
      runStagecraft(["build", project.dir, "-t", tag, ...LABEL, "--push", "--progress", "plain"], {
        env,
      });
    const basic = (user: string, password: string): string =>
      Buffer.from(`${user}:${password}`).toString("base64");

    const viaAuths = await push({
      DOCKER_CONFIG: dockerConfig({
        auths: { [auth.registry]: { auth: basic(auth.username, auth.password) } },
      }),
    });
    expect(viaAuths.code).toBe(0);
    expect(viaAuths.stdout).toMatch(new RegExp(`pushed ${tag}@sha256:[0-9a-f]{64}`));

    // A credential helper, found on PATH as docker-credential-NAME, asked with the host on stdin.
    const bin = mkdtempSync(join(tmpdir(), "stagecraft-it-bin-"));
    removeLater(() => {
      rmSync(bin, { recursive: true, force: true });
    });
    const helper = join(bin, "docker-credential-test");
    const asked = join(bin, "asked");
    writeFileSync(
      helper,
      [
        "#!/bin/sh",
        `[ "$1" = get ] || exit 1`,
        `cat > ${asked}`,
        `printf '%s' '${JSON.stringify({ ServerURL: auth.registry, Username: auth.username, Secret: auth.password })}'`,
        "",
      ].join("\n"),
    );
    chmodSync(helper, 0o755);
    const viaHelper = await push({
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [auth.registry]: "test" } }),
      PATH: `${bin}:${process.env.PATH ?? ""}`,
    });
    expect(viaHelper.code).toBe(0);
    expect(readFileSync(asked, "utf8")).toBe(auth.registry);
    expect(viaHelper.stdout).toMatch(new RegExp(`pushed ${tag}@sha256:`));

    const wrong = await push({
      DOCKER_CONFIG: dockerConfig({
        auths: { [auth.registry]: { auth: basic(auth.username, "not-the-password") } },
      }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(`the registry ${auth.registry} refused the credentials`);
    expect(wrong.stdout).toContain(`docker login ${auth.registry}`);
    expect(wrong.stdout).toContain("its image stays in the engine's store");
    // The image was built and stays.
    expect((await docker.getImage(tag).inspect()).Id).toMatch(/^sha256:/);
  });

  it("says which registry could not be reached, and publishes nothing there", async () => {
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\nRUN echo down-${id} > /id\n` });
    removeLater(project.remove);
    // Nothing listens on port 9 of 127.0.0.1 (discard, never served here).
    const tag = `127.0.0.1:9/${repository("down")}:1`;
    made.push(tag);
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "-t",
        tag,
        ...LABEL,
        "--push",
        "--progress",
        "plain",
        "--report",
        join(project.dir, "report.json"),
      ],
      { env: { DOCKER_CONFIG: dockerConfig({}) } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`pushing ${tag} to 127.0.0.1:9 failed`);
    expect(run.stdout).toContain("connection refused");
    const report = JSON.parse(readFileSync(join(project.dir, "report.json"), "utf8")) as Report;
    expect(report.published[0]).toMatchObject({
      status: "failed",
      tags: [],
      error: { registry: "127.0.0.1:9" },
    });
  });
});

describe("stagecraft build --cache-to / --cache-from", () => {
  it("refuses registry cache export on the graph-driver engine before building, and bad flags", async () => {
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\nRUN echo never-${id}\n` });
    removeLater(project.remove);
    const refused = await runStagecraft([
      "build",
      project.dir,
      "--cache-to",
      "type=registry,ref=127.0.0.1:5000/stagecraft-it/cache:x,mode=max",
      "--progress",
      "plain",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain(
      "--cache-to type=registry: this engine keeps images in the overlay2 graph driver, which exports inline cache only; enable the containerd image store (features.containerd-snapshotter in daemon.json) or use --cache-to type=inline",
    );
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const viaBuild = await runStagecraft(
      ["build", project.dir, "--cache-to", "type=local,dest=/tmp/never"],
      { env: { DOCKER_HOST: c8d.host } },
    );
    expect(viaBuild.code).toBe(2);
    expect(viaBuild.stderr).toContain("POST /build, which exports inline cache only");
    for (const [flag, value, says] of [
      ["--cache-from", "127.0.0.1:5000/Upper:x", "must be lowercase"],
      ["--cache-to", "type=inline,mode=max", "inline cache supports mode=min only"],
    ] as const) {
      const bad = await runStagecraft(["build", project.dir, flag, value]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(flag);
      expect(bad.stderr).toContain(says);
    }
  });

  // The importing engine is a second graph-driver engine. On the containerd-store engine
  // (Docker 26.1) an import of inline cache made on overlay2 hit in 2 of 10 tries here, whatever
  // the base: pinned, pulled before the build or not (noted in issue 13); the registry cache
  // of test/registry-cache.test.ts is the containerd store's reliable way.
  it("inline cache made on the main engine hits on a second engine when the base is pinned, and misses with a tag that names other content there", async () => {
    const registry = await registryAddress();
    const [second] = await poolEngines();
    if (second === undefined) throw new Error("test/global-setup.ts started no pool engine");
    cleanups.push(() => removeLabelled(second.docker));
    // The base, pushed to the registry: pinned by the digest it has there.
    const baseRef = `${registry}/${repository("busybox")}:latest`;
    made.push(baseRef);
    await docker.getImage(BUSYBOX).tag({ repo: baseRef.replace(/:latest$/, ""), tag: "latest" });
    execFileSync("docker", ["push", "-q", baseRef]);
    cleanups.push(() => deleteRepositoryTags(registry, repository("busybox")));
    const pinned = (await docker.getImage(baseRef).inspect()).RepoDigests.find((digest) =>
      digest.startsWith(`${registry}/${repository("busybox")}@`),
    );
    expect(pinned).toMatch(/@sha256:[0-9a-f]{64}$/);

    const twoStages = (base: string, word: string): string =>
      `FROM ${base} AS build\nRUN echo ${word}-${id} > /out\nFROM ${base} AS app\nCOPY --from=build /out /out\n`;
    const roundTrip = async (
      base: string,
      word: string,
    ): Promise<{ report: Report; out: string }> => {
      const project = makeProject({ Dockerfile: twoStages(base, word) });
      removeLater(project.remove);
      const cacheRef = `${registry}/${repository(`cache-${word}`)}:app`;
      made.push(cacheRef);
      cleanups.push(() => deleteRepositoryTags(registry, repository(`cache-${word}`)));
      const made1 = await runStagecraft(
        [
          "build",
          project.dir,
          ...LABEL,
          "-t",
          cacheRef,
          "--cache-to",
          "type=inline",
          "--push",
          "--progress",
          "plain",
        ],
        { env: { DOCKER_CONFIG: dockerConfig({}) } },
      );
      expect(made1.code).toBe(0);
      // The importer stands for a new CI runner: no build cache of its own. Records other runs left
      // there make this import miss (pool1 with 120 records from earlier files: 3 misses in 3
      // runs, then a hit once pruned), as the issue 13 note on inline imports says: this build goes
      // through /build (--no-pin-bases), where the base keeps its digest (see
      // test/inline-cache-own-records.test.ts and docs/decisions/inline-cache-own-records.md).
      execFileSync("docker", ["-H", second.host, "builder", "prune", "-af"], { stdio: "ignore" });
      const reportFile = join(project.dir, "report.json");
      const again = await runStagecraft(
        [
          "build",
          project.dir,
          ...LABEL,
          "--cache-from",
          cacheRef,
          // The Dockerfile pins (or not) by itself: no mirror pins on top.
          "--no-pin-bases",
          "--progress",
          "plain",
          "--report",
          reportFile,
        ],
        { env: { DOCKER_HOST: second.host, DOCKER_CONFIG: dockerConfig({}) } },
      );
      expect(again.code).toBe(0);
      return {
        report: JSON.parse(readFileSync(reportFile, "utf8")) as Report,
        out: again.stdout,
      };
    };

    const hit = await roundTrip(pinned ?? "", "pinned");
    expect(hit.report.cache?.from).toEqual([
      `registry:${registry}/${repository("cache-pinned")}:app`,
    ]);
    expect(hit.report.targets[0]).toMatchObject({ stepsRun: 0, stepsCached: 2 });
    expect(hit.report.cache?.misses).toEqual([]);
    expect(hit.out).toContain(`cache: from registry:${registry}/${repository("cache-pinned")}:app`);

    // Unpinned, the tag alone decides, and the two engines hold different images under it (as two
    // machines do once a base image is rebuilt or re-pulled): the cache cannot match, and the
    // report says why. (Under a tag whose layers are the same on both engines it does match, even
    // when the image configs differ: BuildKit keys a base by its layers, not by the image id.)
    const sameName = `stagecraft-it/registry-${id}-base:latest`;
    made.push(sameName);
    for (const [host, engine] of [
      [undefined, "main"],
      [second.host, "second"],
    ] as const) {
      execFileSync(
        "docker",
        ["build", "-q", "--label", "org.stagecraft.test=1", "-t", sameName, "-"],
        {
          input: `FROM ${BUSYBOX}\nRUN echo ${engine}-${id} > /made-on\n`,
          env: {
            ...process.env,
            ...(host === undefined ? {} : { DOCKER_HOST: host }),
            DOCKER_BUILDKIT: "1",
          },
          stdio: ["pipe", "ignore", "inherit"],
        },
      );
    }
    const miss = await roundTrip(sameName, "unpinned");
    expect(miss.report.targets[0]?.stepsCached).toBe(0);
    expect(miss.report.cache?.misses[0]?.reason).toContain(
      `the base image ${sameName} is not pinned by registry digest`,
    );
    expect(miss.out).toContain("not pinned by registry digest");
  });
});

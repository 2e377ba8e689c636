// --push from a standalone buildkitd: the test proxy (support/buildkit-proxy.ts) in front of the
// containerd-store engine is a BuildKit whose worker pushes from the `image` exporter; in front of
// the main (overlay2) engine it is one whose worker cannot, which stagecraft refuses before building.
// Logins come from a DOCKER_CONFIG of the test's own, served through the session's Auth service.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runStagecraft, jsonLines } from "./support/cli.js";
import { startBuildkitProxy, type BuildkitProxy } from "./support/buildkit-proxy.js";
import { BUSYBOX, docker, makeProject, removeImages, runInImage } from "./support/engine.js";
import {
  TEST_ENGINES,
  authRegistry,
  deleteRepositoryTags,
  extraEngine,
  registryAddress,
  removeLabelled,
  type ExtraEngine,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const repository = (name: string): string => `stagecraft-it/bk-push-${id}-${name}`;
const LABEL = ["--label", "org.stagecraft.test=1"];
const cleanups: (() => Promise<unknown>)[] = [];
const made: string[] = [];
let c8d: ExtraEngine;
let onC8d: BuildkitProxy;
let onMain: BuildkitProxy;

beforeAll(async () => {
  c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
  onC8d = await startBuildkitProxy({ unix: true, socketPath: c8d.socketPath });
  onMain = await startBuildkitProxy({ unix: true });
  cleanups.push(
    () => onC8d.close(),
    () => onMain.close(),
    () => removeLabelled(c8d.docker),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await removeImages(made);
});

/** A temp DOCKER_CONFIG holding `config`; removed after the file's tests. */
function dockerConfig(config: object): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-it-config-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  });
  return dir;
}

function project(dockerfile: string): string {
  const made = makeProject({ Dockerfile: dockerfile });
  cleanups.push(() => {
    made.remove();
    return Promise.resolve();
  });
  return made.dir;
}

interface Report {
  published: {
    target: string;
    status: string;
    tags: { tag: string; digest: string }[];
    error: { registry: string; message: string; hint: string | null } | null;
  }[];
}

/** Pulls `ref` into the main engine (dockerode's pull resolves before the stream ends). */
async function pullOnMain(ref: string): Promise<void> {
  const stream = await docker.pull(ref);
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (done: Error | null) => {
      if (done === null) resolve();
      else reject(done);
    });
  });
  made.push(ref);
}

describe("stagecraft build --push on a standalone buildkitd", () => {
  it("pushes two targets through the image exporter; the main engine pulls each by digest and runs it", async () => {
    const registry = await registryAddress();
    const dir = project(
      [
        `FROM ${BUSYBOX} AS one`,
        `RUN echo one-${id} > /id`,
        `CMD ["cat", "/id"]`,
        `FROM ${BUSYBOX} AS two`,
        `RUN echo two-${id} > /id`,
        `CMD ["cat", "/id"]`,
        "",
      ].join("\n"),
    );
    const names = ["one", "two"];
    const tags = names.map((name) => `${registry}/${repository(name)}:1`);
    for (const name of names) cleanups.push(() => deleteRepositoryTags(registry, repository(name)));
    const run = await runStagecraft(
      [
        "build",
        dir,
        "--target",
        names.join(","),
        ...names.flatMap((name, index) => ["-t", `${name}=${tags[index] ?? ""}`]),
        ...LABEL,
        "--push",
        "--progress",
        "json",
        "--report",
        join(dir, "report.json"),
        "--metadata-file",
        join(dir, "metadata.json"),
        "--engine",
        onC8d.address,
      ],
      { env: { DOCKER_CONFIG: dockerConfig({}) } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
    const metadata = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    expect(report.published.map((entry) => entry.status)).toEqual(["pushed", "pushed"]);
    const events = jsonLines(run.stdout);
    for (const [index, name] of names.entries()) {
      const digest = report.published[index]?.tags[0]?.digest ?? "";
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(metadata[name]?.["containerimage.digest"]).toBe(digest);
      expect(events).toContainEqual(
        expect.objectContaining({ type: "target-pushed", target: name, tag: tags[index], digest }),
      );
      // BuildKit reports the layers as one step and then the manifest, each started and ended.
      const progress = events.filter(
        (event) => event.type === "push-progress" && event.target === name,
      );
      expect(progress.map((event) => `${String(event.layer)} ${String(event.status)}`)).toEqual([
        "layers Pushing",
        "layers Pushed",
        "manifest Pushing",
        "manifest Pushed",
      ]);
      const byDigest = `${registry}/${repository(name)}@${digest}`;
      await pullOnMain(byDigest);
      expect(await runInImage(byDigest, [])).toBe(`${name}-${id}\n`);
    }
  });

  it("pushes the image --no-cache built, not a second build of it", async () => {
    const registry = await registryAddress();
    // A step whose every run makes another layer: a push that built again would push another image.
    const dir = project(`FROM ${BUSYBOX}\nRUN date +%s%N > /made\n`);
    const tag = `${registry}/${repository("no-cache")}:1`;
    cleanups.push(() => deleteRepositoryTags(registry, repository("no-cache")));
    const run = await runStagecraft(
      [
        "build",
        dir,
        "-t",
        tag,
        ...LABEL,
        "--no-cache",
        "--push",
        "--progress",
        "json",
        "--engine",
        onC8d.address,
      ],
      { env: { DOCKER_CONFIG: dockerConfig({}) } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const events = jsonLines(run.stdout);
    const built = events.find((event) => event.type === "target-finished");
    const pushed = events.find((event) => event.type === "target-pushed");
    expect(built?.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed?.digest).toBe(built?.imageId);
    expect((await c8d.docker.getImage(tag).inspect()).Id).toBe(built?.imageId);
  });

  it("logs in to the htpasswd registry from config.json; wrong credentials name the registry and keep the image", async () => {
    const auth = await authRegistry();
    const dir = project(`FROM ${BUSYBOX}\nRUN echo auth-${id} > /id\nCMD ["cat", "/id"]\n`);
    const tag = `${auth.registry}/${repository("auth")}:1`;
    cleanups.push(() => deleteRepositoryTags(auth.registry, repository("auth"), auth));
    const basic = (user: string, password: string): string =>
      Buffer.from(`${user}:${password}`).toString("base64");
    const push = (password: string, report: string) =>
      runStagecraft(
        [
          "build",
          dir,
          "-t",
          tag,
          ...LABEL,
          "--push",
          "--progress",
          "plain",
          "--report",
          join(dir, report),
          "--engine",
          onC8d.address,
        ],
        {
          env: {
            DOCKER_CONFIG: dockerConfig({
              auths: { [auth.registry]: { auth: basic(auth.username, password) } },
            }),
          },
        },
      );

    const wrong = await push("not-the-password", "wrong.json");
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(
      `pushing ${tag}: the registry ${auth.registry} refused the credentials`,
    );
    expect(wrong.stdout).toContain(`docker login ${auth.registry}`);
    expect(wrong.stdout).toContain("its image stays in the engine's store");
    const refused = JSON.parse(readFileSync(join(dir, "wrong.json"), "utf8")) as Report;
    expect(refused.published[0]).toMatchObject({
      status: "failed",
      tags: [],
      error: { registry: auth.registry },
    });
    // Built all the same, and kept where moby's worker keeps images: the engine behind it.
    expect((await c8d.docker.getImage(tag).inspect()).Id).toMatch(/^sha256:/);

    const right = await push(auth.password, "right.json");
    expect(right.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "right.json"), "utf8")) as Report;
    const digest = report.published[0]?.tags[0]?.digest ?? "";
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(right.stdout).toContain(`pushed ${tag}@${digest}`);
    const manifest = await fetch(`http://${auth.registry}/v2/${repository("auth")}/manifests/1`, {
      method: "HEAD",
      headers: {
        authorization: `Basic ${basic(auth.username, auth.password)}`,
        accept:
          "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
      },
    });
    expect(manifest.headers.get("docker-content-digest")).toBe(digest);
  });

  it("refuses --push before building where the worker cannot push (a graph-driver Engine's)", async () => {
    const registry = await registryAddress();
    const dir = project(`FROM ${BUSYBOX}\nRUN echo never-${id} > /id\n`);
    const tag = `${registry}/${repository("refused")}:1`;
    made.push(tag);
    const run = await runStagecraft(
      ["build", dir, "-t", tag, ...LABEL, "--push", "--engine", onMain.address],
      { env: { DOCKER_CONFIG: dockerConfig({}) } },
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      `error: --push: the BuildKit at ${onMain.address} cannot push images: it is a Docker Engine's, which keeps images in a graph driver`,
    );
    expect(run.stderr).toContain('exporter "image" could not be found');
    expect(run.stderr).toContain("turn on the containerd image store there");
    await expect(docker.getImage(tag).inspect()).rejects.toThrow();
  });
});

// Issue 13: an inline cache import on a graph-driver engine that holds build-cache records of its
// own of the same base, read by digest (a persistent CI runner). BuildKit keys such a base by its
// manifest first and takes the engine's own record under that key before it looks at the layer
// key the imported cache is linked by (moby/buildkit solver/edge.go): every step ran. stagecraft
// reads the base by a local name there (engine/pin-bases-locally.ts), and says why where it cannot.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUSYBOX, docker, makeProject, removeImages } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";
import {
  deleteRepositoryTags,
  poolEngines,
  registryAddress,
  removeLabelled,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const repository = (name: string): string => `stagecraft-it/own-records-${id}-${name}`;
const LABEL = ["--label", "org.stagecraft.test=1"];
const cleanups: (() => Promise<unknown>)[] = [];
const made: string[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await removeImages(made);
});

interface Report {
  cache: { from: string[]; misses: { target: string; reason: string }[] } | null;
  targets: { target: string; stepsCached: number; stepsRun: number }[];
}

/** The root records (no inputs) of the inline cache in the image config `ref` has at the registry. */
async function inlineCacheRoots(registry: string, name: string, tag: string): Promise<number> {
  const manifest = (await (
    await fetch(`http://${registry}/v2/${name}/manifests/${tag}`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    })
  ).json()) as { config: { digest: string } };
  const config = (await (
    await fetch(`http://${registry}/v2/${name}/blobs/${manifest.config.digest}`)
  ).json()) as Record<string, string>;
  const records = JSON.parse(
    Buffer.from(config["moby.buildkit.cache.v0"] ?? "", "base64").toString("utf8"),
  ) as { inputs?: unknown }[];
  return records.filter((record) => record.inputs === undefined).length;
}

describe("an inline cache import on an engine with build cache of its own", () => {
  it("takes every step from the cache through the Control API, and says why it cannot through /build", async () => {
    const registry = await registryAddress();
    const [importer] = await poolEngines();
    if (importer === undefined) throw new Error("test/global-setup.ts started no pool engine");
    cleanups.push(() => removeLabelled(importer.docker));
    const baseName = `${registry}/${repository("busybox")}`;
    made.push(`${baseName}:latest`);
    await docker.getImage(BUSYBOX).tag({ repo: baseName, tag: "latest" });
    execFileSync("docker", ["push", "-q", `${baseName}:latest`], { stdio: "ignore" });
    cleanups.push(() => deleteRepositoryTags(registry, repository("busybox")));
    const pinned = (await docker.getImage(`${baseName}:latest`).inspect()).RepoDigests.find(
      (digest) => digest.startsWith(`${baseName}@`),
    );
    if (pinned === undefined) throw new Error(`docker push gave ${baseName} no digest`);
    cleanups.push(() => {
      execFileSync("docker", ["-H", importer.host, "rmi", "-f", pinned], { stdio: "ignore" });
      return Promise.resolve();
    });

    const roundTrip = async (word: string, flags: readonly string[]): Promise<Report> => {
      const project = makeProject({
        Dockerfile: `FROM ${pinned}\nRUN echo ${word}-${id} > /one\nRUN echo two > /two\n`,
      });
      cleanups.push(() => {
        project.remove();
        return Promise.resolve();
      });
      const cacheRef = `${registry}/${repository(word)}:app`;
      made.push(cacheRef);
      cleanups.push(() => deleteRepositoryTags(registry, repository(word)));
      // Made on the main engine, which has the base in its store and never pulled it through
      // BuildKit: the cache is linked by the base's layer key alone.
      const exported = await runStagecraft([
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
      ]);
      expect(exported.code).toBe(0);
      expect(await inlineCacheRoots(registry, repository(word), "app")).toBe(1);

      // The importer's own record of the base under its manifest key: the base is not in its
      // store, so BuildKit pulls it (and keeps its manifest), as any earlier build of it would.
      const on = ["-H", importer.host];
      execFileSync("docker", [...on, "rmi", "-f", pinned], { stdio: "ignore" });
      execFileSync("docker", [...on, "builder", "prune", "-af"], { stdio: "ignore" });
      execFileSync("docker", [...on, "build", "-q", ...LABEL, "-"], {
        input: `FROM ${pinned}\nRUN echo own-${word}-${id} > /own\n`,
        env: { ...process.env, DOCKER_BUILDKIT: "1" },
        stdio: ["pipe", "ignore", "inherit"],
      });

      const reportFile = join(project.dir, "report.json");
      const imported = await runStagecraft(
        [
          "build",
          project.dir,
          ...LABEL,
          "--cache-from",
          cacheRef,
          ...flags,
          "--progress",
          "plain",
          "--report",
          reportFile,
        ],
        { env: { DOCKER_HOST: importer.host } },
      );
      expect(imported.code).toBe(0);
      return JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    };

    // The default: the Control API (pins are on with a registry cache; this base is pinned already).
    const hit = await roundTrip("control", []);
    expect(hit.targets[0]).toMatchObject({ stepsRun: 0, stepsCached: 2 });
    expect(hit.cache?.misses).toEqual([]);
    const left = execFileSync(
      "docker",
      ["-H", importer.host, "images", "-q", "stagecraft-local-pins/*"],
      { encoding: "utf8" },
    );
    expect(left.trim()).toBe("");

    // /build carries no named contexts: the steps run, and the report says why and what to do.
    const miss = await roundTrip("build", ["--no-pin-bases"]);
    expect(miss.targets[0]).toMatchObject({ stepsRun: 2, stepsCached: 0 });
    const reason = miss.cache?.misses[0]?.reason ?? "";
    expect(reason).toContain(`although ${pinned} is read by registry digest`);
    expect(reason).toContain("leave out --no-pin-bases");
  });
});

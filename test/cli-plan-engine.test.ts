import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, docker, makeProject, removeImages } from "./support/engine.js";
import { deleteRepositoryTags, registryAddress } from "./support/infra.js";

const made: string[] = [];
const projects: { remove: () => void }[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const project of projects) project.remove();
  await removeImages(made);
  for (const cleanup of cleanups) await cleanup();
});

/** Puts the seeded busybox in the loopback registry under a fresh name the engine does not have. */
async function seedRegistryOnly(): Promise<string> {
  const registry = await registryAddress();
  const repository = `stagecraft-test/pullable-${randomUUID().slice(0, 8)}`;
  const ref = `${registry}/${repository}:1`;
  await docker.getImage(BUSYBOX).tag({ repo: `${registry}/${repository}`, tag: "1" });
  const stream = await docker.getImage(ref).push({ authconfig: {} });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: { error?: string }[]) => {
      const failed = events.find((event) => event.error !== undefined);
      if (error !== null || failed !== undefined) reject(error ?? new Error(failed?.error));
      else resolve();
    });
  });
  cleanups.push(() => deleteRepositoryTags(registry, repository));
  // Untag only: the layers stay (busybox has them), the name is gone from the engine.
  await docker.getImage(ref).remove();
  return ref;
}

function project(dockerfile: string): string {
  const made = makeProject({ Dockerfile: dockerfile });
  projects.push(made);
  return made.dir;
}

interface PlanJson {
  engineChecks: {
    engine: string | null;
    skipped: string | null;
    checks: { rule: string; severity: string; line: number; reference: string | null }[];
  };
}

async function planJson(dir: string, args: string[] = []) {
  const run = await runStagecraft(["plan", dir, "--format", "json", ...args]);
  return { code: run.code, plan: JSON.parse(run.stdout) as PlanJson, stderr: run.stderr };
}

describe("stagecraft plan's engine checks against the real engine (inspected, never pulled)", () => {
  // A name no registry has: the engine is asked, and answers 404.
  const missing = `stagecraft-test/missing-${randomUUID().slice(0, 8)}:1`;

  it("finds an image the engine has, and says nothing about it", async () => {
    const { code, plan } = await planJson(project(`FROM ${BUSYBOX}\nRUN true\n`), ["--no-pull"]);
    expect(code).toBe(0);
    expect(plan.engineChecks.skipped).toBeNull();
    expect(plan.engineChecks.engine).toMatch(/^unix:\/\//);
    expect(plan.engineChecks.checks).toEqual([]);
  });

  it("names a missing --from image its registry has: a warning, and exit 2 with --no-pull", async () => {
    const pullable = await seedRegistryOnly();
    const dir = project(`FROM ${BUSYBOX}\nCOPY --from=${pullable} /bin/true /x\n`);
    const online = await planJson(dir);
    expect(online.code).toBe(0);
    expect(online.plan.engineChecks.checks).toEqual([
      expect.objectContaining({
        rule: "ImageNotInEngine",
        severity: "warning",
        line: 2,
        reference: pullable,
        message: expect.stringMatching(
          /its registry \(127\.0\.0\.1:5000\) has it \(sha256:/,
        ) as string,
      }),
    ]);
    const offline = await planJson(dir, ["--no-pull"]);
    expect(offline.code).toBe(2);
    expect(offline.plan.engineChecks.checks).toEqual([
      expect.objectContaining({ rule: "ImageNotInEngine", severity: "error", reference: pullable }),
    ]);
  });

  it("makes a missing image an error when its registry has no such tag", async () => {
    const absent = `${await registryAddress()}/${missing}`;
    const { code, plan } = await planJson(
      project(`FROM ${BUSYBOX}\nCOPY --from=${absent} /x /x\n`),
    );
    expect(code).toBe(2);
    expect(plan.engineChecks.checks).toEqual([
      expect.objectContaining({
        severity: "error",
        line: 2,
        reference: absent,
        message: expect.stringContaining("has no such image") as string,
      }),
    ]);
  });

  it("exits 2 naming a base image the engine lacks and cannot pull, and build sends nothing", async () => {
    // Nothing on this machine reaches Docker Hub, where stagecraft/absent:1 would come from.
    const dir = project(
      `FROM ${BUSYBOX} AS base\nRUN true\nFROM stagecraft/absent:1\nCOPY --from=base /bin/true /t\n`,
    );
    const planned = await runStagecraft(["plan", dir]);
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(
      /error ImageNotInEngine {2}.*Dockerfile:3: FROM stagecraft\/absent:1 is not in the engine: the engine cannot reach its registry \(docker\.io\), so the build fails before any step runs: \S/,
    );
    expect(planned.stdout).toContain("fix: Seed the engine: docker load -i FILE");
    const tag = `stagecraft-test/plan-engine:${randomUUID().slice(0, 8)}`;
    made.push(tag);
    const built = await runStagecraft(["build", dir, "--progress", "plain", "-t", tag]);
    expect(built.code).toBe(2);
    expect(built.stderr).toContain("Dockerfile:3: FROM stagecraft/absent:1 is not in the engine");
    expect(built.stderr).toContain("nothing was sent");
    expect(built.stdout).not.toContain("[base");
    expect(
      await docker
        .getImage(tag)
        .inspect()
        .catch(() => undefined),
    ).toBeUndefined();
  });

  it("sees a digest pin the engine lacks although it has the tag", async () => {
    const digest = `sha256:${"0".repeat(64)}`;
    const { plan } = await planJson(project(`FROM ${BUSYBOX}@${digest}\n`));
    expect(plan.engineChecks.checks.map((check) => check.rule)).toEqual(["DigestNotInEngine"]);
  });

  it("says a # syntax= directive makes the engine fetch a frontend image it does not have", async () => {
    const frontend = `stagecraft-test/dockerfile-${randomUUID().slice(0, 8)}:1`;
    const dir = project(`# syntax=${frontend}\nFROM ${BUSYBOX}\n`);
    const { code, plan } = await planJson(dir, ["--no-pull"]);
    expect(code).toBe(2);
    expect(plan.engineChecks.checks).toEqual([
      expect.objectContaining({
        rule: "SyntaxFrontendImage",
        severity: "error",
        line: 1,
        reference: frontend,
      }),
    ]);
  });

  it("build stops before sending a RUN --network=host the engine would refuse, and builds it with --network host", async () => {
    const tag = `stagecraft-test/plan-engine:${randomUUID().slice(0, 8)}`;
    made.push(tag);
    const dir = project(`FROM ${BUSYBOX}\nRUN --network=host echo host-network\n`);
    const refused = await runStagecraft(["build", dir, "--progress", "plain", "-t", tag]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("error: ");
    expect(refused.stderr).toContain("nothing was sent");
    expect(
      await docker
        .getImage(tag)
        .inspect()
        .catch(() => undefined),
    ).toBeUndefined();
    const built = await runStagecraft([
      "build",
      dir,
      "--progress",
      "plain",
      "--network",
      "host",
      "-t",
      tag,
      "--label",
      "org.stagecraft.test=1",
    ]);
    expect(built.stderr).not.toContain("NetworkHostNotAllowed");
    expect(built.code).toBe(0);
  });
});

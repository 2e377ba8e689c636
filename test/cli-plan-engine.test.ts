import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, docker, makeProject, removeImages } from "./support/engine.js";

const made: string[] = [];
const projects: { remove: () => void }[] = [];
afterAll(async () => {
  for (const project of projects) project.remove();
  await removeImages(made);
});

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

  it("names a missing --from image: a warning, and exit 2 with --no-pull", async () => {
    const dir = project(`FROM ${BUSYBOX}\nCOPY --from=${missing} /x /x\n`);
    const online = await planJson(dir);
    expect(online.code).toBe(0);
    expect(online.plan.engineChecks.checks).toEqual([
      expect.objectContaining({
        rule: "ImageNotInEngine",
        severity: "warning",
        line: 2,
        reference: missing,
      }),
    ]);
    const offline = await planJson(dir, ["--no-pull"]);
    expect(offline.code).toBe(2);
    expect(offline.plan.engineChecks.checks).toEqual([
      expect.objectContaining({ rule: "ImageNotInEngine", severity: "error", reference: missing }),
    ]);
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

// An embedder's own dockerode client as the engine's transport: testcontainers' client, as its
// users have it.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getContainerRuntimeClient } from "testcontainers";
import { afterAll, describe, expect, it } from "vitest";
import { DockerEngine, analyzeDockerfile, runBuild } from "@stagecraft/core";
import { BUSYBOX, TEST_LABELS, makeProject, removeImages, runInImage } from "./support/engine.js";

const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

describe("DockerEngine on a dockerode client (testcontainers')", () => {
  it("builds two targets with a secret through the session, and reports like the default transport", async () => {
    const { container } = await getContainerRuntimeClient();
    const engine = new DockerEngine({ dockerode: container.dockerode });
    expect(engine.local).toBe(true);
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce`,
        `FROM base AS test`,
        `RUN --mount=type=secret,id=token,required=true test "$(cat /run/secrets/token)" = s3cret`,
        `FROM base AS app`,
        `CMD ["cat", "/nonce"]`,
      ].join("\n"),
    });
    const tag = `stagecraft-it/dockerode:${nonce.slice(0, 8)}`;
    made.push(tag);
    try {
      const text = readFileSync(join(project.dir, "Dockerfile"), "utf8");
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(text, { targets: ["test", "app"] }),
        context: { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") },
        tags: { app: [tag] },
        labels: TEST_LABELS,
        session: { secrets: { token: Buffer.from("s3cret") } },
      });
      expect(outcome.status, JSON.stringify(outcome.report.failures)).toBe("succeeded");
      expect(outcome.engine.version).toMatch(/^\d+\.\d+/);
      expect(outcome.report.targets.map((target) => [target.target, target.status])).toEqual([
        ["test", "succeeded"],
        ["app", "succeeded"],
      ]);
      expect(outcome.images.app?.sizeBytes).toBeGreaterThan(0);
      expect(await runInImage(tag, ["cat", "/nonce"])).toBe(`${nonce}\n`);
      // The report's text is masked as with the default transport.
      expect(JSON.stringify(outcome.report)).not.toContain("s3cret");
    } finally {
      project.remove();
    }
  });

  it("gives the daemon's own words for a failing step and for a missing image", async () => {
    const { container } = await getContainerRuntimeClient();
    const engine = new DockerEngine({ dockerode: container.dockerode });
    expect(await engine.inspectImage(`stagecraft-it/missing:${randomUUID().slice(0, 8)}`)).toBe(
      undefined,
    );
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN echo ${randomUUID()} && exit 3\n`,
    });
    try {
      const outcome = await runBuild({
        engine,
        analysis: analyzeDockerfile(readFileSync(join(project.dir, "Dockerfile"), "utf8")),
        context: { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") },
        labels: TEST_LABELS,
      });
      expect(outcome.status).toBe("failed");
      expect(outcome.report.failures[0]?.message).toMatch(/exit code: 3/);
    } finally {
      project.remove();
    }
  });
});

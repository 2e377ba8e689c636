import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import tar from "tar-fs";
import { BuildFailedError, DockerEngine, EngineError } from "@stagecraft/core";
import { BUSYBOX, TEST_LABELS, makeProject, removeImages, runInImage } from "./support/engine.js";

const engine = new DockerEngine();
const made: string[] = [];

afterAll(async () => {
  await removeImages(made);
});

describe("DockerEngine against the real engine", () => {
  it("probes the engine", async () => {
    const info = await engine.info();
    expect(info.buildkit).toBe(true);
    expect(info.apiVersion).toMatch(/^1\.\d+$/);
    expect(info.platform).toMatch(/^linux\//);
  });

  it("builds a two-stage Dockerfile with BuildKit and tags the result", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS build\nRUN echo built-by-stage-one > /artifact\n\nFROM ${BUSYBOX}\nCOPY --from=build /artifact /artifact\nCMD ["cat", "/artifact"]\n`,
    });
    const tag = `stagecraft-it/two-stage:${randomUUID().slice(0, 8)}`;
    made.push(tag);
    const lines: string[] = [];
    try {
      const result = await engine.build({
        context: () => tar.pack(project.dir),
        dockerfile: "Dockerfile",
        tags: [tag],
        labels: TEST_LABELS,
        buildId: randomUUID(),
        onLine: (line) => lines.push(line),
      });
      expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(lines.some((line) => line.includes("moby.buildkit.trace"))).toBe(true);
      const image = await engine.inspectImage(tag);
      expect(image?.id).toBe(result.imageId);
      expect(image?.labels["org.stagecraft.test"]).toBe("1");
      expect(await runInImage(tag, ["cat", "/artifact"])).toBe("built-by-stage-one\n");
    } finally {
      project.remove();
    }
  });

  it("rejects a failing RUN with the daemon's own message", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN echo about-to-fail >&2 && exit 3\n`,
    });
    try {
      const build = engine.build({
        context: () => tar.pack(project.dir),
        dockerfile: "Dockerfile",
        labels: TEST_LABELS,
        buildId: randomUUID(),
      });
      await expect(build).rejects.toBeInstanceOf(BuildFailedError);
      await expect(build).rejects.toMatchObject({
        daemonMessage: expect.stringContaining(
          "did not complete successfully: exit code: 3",
        ) as unknown,
      });
    } finally {
      project.remove();
    }
  });

  it("turns an HTTP error into an EngineError with the daemon's words", async () => {
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\n` });
    try {
      const build = engine.build({
        context: () => tar.pack(project.dir),
        dockerfile: "Dockerfile",
        platform: "bogus/x/y/z",
        buildId: randomUUID(),
      });
      await expect(build).rejects.toBeInstanceOf(EngineError);
      await expect(build).rejects.toMatchObject({
        statusCode: 400,
        message: expect.stringContaining("bogus/x/y/z") as unknown,
      });
    } finally {
      project.remove();
    }
  });

  it("says where it looked when no engine answers", async () => {
    const nowhere = new DockerEngine({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    const probe = nowhere.info();
    await expect(probe).rejects.toMatchObject({
      code: "ENGINE_UNREACHABLE",
      message: expect.stringContaining(
        "unix:///nonexistent/docker.sock (from DOCKER_HOST)",
      ) as unknown,
    });
  });
});

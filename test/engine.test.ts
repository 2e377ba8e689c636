import { randomUUID } from "node:crypto";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
    const statuses: number[] = [];
    try {
      const result = await engine.build({
        context: () => tar.pack(project.dir),
        dockerfile: "Dockerfile",
        tags: [tag],
        labels: TEST_LABELS,
        buildId: randomUUID(),
        onStatus: (status) => statuses.push(status.vertexes.length),
      });
      expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(statuses.some((count) => count > 0)).toBe(true);
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

  it("reaches the engine over ssh the docker CLI's way, builds and opens a session", async () => {
    // A stand-in for ssh that runs the remote half here: `docker system dial-stdio` joins stdio to
    // the local engine, as it would on the remote host (whose environment has no DOCKER_HOST).
    const bin = makeProject({
      ssh: `#!/bin/sh\necho "$@" >> "$(dirname "$0")/args"\nunset DOCKER_HOST\nexec docker system dial-stdio\n`,
    });
    chmodSync(join(bin.dir, "ssh"), 0o755);
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN --mount=type=secret,id=token cat /run/secrets/token > /seen\n`,
    });
    const remote = new DockerEngine({
      env: { DOCKER_HOST: "ssh://ci@builder.test", PATH: `${bin.dir}:${process.env.PATH ?? ""}` },
    });
    try {
      expect((await remote.info()).buildkit).toBe(true);
      const session = await remote.openSession({
        secrets: { token: Buffer.from("over-ssh") },
      });
      const tag = `stagecraft-it/over-ssh:${randomUUID().slice(0, 8)}`;
      made.push(tag);
      try {
        const result = await remote.build({
          context: () => tar.pack(project.dir),
          dockerfile: "Dockerfile",
          tags: [tag],
          labels: TEST_LABELS,
          buildId: randomUUID(),
          noCache: true,
          session,
        });
        expect((await remote.inspectImage(tag))?.id).toBe(result.imageId);
      } finally {
        await session.close();
      }
      expect(await runInImage(tag, ["cat", "/seen"])).toBe("over-ssh");
      const calls = readFileSync(join(bin.dir, "args"), "utf8").trim().split("\n");
      expect(new Set(calls)).toEqual(
        new Set(["-o ConnectTimeout=30 -T -l ci -- builder.test docker system dial-stdio"]),
      );
      // /version, /session, /build and the image inspection: one ssh each.
      expect(calls.length).toBeGreaterThanOrEqual(4);
    } finally {
      project.remove();
      bin.remove();
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

import { createHash, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import tar from "tar-fs";
import {
  DockerEngine,
  runBuild,
  type BuildEvent,
  type RunBuildOptions,
  type TargetSpec,
} from "@stagecraft/core";
import {
  BUSYBOX,
  TEST_LABELS,
  docker,
  makeProject,
  removeImages,
  runInImage,
} from "./support/engine.js";

const engine = new DockerEngine();
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

function contextOf(dir: string) {
  return { stream: () => tar.pack(dir), dockerfileInContext: "Dockerfile" };
}

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

async function build(
  dir: string,
  targets: TargetSpec[],
  options: Partial<RunBuildOptions> = {},
): Promise<{ outcome: Awaited<ReturnType<typeof runBuild>>; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  for (const target of targets) made.push(...(target.tags ?? []));
  const outcome = await runBuild({
    engine,
    context: contextOf(dir),
    targets,
    labels: TEST_LABELS,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { outcome, events };
}

/** Every byte of `docker save` of the image (layers are uncompressed tars on a graph-driver engine). */
async function savedImage(ref: string): Promise<Buffer> {
  const stream = await docker.getImage(ref).get();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("BuildKit sessions against the real engine", () => {
  it("serves a file secret and an env secret to RUN steps and keeps them out of the image", async () => {
    const nonce = randomUUID();
    const fileSecret = `file-secret-${randomUUID()}`;
    const envSecret = `env-secret-${randomUUID()}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX}`,
        `RUN echo ${nonce} > /nonce`,
        `RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha && cat /run/secrets/token`,
        `RUN --mount=type=secret,id=envtoken,required=true sha256sum /run/secrets/envtoken | cut -d' ' -f1 > /env.sha`,
      ].join("\n"),
    });
    const tag = `stagecraft-it/secret:${nonce.slice(0, 8)}`;
    try {
      const { outcome, events } = await build(project.dir, [{ name: "default", tags: [tag] }], {
        session: {
          secrets: {
            token: Buffer.from(fileSecret),
            envtoken: Buffer.from(envSecret),
          },
        },
      });
      expect(outcome.status).toBe("succeeded");
      expect((await runInImage(tag, ["cat", "/token.sha"])).trim()).toBe(sha256(fileSecret));
      expect((await runInImage(tag, ["cat", "/env.sha"])).trim()).toBe(sha256(envSecret));
      // The step printed the file secret: the events carry the mask, never the value.
      const text = JSON.stringify(events);
      expect(text).not.toContain(fileSecret);
      expect(text).toContain("***");
      const saved = await savedImage(tag);
      expect(saved.length).toBeGreaterThan(100_000);
      expect(saved.includes(fileSecret)).toBe(false);
      expect(saved.includes(envSecret)).toBe(false);
      expect(saved.includes(nonce)).toBe(true);
      const history = JSON.stringify(await docker.getImage(tag).history());
      expect(history).toContain("/run/secrets/token");
      expect(history).not.toContain(fileSecret);
      expect(history).not.toContain(envSecret);
    } finally {
      project.remove();
    }
  });

  it("names a missing required secret and how to pass it", async () => {
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS app`,
        `RUN echo ${randomUUID()}`,
        `RUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc`,
      ].join("\n"),
    });
    try {
      const { outcome } = await build(project.dir, [{ name: "app", stage: "app" }], {
        session: { secrets: {} },
      });
      expect(outcome.status).toBe("failed");
      const error = outcome.targets[0]?.error;
      expect(error?.message).toBe(
        'target "app" needs the secret "npmrc", which was not passed to the build',
      );
      expect(error?.hint).toContain("--secret id=npmrc,src=FILE");
    } finally {
      project.remove();
    }
  });
});

import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import tar from "tar-fs";
import { GenericContainer } from "testcontainers";
import { DockerEngine } from "@stagecraft/core";
import { runTargets } from "@stagecraft/core/engine";
import { TEST_LABELS, removeImages } from "./support/engine.js";

const demo = fileURLToPath(new URL("../examples/demo", import.meta.url));
const engine = new DockerEngine();
const tag = `stagecraft-it/demo-app:${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await removeImages([tag]);
});

describe("a built image, run with testcontainers", () => {
  it("builds the demo's app target and the image greets as it should", async () => {
    const result = await runTargets({
      engine,
      context: { stream: () => tar.pack(demo), dockerfileInContext: "Dockerfile" },
      targets: [{ name: "app", stage: "app", tags: [tag] }],
      settings: { labels: TEST_LABELS },
    });
    expect(result.status).toBe("succeeded");

    const container = await new GenericContainer(tag)
      .withCommand(["testcontainers"])
      .withLabels(TEST_LABELS)
      .start();
    try {
      // The container exits at once; its output is what the app printed.
      const logs = await container.logs();
      const output = await new Promise<string>((resolve, reject) => {
        let text = "";
        logs.on("data", (chunk: Buffer | string) => (text += chunk.toString()));
        logs.on("end", () => {
          resolve(text);
        });
        logs.on("error", reject);
      });
      expect(output.trim()).toBe("hello, testcontainers");
    } finally {
      await container.stop({ remove: true }).catch(() => undefined);
    }
  });

  it("runs as the unprivileged user the Dockerfile names", async () => {
    const container = await new GenericContainer(tag)
      .withEntrypoint(["id", "-u"])
      .withLabels(TEST_LABELS)
      .start();
    try {
      const logs = await container.logs();
      const output = await new Promise<string>((resolve) => {
        let text = "";
        logs.on("data", (chunk: Buffer | string) => (text += chunk.toString()));
        logs.on("end", () => {
          resolve(text);
        });
      });
      expect(output.trim()).toBe("65534");
    } finally {
      await container.stop({ remove: true }).catch(() => undefined);
    }
  });
});

import { describe, expect, it } from "vitest";
import type { Engine, ImageDetails } from "./engine.js";
import { inspectBaseImages } from "./inspect-base-images.js";

describe("inspectBaseImages", () => {
  it("reads each image's user, env and shell once, and marks the ones the engine lacks", async () => {
    const asked: string[] = [];
    const images: Record<string, ImageDetails> = {
      "node:22": {
        id: "sha256:1",
        sizeBytes: 1,
        tags: ["node:22"],
        labels: {},
        created: "",
        user: "node",
        env: ["PATH=/usr/bin", "NODE_VERSION=22.11.0"],
        shell: [],
      },
    };
    const engine: Pick<Engine, "inspectImage"> = {
      inspectImage: (ref) => {
        asked.push(ref);
        return Promise.resolve(images[ref]);
      },
    };
    const configs = await inspectBaseImages(engine, ["node:22", "debian:12", "node:22"]);
    expect(asked).toEqual(["node:22", "debian:12"]);
    expect([...configs]).toEqual([
      ["node:22", { user: "node", env: ["PATH=/usr/bin", "NODE_VERSION=22.11.0"], shell: [] }],
      ["debian:12", undefined],
    ]);
  });

  it("passes the engine's errors on", async () => {
    const engine: Pick<Engine, "inspectImage"> = {
      inspectImage: () => Promise.reject(new Error("down")),
    };
    await expect(inspectBaseImages(engine, ["x"])).rejects.toThrow("down");
  });
});

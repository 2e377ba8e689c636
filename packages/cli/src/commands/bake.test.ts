import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildOutcome } from "@stagecraft/core";
import type { BakeConfig } from "@stagecraft/core/bake";
import { describe, expect, it } from "vitest";
import type { Io, Output } from "../io.js";
import { bakeCommand, formatBakeMetadata } from "./bake.js";

const ID = `sha256:${"a".repeat(64)}`;

/** An outcome with these targets' results and pushes; the rest of it is not read. */
function outcomeOf(
  targets: BuildOutcome["targets"],
  published: { target: string; tags: { tag: string; digest: string }[] }[] | null = null,
): BuildOutcome {
  return {
    targets,
    report: {
      published: published?.map((entry) => ({ ...entry, status: "pushed", error: null })) ?? null,
    },
  } as unknown as BuildOutcome;
}

describe("formatBakeMetadata", () => {
  it("writes buildx's keys per bake target, names as docker's reference package writes them", () => {
    const config: BakeConfig = {
      group: {},
      target: {
        app: { tags: ["app", "me/app:1", "127.0.0.1:5000/team/app:2"] },
        alias: { tags: ["localhost/alias"] },
        plain: {},
      },
    };
    const text = formatBakeMetadata(
      outcomeOf([
        { name: "app,alias", status: "succeeded", imageId: ID, tags: [] },
        { name: "plain", status: "succeeded", imageId: ID, tags: [] },
        { name: "broken", status: "failed", tags: [] },
      ]),
      { "app,alias": ["app", "alias"], plain: ["plain"], broken: ["broken"] },
      config,
    );
    expect(JSON.parse(text)).toEqual({
      app: {
        "containerimage.config.digest": ID,
        "containerimage.digest": ID,
        "image.name": "docker.io/library/app,docker.io/me/app:1,127.0.0.1:5000/team/app:2",
      },
      alias: {
        "containerimage.config.digest": ID,
        "containerimage.digest": ID,
        "image.name": "localhost/alias",
      },
      plain: { "containerimage.config.digest": ID, "containerimage.digest": ID },
    });
  });

  it("names a target without tags by its output's name=, as buildx", () => {
    const text = formatBakeMetadata(
      outcomeOf([{ name: "app", status: "succeeded", imageId: ID, tags: [] }]),
      { app: ["app"] },
      {
        group: {},
        target: { app: { output: ["type=image,name=127.0.0.1:5000/app:1,push=true"] } },
      },
    );
    expect(JSON.parse(text)).toEqual({
      app: {
        "containerimage.config.digest": ID,
        "containerimage.digest": ID,
        "image.name": "127.0.0.1:5000/app:1",
      },
    });
  });

  it("gives the registry's manifest digest once the target was pushed", () => {
    const pushed = `sha256:${"b".repeat(64)}`;
    const text = formatBakeMetadata(
      outcomeOf(
        [{ name: "app", status: "succeeded", imageId: ID, tags: [] }],
        [{ target: "app", tags: [{ tag: "127.0.0.1:5000/app:1", digest: pushed }] }],
      ),
      { app: ["app"] },
      { group: {}, target: { app: { tags: ["127.0.0.1:5000/app:1"] } } },
    );
    expect(JSON.parse(text)).toEqual({
      app: {
        "containerimage.config.digest": ID,
        "containerimage.digest": pushed,
        "image.name": "127.0.0.1:5000/app:1",
      },
    });
  });
});

describe("bake --log-level", () => {
  function output(): Output & { text: string } {
    return {
      isTTY: false,
      text: "",
      write(text) {
        this.text += text;
      },
    };
  }

  it("writes the engine's diagnostics to --log-file, as build does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-bake-log-"));
    try {
      writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
      writeFileSync(join(dir, "docker-bake.json"), JSON.stringify({ target: { default: {} } }));
      const stderr = output();
      const io: Io = {
        stdout: output(),
        stderr,
        cwd: dir,
        signal: new AbortController().signal,
        // No engine answers there: the run fails, after the engine was made (and logged).
        env: { DOCKER_HOST: `unix://${join(dir, "none.sock")}`, HOME: dir, DOCKER_CONFIG: dir },
      };
      const log = join(dir, "bake.jsonl");
      const code = await bakeCommand(
        ["--progress", "quiet", "--log-level", "debug", "--log-file", log],
        io,
      );
      expect(code, stderr.text).not.toBe(0);
      const lines = readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as { msg: string; endpoint?: string; level: number });
      expect(lines.find((line) => line.msg === "engine endpoint")).toMatchObject({
        level: 20,
        endpoint: expect.stringContaining("none.sock") as unknown,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

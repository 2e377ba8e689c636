import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Io } from "../io.js";
import { bakeCommand } from "./bake.js";

// The analyses bake makes are counted, and the run stops where it would reach the engine.
const analyses = vi.hoisted(() => ({
  files: [] as string[],
  groups: [] as { targetNames?: Readonly<Record<string, string>> | undefined }[],
}));
vi.mock("@stagecraft/core", async (importOriginal) => {
  const core = await importOriginal<typeof import("@stagecraft/core")>();
  return {
    ...core,
    analyzeDockerfile: (...args: Parameters<typeof core.analyzeDockerfile>) => {
      analyses.files.push(args[1]?.file ?? "");
      return core.analyzeDockerfile(...args);
    },
  };
});
vi.mock("@stagecraft/core/bake", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@stagecraft/core/bake")>()),
  runBuildGroups: (options: { groups: (typeof analyses)["groups"] }) => {
    analyses.groups.push(...options.groups);
    return Promise.reject(new Error("the engine is not asked in this test"));
  },
}));

describe("bake's analyses", () => {
  let dir: string;
  const bake = async (hcl: string): Promise<string> => {
    writeFileSync(join(dir, "docker-bake.hcl"), hcl);
    let stderr = "";
    const io: Io = {
      stdout: { write: () => undefined, isTTY: false, columns: undefined },
      stderr: { write: (text) => void (stderr += text), isTTY: false, columns: undefined },
      env: {},
      cwd: dir,
      signal: new AbortController().signal,
    };
    expect(await bakeCommand(["--progress", "plain"], io)).not.toBe(0);
    return stderr;
  };

  beforeEach(() => {
    analyses.files = [];
    analyses.groups = [];
    dir = mkdtempSync(join(tmpdir(), "stagecraft-bake-"));
    for (const name of ["api", "worker"]) {
      mkdirSync(join(dir, name));
      writeFileSync(
        join(dir, name, "Dockerfile"),
        "FROM scratch AS base\nCOPY a /\nFROM base AS test\nFROM base AS runtime\n",
      );
    }
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("analyses each Dockerfile once when every target names its stage", async () => {
    const stderr = await bake(`group "default" { targets = ["api", "api-test", "worker"] }
target "api" {
  context = "api"
  target = "runtime"
}
target "api-test" {
  context = "api"
  target = "test"
}
target "worker" {
  context = "worker"
  target = "runtime"
}
`);
    expect(stderr).toContain("the engine is not asked in this test");
    expect(analyses.files.sort()).toEqual(["api/Dockerfile", "worker/Dockerfile"]);
  });

  it("names a dockerfile-inline's lines as the bake file's", async () => {
    const stderr = await bake(`target "default" {
  context = "api"
  dockerfile-inline = <<EOT
FROM scratch
BOGUS x
EOT
}
`);
    expect(stderr).toContain("docker-bake.hcl:5");
    expect(stderr).toContain("unknown instruction: BOGUS");
  });

  it("analyses each Dockerfile once when a target names no stage, beside one that does", async () => {
    await bake(`group "default" { targets = ["api", "api-test"] }
target "api" {
  context = "api"
}
target "api-test" {
  context = "api"
  target = "test"
}
`);
    expect(analyses.files).toEqual(["api/Dockerfile"]);
    // The target without a stage builds the last one, "runtime", under its bake name.
    expect(analyses.groups.map((group) => group.targetNames)).toEqual([
      { runtime: "api", test: "api-test" },
    ]);
  });
});

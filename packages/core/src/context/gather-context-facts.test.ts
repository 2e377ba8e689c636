import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gatherContextFacts } from "./gather-context-facts.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-facts-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("gatherContextFacts", () => {
  it("measures the heavy top-level directories and says which the ignore file excludes", async () => {
    const dir = context({
      Dockerfile: "FROM scratch\n",
      ".dockerignore": "# deps\nnode_modules\n",
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/objects/ab/cdef": "x".repeat(100),
      "node_modules/a/index.js": "module.exports = 1;\n",
      "src/main.ts": "",
    });
    const facts = await gatherContextFacts({
      contextDir: ".",
      dockerfilePath: "Dockerfile",
      cwd: dir,
    });
    expect(facts.ignoreFile).toBe(".dockerignore");
    expect(facts.ignorePatterns).toEqual(["node_modules"]);
    expect(facts.hazards).toEqual([
      { path: ".git", kind: "vcs", bytes: 121, files: 2, truncated: false, ignored: false },
      {
        path: "node_modules",
        kind: "dependencies",
        bytes: 20,
        files: 1,
        truncated: false,
        ignored: true,
      },
    ]);
    expect(facts.isIgnored("node_modules/a/index.js")).toBe(true);
    expect(facts.isIgnored("src/main.ts")).toBe(false);
  });

  it("prefers <Dockerfile>.dockerignore, and stops counting at maxEntries", async () => {
    const dir = context({
      "docker/app.Dockerfile": "FROM scratch\n",
      "docker/app.Dockerfile.dockerignore": "dist\n",
      ".dockerignore": "*\n",
      "dist/a": "1",
      "dist/b": "2",
      "dist/c": "3",
    });
    const facts = await gatherContextFacts({
      contextDir: dir,
      dockerfilePath: join(dir, "docker/app.Dockerfile"),
      maxEntries: 2,
    });
    expect(facts.ignoreFile).toBe("docker/app.Dockerfile.dockerignore");
    expect(facts.hazards).toEqual([
      { path: "dist", kind: "build-output", bytes: 1, files: 1, truncated: true, ignored: true },
    ]);
  });

  it("has no ignore file and no hazards in a plain context, and names a missing one", async () => {
    const facts = await gatherContextFacts({
      contextDir: context({ "a.txt": "" }),
      dockerfilePath: "/nowhere/Dockerfile",
    });
    expect(facts).toMatchObject({ ignoreFile: undefined, ignorePatterns: [], hazards: [] });
    await expect(
      gatherContextFacts({ contextDir: "/nonexistent-context", dockerfilePath: "Dockerfile" }),
    ).rejects.toThrow("cannot read the build context /nonexistent-context");
  });
});

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fingerprintContextDir } from "./fingerprint-context-dir.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A context with a Dockerfile, a source file, an ignored log and an ignored directory. */
function context(): { dir: string; dockerfile: string } {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-fingerprint-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY . /\n");
  writeFileSync(join(dir, ".dockerignore"), "*.log\nnode_modules\n");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "main.c"), "int main(void) { return 0; }\n");
  writeFileSync(join(dir, "build.log"), "noise\n");
  mkdirSync(join(dir, "node_modules"));
  writeFileSync(join(dir, "node_modules", "dep.js"), "module.exports = 1;\n");
  return { dir, dockerfile: join(dir, "Dockerfile") };
}

const digest = async (ctx: { dir: string; dockerfile: string }): Promise<string> =>
  (await fingerprintContextDir(ctx.dir, ctx.dockerfile)).digest;

describe("fingerprintContextDir", () => {
  it("is the same for an unchanged context and counts only the entries sent", async () => {
    const ctx = context();
    const first = await fingerprintContextDir(ctx.dir, ctx.dockerfile);
    // .dockerignore, Dockerfile, src, src/main.c: not build.log, node_modules or what it holds.
    expect(first.entries).toBe(4);
    expect(await digest(ctx)).toBe(first.digest);
  });

  it("changes when one file's size changes", async () => {
    const ctx = context();
    const before = await digest(ctx);
    writeFileSync(join(ctx.dir, "src", "main.c"), "int main(void) { return 1; }\n\n");
    expect(await digest(ctx)).not.toBe(before);
  });

  it("changes when one file's mtime changes and its size does not", async () => {
    const ctx = context();
    const file = join(ctx.dir, "src", "main.c");
    utimesSync(file, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
    const before = await digest(ctx);
    writeFileSync(file, "int main(void) { return 2; }\n");
    utimesSync(file, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:01Z"));
    expect(await digest(ctx)).not.toBe(before);
  });

  it("changes with a new file, a symlink's target and the ignore file's text", async () => {
    const ctx = context();
    const seen = new Set([await digest(ctx)]);
    writeFileSync(join(ctx.dir, "src", "extra.c"), "\n");
    seen.add(await digest(ctx));
    symlinkSync("main.c", join(ctx.dir, "src", "link"));
    seen.add(await digest(ctx));
    rmSync(join(ctx.dir, "src", "link"));
    symlinkSync("extra.c", join(ctx.dir, "src", "link"));
    seen.add(await digest(ctx));
    writeFileSync(join(ctx.dir, ".dockerignore"), "*.log\nnode_modules\n# a comment\n");
    seen.add(await digest(ctx));
    expect(seen.size).toBe(5);
  });

  it("does not change when an ignored file or directory changes", async () => {
    const ctx = context();
    const before = await digest(ctx);
    writeFileSync(join(ctx.dir, "build.log"), "much more noise than before\n");
    writeFileSync(join(ctx.dir, "other.log"), "new\n");
    writeFileSync(join(ctx.dir, "node_modules", "dep.js"), "module.exports = 2;\n");
    mkdirSync(join(ctx.dir, "node_modules", "more"));
    expect(await digest(ctx)).toBe(before);
  });

  it("reads <Dockerfile>.dockerignore before .dockerignore, as BuildKit does", async () => {
    const ctx = context();
    writeFileSync(`${ctx.dockerfile}.dockerignore`, "src\n");
    const before = await digest(ctx);
    writeFileSync(join(ctx.dir, "src", "main.c"), "changed, and ignored now\n");
    expect(await digest(ctx)).toBe(before);
    writeFileSync(join(ctx.dir, "build.log"), "no longer ignored\n");
    expect(await digest(ctx)).not.toBe(before);
  });

  it("hashes an excluded directory's kept entries (an exception below it)", async () => {
    const ctx = context();
    writeFileSync(join(ctx.dir, ".dockerignore"), "node_modules\n!node_modules/keep.js\n");
    writeFileSync(join(ctx.dir, "node_modules", "keep.js"), "1\n");
    const before = await fingerprintContextDir(ctx.dir, ctx.dockerfile);
    // + build.log, node_modules (sent before the file kept below it), node_modules/keep.js.
    expect(before.entries).toBe(7);
    writeFileSync(join(ctx.dir, "node_modules", "dep.js"), "still ignored, now longer\n");
    expect(await digest(ctx)).toBe(before.digest);
    writeFileSync(join(ctx.dir, "node_modules", "keep.js"), "22\n");
    expect(await digest(ctx)).not.toBe(before.digest);
  });

  it("without a Dockerfile, counts every entry (a named context)", async () => {
    const ctx = context();
    const all = await fingerprintContextDir(ctx.dir, undefined);
    expect(all.entries).toBe(7);
    writeFileSync(join(ctx.dir, "build.log"), "counted here\n!\n");
    expect((await fingerprintContextDir(ctx.dir, undefined)).digest).not.toBe(all.digest);
  });
});

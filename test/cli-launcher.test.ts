import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI } from "./support/cli.js";

// The bin is a launcher that runs the bundle through V8's code cache; these run a copy of dist/bin
// so the caches they make and break are their own.
describe("the stagecraft bin's code cache", () => {
  let bin: string;
  const run = (args: string[], env: Record<string, string> = {}): string =>
    execFileSync(process.execPath, [join(bin, "stagecraft.cjs"), ...args], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
  const caches = (): string[] =>
    readdirSync(bin)
      .filter((name) => name.endsWith(".v8cache"))
      .sort();

  beforeEach(() => {
    bin = join(mkdtempSync(join(tmpdir(), "stagecraft-bin-")), "bin");
    cpSync(dirname(CLI), bin, {
      recursive: true,
      filter: (source) => !source.endsWith(".v8cache"),
    });
  });

  afterEach(() => {
    rmSync(dirname(bin), { recursive: true, force: true });
  });

  it("is written by the first run of each kind and used by the next", () => {
    expect(caches()).toEqual([]);
    const version = run(["--version"]);
    expect(version).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(caches()).toEqual([`stagecraft-bundle.cjs.other.${process.arch}.v8cache`]);
    // Accepted by V8, so not written again (a rejected one would be replaced).
    const other = join(bin, `stagecraft-bundle.cjs.other.${process.arch}.v8cache`);
    const written = statSync(other).mtimeMs;
    expect(run(["--version"])).toBe(version);
    expect(statSync(other).mtimeMs).toBe(written);
    // `build` keeps a cache of its own (it runs other code); a usage error is enough to make it.
    expect(() => run(["build", "--no-such-flag"])).toThrow();
    expect(caches()).toEqual([
      `stagecraft-bundle.cjs.build.${process.arch}.v8cache`,
      `stagecraft-bundle.cjs.other.${process.arch}.v8cache`,
    ]);
  });

  it("ignores a damaged cache and replaces it", () => {
    const cache = join(bin, `stagecraft-bundle.cjs.other.${process.arch}.v8cache`);
    writeFileSync(cache, "not a V8 code cache");
    expect(run(["--help"])).toContain("Usage: stagecraft <command>");
    expect(caches()).toHaveLength(1);
    expect(statSync(cache).size).toBeGreaterThan(1000);
  });

  it("runs without one where it cannot write, and not at all with STAGECRAFT_CODE_CACHE=0", () => {
    expect(run(["--version"], { STAGECRAFT_CODE_CACHE: "0" })).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(caches()).toEqual([]);
    // A directory where the cache would go: the write fails even for root.
    const cache = join(bin, `stagecraft-bundle.cjs.other.${process.arch}.v8cache`);
    mkdirSync(cache);
    expect(run(["--version"])).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(readdirSync(bin).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(statSync(cache).isDirectory()).toBe(true);
  });
});

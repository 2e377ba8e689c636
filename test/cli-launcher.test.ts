import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
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
      stdio: ["ignore", "pipe", "pipe"],
    });
  // The cache names carry the first 16 hex digits of the bundle's SHA-256.
  const cacheName = (kind: string, bundle = "stagecraft-bundle.cjs"): string =>
    `${bundle}.${createHash("sha256")
      .update(readFileSync(join(bin, bundle)))
      .digest("hex")
      .slice(0, 16)}.${kind}.${process.arch}.v8cache`;
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

  it("is written by the first run of each command and used by the next", () => {
    expect(caches()).toEqual([]);
    const version = run(["--version"]);
    expect(version).toMatch(/^\d+\.\d+\.\d+\n$/);
    // `--version`, `--help` and usage errors share one cache, which defines no command's.
    expect(caches()).toEqual([cacheName("help")]);
    // Accepted by V8, so not written again (a rejected one would be replaced).
    const help = join(bin, cacheName("help"));
    const written = statSync(help).mtimeMs;
    expect(run(["--version"])).toBe(version);
    expect(() => run(["build", "--no-such-flag"])).toThrow();
    expect(run(["build", "--help"])).toContain("Usage: stagecraft build");
    expect(caches()).toEqual([cacheName("help")]);
    expect(statSync(help).mtimeMs).toBe(written);
    // A command that did its work keeps a cache of its own (each runs other code).
    const project = join(dirname(bin), "project");
    mkdirSync(project);
    writeFileSync(join(project, "Dockerfile"), "FROM scratch AS base\nCOPY a /\n");
    writeFileSync(join(project, "a"), "a\n");
    run(["plan", project, "--format", "json"]);
    expect(caches()).toEqual([cacheName("help"), cacheName("plan")]);
    // `check` runs a bundle of its own, with a cache of its own, used by the next check.
    const checked = run(["check", project, "--offline"]);
    const check = cacheName("check", "stagecraft-check.cjs");
    expect(caches()).toEqual([cacheName("help"), cacheName("plan"), check]);
    const checkWritten = statSync(join(bin, check)).mtimeMs;
    expect(run(["check", project, "--offline"])).toBe(checked);
    expect(statSync(join(bin, check)).mtimeMs).toBe(checkWritten);
  });

  it("gives a build that follows a first --help a cache of the build's code", () => {
    // What a new user does: ask for help, get a flag wrong, then build.
    expect(run(["--help"])).toContain("Usage: stagecraft <command>");
    expect(run(["build", "--help"])).toContain("Usage: stagecraft build");
    expect(() => run(["build", "--no-such-flag"])).toThrow();
    const helpSize = statSync(join(bin, cacheName("help"))).size;
    const project = join(dirname(bin), "project");
    mkdirSync(project);
    writeFileSync(join(project, "Dockerfile"), "FROM scratch AS base\nCOPY a /\n");
    writeFileSync(join(project, "a"), "a\n");
    const build = (): string => run(["build", project, "--target", "base", "--progress", "plain"]);
    build();
    // Started from the help cache, and left one that holds what the build compiled: a cache
    // written by a build from nothing is the same size, give or take what differs between runs.
    const cache = join(bin, cacheName("build"));
    expect(caches()).toEqual([cacheName("build"), cacheName("help")]);
    const buildSize = statSync(cache).size;
    expect(buildSize).toBeGreaterThan(2 * helpSize);
    const written = statSync(cache).mtimeMs;
    build();
    expect(statSync(cache).mtimeMs).toBe(written);
    rmSync(join(bin, cacheName("help")));
    rmSync(cache);
    build();
    expect(Math.abs(statSync(cache).size - buildSize)).toBeLessThan(buildSize * 0.05);
  });

  it("runs a chunk only when its package is first required, from a cache of its own", () => {
    run(["--version"]);
    expect(caches().filter((name) => name.startsWith("stagecraft-yaml.cjs."))).toEqual([]);
    // A compose file makes `bake --print` require yaml, which is in the yaml chunk.
    const project = join(dirname(bin), "project");
    mkdirSync(project);
    writeFileSync(join(project, "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(project, "compose.yaml"), "services:\n  app:\n    build: .\n");
    const print = (): string =>
      execFileSync(process.execPath, [join(bin, "stagecraft.cjs"), "bake", "--print"], {
        cwd: project,
        encoding: "utf8",
      });
    const printed = print();
    expect(JSON.parse(printed)).toMatchObject({ target: { app: { context: "." } } });
    const yamlCaches = caches().filter((name) => name.startsWith("stagecraft-yaml.cjs."));
    expect(yamlCaches).toHaveLength(1);
    const written = statSync(join(bin, yamlCaches[0] ?? "")).mtimeMs;
    expect(print()).toBe(printed);
    expect(statSync(join(bin, yamlCaches[0] ?? "")).mtimeMs).toBe(written);
  });

  it("does not run a rebuilt bundle of the same length from the old one's cache", () => {
    expect(run(["--help"])).toContain("Usage: stagecraft <command>");
    const oldHash = createHash("sha256")
      .update(readFileSync(join(bin, "stagecraft-bundle.cjs")))
      .digest("hex");
    // What a rebuild does: new code (here the same length), and its hash in the launcher.
    const bundle = join(bin, "stagecraft-bundle.cjs");
    const code = readFileSync(bundle, "latin1");
    expect(code).toContain("Usage: stagecraft <command>");
    writeFileSync(
      bundle,
      code.replace("Usage: stagecraft <command>", "Usage: stagecraft <COMMAND>"),
      "latin1",
    );
    const newHash = createHash("sha256").update(readFileSync(bundle)).digest("hex");
    const launcher = join(bin, "stagecraft.cjs");
    writeFileSync(launcher, readFileSync(launcher, "utf8").replace(oldHash, newHash));
    expect(run(["--help"])).toContain("Usage: stagecraft <COMMAND>");
    expect(caches()).toContain(cacheName("help"));
    expect(caches()).toHaveLength(2);
  });

  it("ignores a damaged cache and replaces it", () => {
    const cache = join(bin, cacheName("help"));
    writeFileSync(cache, "not a V8 code cache");
    expect(run(["--help"])).toContain("Usage: stagecraft <command>");
    expect(caches()).toHaveLength(1);
    expect(statSync(cache).size).toBeGreaterThan(1000);
  });

  it("runs without one where it cannot write, and not at all with STAGECRAFT_CODE_CACHE=0", () => {
    expect(run(["--version"], { STAGECRAFT_CODE_CACHE: "0" })).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(caches()).toEqual([]);
    // A directory where the cache would go: the write fails even for root.
    const cache = join(bin, cacheName("help"));
    mkdirSync(cache);
    expect(run(["--version"])).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(readdirSync(bin).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(statSync(cache).isDirectory()).toBe(true);
  });
});

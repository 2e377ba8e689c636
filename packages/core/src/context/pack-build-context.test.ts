import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import tarFs from "tar-fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ContextError } from "../errors.js";
import { packBuildContext, packBuildContextUnder } from "./pack-build-context.js";
import type { PackBuildContextOptions } from "./pack-build-context.js";
import { nodeContextFs } from "./walk-context-dir.js";
import type { ContextFs, ContextWarning } from "./walk-context-dir.js";

/** A tar header as tar-stream decodes it. */
interface TarHeader {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  uname: string;
  gname: string;
}

let root: string;
let context: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "stagecraft-context-")));
  context = join(root, "ctx");
  await mkdir(context);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes files (a path ending in "/" makes an empty directory). */
async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith("/")) {
      await mkdir(join(dir, path), { recursive: true });
    } else {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
  }
}

function pack(options: Partial<PackBuildContextOptions> = {}) {
  return packBuildContext({
    contextDir: context,
    dockerfilePath: join(context, "Dockerfile"),
    ...options,
  });
}

/** Extracts a tar with tar-fs into a fresh directory, recording every header (only files and directories are created). */
async function readTar(tar: Readable): Promise<{ headers: TarHeader[]; dir: string }> {
  const dir = await mkdtemp(join(root, "extracted-"));
  const headers: TarHeader[] = [];
  await new Promise<void>((resolve, reject) => {
    const extract = tarFs.extract(dir, {
      ignore: (_name, header) => {
        const recorded = header as unknown as TarHeader;
        headers.push({ ...recorded });
        return recorded.type !== "file" && recorded.type !== "directory";
      },
    });
    extract.on("error", reject);
    extract.on("finish", resolve);
    tar.on("error", reject);
    tar.pipe(extract);
  });
  return { headers, dir };
}

async function entryNames(options: Partial<PackBuildContextOptions> = {}): Promise<string[]> {
  const { headers } = await readTar((await pack(options)).stream());
  return headers.map((header) => header.name);
}

describe("packBuildContext: the tar", () => {
  it("sends every file, directory and its headers as the docker CLI does", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\nCOPY . /\n",
      "b.txt": "bee",
      "a/z.txt": "zed",
      "a.txt": "ay",
      "empty/": "",
      "run.sh": "#!/bin/sh\n",
    });
    await chmod(join(context, "run.sh"), 0o755);
    await chmod(join(context, "b.txt"), 0o600);
    await utimes(join(context, "b.txt"), 1_700_000_000, 1_700_000_000.75);

    const result = await pack();
    const { headers, dir } = await readTar(result.stream());

    // Depth first, each directory's names in byte order, as Go's filepath.WalkDir: "a/" before "a.txt".
    expect(headers.map((header) => header.name)).toEqual([
      "Dockerfile",
      "a/",
      "a/z.txt",
      "a.txt",
      "b.txt",
      "empty/",
      "run.sh",
    ]);
    for (const header of headers) {
      expect(header).toMatchObject({ uid: 0, gid: 0, uname: "", gname: "" });
    }
    const byName = new Map(headers.map((header) => [header.name, header]));
    expect(byName.get("a/")).toMatchObject({ type: "directory", size: 0 });
    expect(byName.get("run.sh")).toMatchObject({ type: "file", mode: 0o755 });
    expect(byName.get("b.txt")).toMatchObject({ type: "file", mode: 0o600, size: 3 });
    expect(byName.get("b.txt")?.mtime.getTime()).toBe(1_700_000_000_000);
    expect(await readFile(join(dir, "a", "z.txt"), "utf8")).toBe("zed");

    expect(result).toMatchObject({
      dockerfileInContext: "Dockerfile",
      contextDir: context,
      ignoreFile: undefined,
      files: 5,
      bytes: 22 + 3 + 3 + 2 + 10,
      ignoredCount: 0,
      warnings: [],
    });
  });

  it("keeps permission bits the process umask would clear", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "shared.txt": "x" });
    await chmod(join(context, "shared.txt"), 0o666);

    const { headers } = await readTar((await pack()).stream());

    expect(headers.find((header) => header.name === "shared.txt")?.mode).toBe(0o666);
  });

  it("gives identical bytes on every stream() call, including concurrent ones", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "src/index.ts": "export {};\n",
      "data.bin": randomBytes(200_000).toString("base64"),
    });
    const result = await pack();

    const first = Buffer.concat(await result.stream().toArray());
    const [second, third] = await Promise.all([
      result.stream().toArray(),
      result.stream().toArray(),
    ]);

    expect(first.length).toBeGreaterThan(200_000);
    expect(Buffer.concat(second).equals(first)).toBe(true);
    expect(Buffer.concat(third).equals(first)).toBe(true);
  });

  it("sends symlinks as symlinks and never follows them, even out of the context", async () => {
    await writeTree(root, { "outside/secret.txt": "secret", "outside/dir/nested.txt": "nested" });
    await writeTree(context, { Dockerfile: "FROM scratch\n", "target.txt": "t" });
    await symlink("target.txt", join(context, "inside-link"));
    await symlink(join(root, "outside", "secret.txt"), join(context, "absolute-out"));
    await symlink("../outside/dir", join(context, "dir-out"));
    await symlink("missing", join(context, "dangling"));

    const result = await pack();
    const { headers } = await readTar(result.stream());

    const links = headers.filter((header) => header.type === "symlink");
    expect(links.map(({ name, linkname, size, mode }) => ({ name, linkname, size, mode }))).toEqual(
      [
        {
          name: "absolute-out",
          linkname: join(root, "outside", "secret.txt"),
          size: 0,
          mode: 0o777,
        },
        { name: "dangling", linkname: "missing", size: 0, mode: 0o777 },
        { name: "dir-out", linkname: "../outside/dir", size: 0, mode: 0o777 },
        { name: "inside-link", linkname: "target.txt", size: 0, mode: 0o777 },
      ],
    );
    expect(headers.map((header) => header.name)).not.toContain("dir-out/nested.txt");
    expect(result.files).toBe(2);
  });

  it("sends a FIFO as a FIFO and a socket as an empty file, as docker build does", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "run/": "" });
    execFileSync("mkfifo", [join(context, "run", "pipe")]);
    await chmod(join(context, "run", "pipe"), 0o640);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(context, "run", "app.sock"), resolve));
    try {
      const seen: ContextWarning[] = [];
      const result = await pack({ onWarning: (warning) => seen.push(warning) });
      const { headers } = await readTar(result.stream());

      expect(headers.map((header) => [header.name, header.type, header.size])).toEqual([
        ["Dockerfile", "file", 13],
        ["run/", "directory", 0],
        ["run/app.sock", "file", 0],
        ["run/pipe", "fifo", 0],
      ]);
      expect(headers[3]?.mode).toBe(0o640);
      expect(seen).toEqual([
        {
          path: "run/app.sock",
          message:
            "run/app.sock is a socket: it is sent as an empty file, as docker build sends it",
        },
      ]);
      expect(result.warnings).toEqual(seen);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("sends a name that is not UTF-8 byte for byte", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n" });
    const raw = Buffer.from("caf\xe9", "latin1");
    const dir = Buffer.concat([Buffer.from(`${context}/`), raw]);
    await mkdir(dir);
    await writeFile(Buffer.concat([dir, Buffer.from("/bad\xff.txt", "latin1")]), "raw");

    const result = await pack();
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream()) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks);
    // USTAR names at the start of each 512-byte header: the raw bytes, not U+FFFD.
    const names: Buffer[] = [];
    for (let offset = 0; offset + 512 <= tar.length; offset += 512) {
      const header = tar.subarray(offset, offset + 512);
      if (header.every((byte) => byte === 0)) break;
      const name = header.subarray(0, 100);
      names.push(name.subarray(0, name.indexOf(0)));
      const size = Number.parseInt(header.subarray(124, 136).toString("latin1"), 8);
      offset += Math.ceil(size / 512) * 512;
    }

    expect(names.map((name) => name.toString("latin1"))).toEqual([
      "Dockerfile",
      "caf\xe9/",
      "caf\xe9/bad\xff.txt",
    ]);
    expect(result.files).toBe(2);
  });

  it("resolves relative paths against cwd, the Dockerfile's too (as docker build -f)", async () => {
    await writeTree(root, {
      "ctx/Dockerfile": "FROM scratch\n",
      "ctx/docker/app.Dockerfile": "FROM scratch\n",
    });

    const result = await packBuildContext({
      contextDir: "ctx",
      dockerfilePath: "ctx/docker/app.Dockerfile",
      cwd: root,
    });

    expect(result.contextDir).toBe(context);
    expect(result.dockerfileInContext).toBe("docker/app.Dockerfile");
  });

  it("names the Dockerfile by its real path when the one given is a symlink", async () => {
    await writeTree(context, { "docker/prod.Dockerfile": "FROM scratch\n" });
    await symlink("docker/prod.Dockerfile", join(context, "Dockerfile"));

    expect((await pack()).dockerfileInContext).toBe("docker/prod.Dockerfile");
  });
});

describe("packBuildContext: .dockerignore", () => {
  const tree = {
    Dockerfile: "FROM scratch\n",
    "a.txt": "a",
    "debug.log": "log",
    "README.md": "readme",
    "NOTES.md": "notes",
    "sub/a.txt": "sub a",
    "sub/deep/trace.log": "log",
    "sub/keep.txt": "keep",
    "build/out.bin": "bin",
    "build/keep.txt": "keep",
    "node_modules/x/index.js": "x",
  };

  const cases: { name: string; ignore: string; expected: string[]; ignored: number }[] = [
    {
      name: "a plain name only matches at the root, with or without a leading slash",
      ignore: "a.txt\n/NOTES.md\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "README.md",
        "build/",
        "build/keep.txt",
        "build/out.bin",
        "debug.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "sub/",
        "sub/a.txt",
        "sub/deep/",
        "sub/deep/trace.log",
        "sub/keep.txt",
      ],
      ignored: 2,
    },
    {
      name: "* does not cross a slash, ** does",
      ignore: "*.log\n**/*.log\nnode_modules\nbuild\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "sub/",
        "sub/a.txt",
        "sub/deep/",
        "sub/keep.txt",
      ],
      ignored: 4,
    },
    {
      name: "a directory takes its contents with it; ! re-includes a path under it",
      ignore: "build\nnode_modules/\n!build/keep.txt\n",
      // The excluded build/ is walked for the exception, and sent before build/keep.txt (fsutil).
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "build/",
        "build/keep.txt",
        "debug.log",
        "sub/",
        "sub/a.txt",
        "sub/deep/",
        "sub/deep/trace.log",
        "sub/keep.txt",
      ],
      ignored: 2,
    },
    {
      name: "the last matching pattern wins",
      ignore: "*.md\n!README.md\n*\n!sub\nsub/deep\n!Dockerfile\n",
      expected: ["Dockerfile", "sub/", "sub/a.txt", "sub/keep.txt"],
      ignored: 8,
    },
    {
      name: "an exception with a wildcard reaches into every excluded directory (BuildKit)",
      ignore: "build\nsub\n!**/keep.txt\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "build/",
        "build/keep.txt",
        "debug.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "sub/",
        "sub/keep.txt",
      ],
      ignored: 4,
    },
    {
      name: "an exception without a wildcard reaches only into the directories it starts with",
      ignore: "build\nsub\n!sub/keep.txt\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "debug.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "sub/",
        "sub/keep.txt",
      ],
      ignored: 3,
    },
    {
      name: "* then !**/*.log keeps the logs at every depth",
      ignore: "*\n!**/*.log\n!Dockerfile\n",
      expected: ["Dockerfile", "debug.log", "sub/", "sub/deep/", "sub/deep/trace.log"],
      ignored: 12,
    },
    {
      name: "regular-expression characters in a pattern are literal",
      ignore: "a.txt+\nREADME.(md)\nNOTES|md\nbuild{,x}\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "build/",
        "build/keep.txt",
        "build/out.bin",
        "debug.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "sub/",
        "sub/a.txt",
        "sub/deep/",
        "sub/deep/trace.log",
        "sub/keep.txt",
      ],
      ignored: 0,
    },
    {
      name: "matching is case-sensitive; comments and a # after spaces",
      ignore: "# readme.md\nreadme.md\n  #x\nA.TXT\n",
      expected: [
        ".dockerignore",
        "Dockerfile",
        "NOTES.md",
        "README.md",
        "a.txt",
        "build/",
        "build/keep.txt",
        "build/out.bin",
        "debug.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "sub/",
        "sub/a.txt",
        "sub/deep/",
        "sub/deep/trace.log",
        "sub/keep.txt",
      ],
      ignored: 0,
    },
  ];

  for (const { name, ignore, expected, ignored } of cases) {
    it(name, async () => {
      await writeTree(context, { ...tree, ".dockerignore": ignore });

      const result = await pack();
      const { headers } = await readTar(result.stream());

      expect(headers.map((header) => header.name).sort()).toEqual(expected);
      expect(result.ignoredCount).toBe(ignored);
      expect(result.ignoreFile).toBe(join(context, ".dockerignore"));
    });
  }

  it("leaves an excluded .dockerignore out: the daemon does not read it from a tar", async () => {
    await writeTree(context, { ...tree, ".dockerignore": ".dockerignore\n*.md\n" });

    const names = await entryNames();

    expect(names).not.toContain(".dockerignore");
    expect(names).toContain("Dockerfile");
  });

  it("carries an excluded Dockerfile, which the daemon reads from the tar, and says so", async () => {
    await writeTree(context, { ...tree, ".dockerignore": "*\n" });
    const seen: ContextWarning[] = [];

    const result = await pack({ onWarning: (warning) => seen.push(warning) });

    expect((await readTar(result.stream())).headers.map((header) => header.name)).toEqual([
      "Dockerfile",
    ]);
    expect(result.files).toBe(1);
    expect(seen).toEqual([
      {
        path: "Dockerfile",
        message: `${join(context, ".dockerignore")} excludes the Dockerfile, but a tar upload must carry it: COPY . gets it, where docker build leaves it out (send the context through a session to match)`,
      },
    ]);
    expect(result.warnings).toEqual(seen);
  });

  it("sends an excluded Dockerfile in an excluded directory, without the directory entry", async () => {
    await writeTree(context, {
      ...tree,
      "sub/Dockerfile": "FROM scratch\n",
      ".dockerignore": "sub\n",
    });

    const names = await entryNames({ dockerfilePath: join(context, "sub", "Dockerfile") });

    expect(names).toContain("sub/Dockerfile");
    expect(names).toContain("Dockerfile");
    expect(names.filter((name) => name.startsWith("sub"))).toEqual(["sub/Dockerfile"]);
  });

  it("does not force in a Dockerfile.dockerignore the patterns exclude", async () => {
    await writeTree(context, { ...tree, "Dockerfile.dockerignore": "*\n" });

    expect(await entryNames()).toEqual(["Dockerfile"]);
  });

  it("prefers <Dockerfile>.dockerignore next to the Dockerfile over the context's .dockerignore", async () => {
    await writeTree(context, {
      ...tree,
      ".dockerignore": "a.txt\n",
      "docker/app.Dockerfile": "FROM scratch\n",
      "docker/app.Dockerfile.dockerignore": "README.md\nNOTES.md\nsub\nbuild\nnode_modules\n",
    });

    const result = await pack({ dockerfilePath: join(context, "docker", "app.Dockerfile") });
    const names = (await readTar(result.stream())).headers.map((header) => header.name);

    expect(result.ignoreFile).toBe(join(context, "docker", "app.Dockerfile.dockerignore"));
    expect(names).toContain("a.txt");
    expect(names).not.toContain("README.md");
    // The context's .dockerignore is still sent, like any file the active patterns keep.
    expect(names).toContain(".dockerignore");
  });

  it("lets an empty <Dockerfile>.dockerignore override .dockerignore", async () => {
    await writeTree(context, { ...tree, ".dockerignore": "*\n", "Dockerfile.dockerignore": "" });

    const names = await entryNames();

    expect(names).toContain("node_modules/x/index.js");
    expect(names).toContain("a.txt");
  });

  it("uses the ignore file it is given instead of either", async () => {
    await writeTree(context, { ...tree, ".dockerignore": "a.txt\n" });
    await writeTree(root, { "custom.ignore": "sub\nbuild\nnode_modules\n*.md\n" });

    const result = await pack({ ignoreFile: join(root, "custom.ignore") });
    const names = (await readTar(result.stream())).headers.map((header) => header.name);

    expect(result.ignoreFile).toBe(join(root, "custom.ignore"));
    expect(names).toEqual([".dockerignore", "Dockerfile", "a.txt", "debug.log"]);
  });

  it("rejects a pattern docker rejects, naming the ignore file", async () => {
    await writeTree(context, { ...tree, ".dockerignore": "ok\n[unclosed\n" });

    await expect(pack()).rejects.toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: join(context, ".dockerignore"),
      message: `invalid pattern "[unclosed" in ${join(context, ".dockerignore")}: syntax error in pattern`,
    });
  });
});

describe("packBuildContext: a Dockerfile outside the context", () => {
  const dockerfile = "FROM scratch\nCOPY . /app\n";

  it("warns that COPY . gets the added files, which docker build does not send", async () => {
    await writeTree(root, { "outside/Dockerfile": dockerfile });
    await writeTree(context, { "a.txt": "a" });

    const result = await pack({ dockerfilePath: join(root, "outside", "Dockerfile") });

    expect(result.warnings).toEqual([
      {
        path: result.dockerfileInContext,
        message: `the Dockerfile is outside the context, so a tar upload carries it as ${result.dockerfileInContext}, named in .dockerignore: COPY . gets both, where docker build gets neither (send the context through a session to match)`,
      },
    ]);
  });

  it("adds it under .dockerfile.<hash> and appends that name to .dockerignore, as docker does", async () => {
    await writeTree(root, { "docker/Dockerfile": dockerfile });
    await writeTree(context, { "a.txt": "a", "secret.env": "x", ".dockerignore": "secret.env" });
    await chmod(join(context, ".dockerignore"), 0o640);

    const result = await pack({ dockerfilePath: join(root, "docker", "Dockerfile") });
    const { headers, dir } = await readTar(result.stream());

    expect(result.dockerfileInContext).toMatch(/^\.dockerfile\.[0-9a-f]{20}$/);
    const name = result.dockerfileInContext;
    expect(headers.map((header) => header.name)).toEqual(["a.txt", name, ".dockerignore"]);
    expect(headers[1]).toMatchObject({ type: "file", mode: 0o600, uid: 0, gid: 0 });
    expect(headers[2]).toMatchObject({ type: "file", mode: 0o640 });
    expect(await readFile(join(dir, name), "utf8")).toBe(dockerfile);
    expect(await readFile(join(dir, ".dockerignore"), "utf8")).toBe(`secret.env\n${name}\n`);
    expect(result.files).toBe(3);
    expect(result.bytes).toBe(1 + dockerfile.length + `secret.env\n${name}\n`.length);
  });

  it("creates a .dockerignore naming itself and the Dockerfile when the context has none", async () => {
    await writeTree(root, { "docker/Dockerfile": dockerfile });
    await writeTree(context, { "a.txt": "a" });

    const result = await pack({ dockerfilePath: join(root, "docker", "Dockerfile") });
    const { headers, dir } = await readTar(result.stream());

    expect(headers.map((header) => header.name)).toEqual([
      "a.txt",
      result.dockerfileInContext,
      ".dockerignore",
    ]);
    expect(headers[2]).toMatchObject({ mode: 0o600 });
    expect(await readFile(join(dir, ".dockerignore"), "utf8")).toBe(
      `.dockerignore\n${result.dockerfileInContext}\n`,
    );
  });

  it("gives the same name on every run, and a different one for a different Dockerfile", async () => {
    await writeTree(root, { "one/Dockerfile": dockerfile, "two/Dockerfile": "FROM scratch\n" });
    await writeTree(context, { "a.txt": "a" });

    const first = await pack({ dockerfilePath: join(root, "one", "Dockerfile") });
    const again = await pack({ dockerfilePath: join(root, "one", "Dockerfile") });
    const other = await pack({ dockerfilePath: join(root, "two", "Dockerfile") });

    expect(again.dockerfileInContext).toBe(first.dockerfileInContext);
    expect(other.dockerfileInContext).not.toBe(first.dockerfileInContext);
    expect(
      Buffer.concat(await again.stream().toArray()).equals(
        Buffer.concat(await first.stream().toArray()),
      ),
    ).toBe(true);
  });

  it("applies the <Dockerfile>.dockerignore that sits next to it", async () => {
    await writeTree(root, {
      "docker/Dockerfile": dockerfile,
      "docker/Dockerfile.dockerignore": "b.txt\n",
    });
    await writeTree(context, { "a.txt": "a", "b.txt": "b" });

    const result = await pack({ dockerfilePath: join(root, "docker", "Dockerfile") });
    const names = (await readTar(result.stream())).headers.map((header) => header.name);

    expect(names).toEqual(["a.txt", result.dockerfileInContext, ".dockerignore"]);
  });
});

describe("packBuildContext: errors before anything is streamed", () => {
  it("a missing context directory", async () => {
    const missing = join(root, "nope");

    const error: unknown = await pack({ contextDir: missing }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ContextError);
    expect(error).toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      path: missing,
      message: `build context ${missing} does not exist`,
    });
    expect((error as ContextError).hint).toMatch(/directory/);
  });

  it("a context that is a file", async () => {
    await writeTree(root, { "file.txt": "x" });

    await expect(pack({ contextDir: join(root, "file.txt") })).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      path: join(root, "file.txt"),
      message: `build context ${join(root, "file.txt")} is a file, not a directory`,
    });
  });

  it("a missing Dockerfile", async () => {
    const error: unknown = await pack().catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      path: join(context, "Dockerfile"),
      message: `Dockerfile ${join(context, "Dockerfile")} does not exist`,
    });
    expect((error as ContextError).hint).toMatch(/-f/);
  });

  it("a Dockerfile path that is a directory", async () => {
    await writeTree(context, { "Dockerfile/": "" });

    await expect(pack()).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      message: `Dockerfile ${join(context, "Dockerfile")} is not a file`,
    });
  });

  it("a missing ignore file that was asked for", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n" });

    await expect(pack({ ignoreFile: join(root, "nope.ignore") })).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      path: join(root, "nope.ignore"),
    });
  });

  // Tests run as root, where chmod 000 does not stop a read: the walk's file system is swapped for
  // one that answers EACCES for one path, as open(2) and readdir(2) do for other users.
  function denying(path: string): ContextFs {
    const denied = (syscall: string) =>
      Promise.reject(
        Object.assign(new Error(`EACCES: permission denied, ${syscall} '${path}'`), {
          code: "EACCES",
          path,
        }),
      );
    return {
      readdir: (dir) => (dir === path ? denied("scandir") : nodeContextFs.readdir(dir)),
      sizeOfReadableFile: (file) =>
        file === path ? denied("open") : nodeContextFs.sizeOfReadableFile(file),
    };
  }

  it("an unreadable file, named exactly", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "a/b/secret.key": "k", "a/ok": "" });
    const secret = join(context, "a", "b", "secret.key");

    const error: unknown = await pack({ fs: denying(secret) }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ContextError);
    expect(error).toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: secret,
      message: `cannot read file ${secret} in the build context: permission denied`,
    });
    expect((error as ContextError).hint).toMatch(/\.dockerignore/);
  });

  it("an unreadable directory, named exactly", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "private/x": "x" });
    const dir = join(context, "private");

    await expect(pack({ fs: denying(dir) })).rejects.toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: dir,
      message: `cannot read directory ${dir} in the build context: permission denied`,
    });
  });

  it("no error for an unreadable file the patterns exclude (it is never opened)", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "secret.key": "k",
      ".dockerignore": "secret.key\n",
    });

    const result = await pack({ fs: denying(join(context, "secret.key")) });

    expect(result.files).toBe(2);
  });

  it("no error for an unreadable directory the patterns exclude, even when it is walked", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "private/x.log": "x",
      "ok/y.log": "y",
      ".dockerignore": "private\nok\n!**/*.log\n",
    });

    const names = (
      await readTar((await pack({ fs: denying(join(context, "private")) })).stream())
    ).headers.map((header) => header.name);

    // fsutil passes over an excluded directory it may not read.
    expect(names).toEqual([".dockerignore", "Dockerfile", "ok/", "ok/y.log"]);
  });

  it("a file that disappears between readdir and open(2) fails the walk", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "gone.txt": "x" });
    // This goes through the real open(2) check, which also catches EACCES for a non-root user.
    const vanishing: ContextFs = {
      readdir: async (dir) => {
        const dirents = await nodeContextFs.readdir(dir);
        await rm(join(context, "gone.txt"), { force: true });
        return dirents;
      },
      sizeOfReadableFile: nodeContextFs.sizeOfReadableFile,
    };

    await expect(pack({ fs: vanishing })).rejects.toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: join(context, "gone.txt"),
      message: `cannot read file ${join(context, "gone.txt")} in the build context: it disappeared while the context was read`,
    });
  });
});

describe("packBuildContextUnder: stops walking at a size", () => {
  /** A ContextFs that counts the files it opens. */
  function counting(): { fs: ContextFs; opened: string[] } {
    const opened: string[] = [];
    return {
      opened,
      fs: {
        readdir: nodeContextFs.readdir,
        sizeOfReadableFile: (path) => {
          opened.push(path);
          return nodeContextFs.sizeOfReadableFile(path);
        },
      },
    };
  }

  const under = (limitBytes: number, options: Partial<PackBuildContextOptions> = {}) =>
    packBuildContextUnder(
      { contextDir: context, dockerfilePath: join(context, "Dockerfile"), ...options },
      limitBytes,
    );

  it("packs a context below the limit exactly as packBuildContext does", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "a/b.txt": "0123456789" });
    const sized = await under(1024);
    expect(sized.kind).toBe("packed");
    if (sized.kind !== "packed") return;
    const whole = await pack();
    expect(sized.context.bytes).toBe(whole.bytes);
    const [ours, theirs] = await Promise.all([
      readTar(sized.context.stream()),
      readTar(whole.stream()),
    ]);
    expect(ours.headers).toEqual(theirs.headers);
  });

  it("stops opening files once the ones to send reach the limit", async () => {
    const files: Record<string, string> = { Dockerfile: "FROM scratch\n" };
    for (let index = 0; index < 400; index++) {
      files[`dir-${String(index % 20).padStart(2, "0")}/file-${index}.bin`] = "x".repeat(1000);
    }
    await writeTree(context, files);
    const { fs, opened } = counting();

    const sized = await under(10_000, { fs });

    expect(sized).toMatchObject({ kind: "too-large", contextDir: context, limitBytes: 10_000 });
    // Ten files reach the limit; the walk opens at most one directory's worth of files beyond it.
    expect(opened.length).toBeLessThan(60);
    const whole = counting();
    await pack({ fs: whole.fs });
    expect(whole.opened).toHaveLength(401);
  });

  it("does not count what .dockerignore leaves out", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      ".dockerignore": "node_modules\n",
      "node_modules/big.bin": "x".repeat(50_000),
      "src/app.js": "1",
    });
    const sized = await under(10_000);
    expect(sized.kind).toBe("packed");
  });

  it("asks for a session when the ignore file excludes the Dockerfile, walking nothing", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "a.txt": "a",
      ".dockerignore": "*\n",
    });
    const { fs, opened } = counting();

    await expect(under(1024, { fs })).resolves.toEqual({
      kind: "needs-session",
      contextDir: context,
      reason: `${join(context, ".dockerignore")} excludes the Dockerfile`,
      warnings: [],
    });
    expect(opened).toEqual([]);
    // With no other way to send it, the tar carries the Dockerfile (see packBuildContext).
    await expect(under(Infinity)).resolves.toMatchObject({ kind: "packed" });
  });

  it("asks for a session for a Dockerfile outside the context", async () => {
    await writeTree(root, { "outside/Dockerfile": "FROM scratch\n" });
    await writeTree(context, { "a.txt": "a" });

    await expect(
      under(1024, { dockerfilePath: join(root, "outside", "Dockerfile") }),
    ).resolves.toMatchObject({
      kind: "needs-session",
      reason: "the Dockerfile is outside the context",
    });
  });

  it("with a limit of 0 checks the context, the Dockerfile and the ignore file, and walks nothing", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "a.txt": "a" });
    const { fs, opened } = counting();
    await expect(under(0, { fs })).resolves.toMatchObject({ kind: "too-large", warnings: [] });
    expect(opened).toEqual([]);

    await expect(under(0, { dockerfilePath: join(context, "Nope") })).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
    });
    await writeTree(context, { ".dockerignore": "[z-a]\n" });
    await expect(under(0)).rejects.toBeInstanceOf(ContextError);
  });
});

describe("packBuildContext: memory", () => {
  // How much memory this takes is measured by bench/ (scenario limits); the test holds the behaviour
  // that keeps it flat: the tar is produced only as fast as it is consumed.
  it("streams a 60 MB context of 2,000 files to a slow consumer without running ahead of it", async () => {
    const fileSize = 30 * 1024;
    await writeTree(context, { Dockerfile: "FROM scratch\n" });
    for (let dir = 0; dir < 20; dir++) {
      await mkdir(join(context, `d${dir}`));
      await Promise.all(
        Array.from({ length: 100 }, (_, file) =>
          writeFile(join(context, `d${dir}`, `f${file}.bin`), randomBytes(fileSize)),
        ),
      );
    }
    const result = await pack();
    expect(result.files).toBe(2001);

    const tar = result.stream();
    let buffered = 0;
    let streamed = 0;
    await pipeline(
      tar,
      new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          streamed += chunk.length;
          buffered = Math.max(buffered, tar.readableLength);
          // A consumer slower than the disk, so back-pressure has to hold the producer.
          setImmediate(callback);
        },
      }),
    );

    expect(streamed).toBeGreaterThan(2000 * fileSize);
    // At most the stream's buffer plus one batch of the tar writer (64 KiB of data and its
    // headers): a producer that ignored back-pressure would buffer most of the 60 MB.
    expect(buffered).toBeLessThanOrEqual(tar.readableHighWaterMark + 128 * 1024);
  }, 120_000);
});

describe("packBuildContext: a stream error after the walk", () => {
  it("errors the stream with a ContextError naming a file that vanished", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "later.txt": "x" });
    const result = await pack();
    await rm(join(context, "later.txt"));

    const error: unknown = await result
      .stream()
      .toArray()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ContextError);
    expect(error).toMatchObject({ code: "CONTEXT_UNREADABLE", path: join(context, "later.txt") });
  });

  it("can be abandoned part way, and a later stream() is whole again", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "big.bin": randomBytes(1_000_000).toString("hex"),
    });
    const result = await pack();
    const whole = Buffer.concat(await result.stream().toArray());

    const abandoned = result.stream();
    for await (const _chunk of abandoned) break;

    expect(abandoned.destroyed).toBe(true);
    expect(Buffer.concat(await result.stream().toArray()).equals(whole)).toBe(true);
  });

  it("packs a context under 4 MB once: later streams send the same bytes without reading the files", async () => {
    await writeTree(context, { Dockerfile: "FROM scratch\n", "a.txt": "first\n" });
    const result = await pack();
    const first = Buffer.concat(await result.stream().toArray());
    await rm(join(context, "a.txt"));
    const [second, third] = await Promise.all([
      result.stream().toArray(),
      result.stream().toArray(),
    ]);
    expect(Buffer.concat(second).equals(first)).toBe(true);
    expect(Buffer.concat(third).equals(first)).toBe(true);
  });

  it("reads a context of 4 MB or more from disk for every stream", async () => {
    await writeTree(context, {
      Dockerfile: "FROM scratch\n",
      "big.bin": "x".repeat(4 * 1024 * 1024),
      "a.txt": "first\n",
    });
    const result = await pack();
    await result.stream().toArray();
    await rm(join(context, "a.txt"));
    await expect(result.stream().toArray()).rejects.toMatchObject({
      code: "CONTEXT_UNREADABLE",
      path: join(context, "a.txt"),
    });
  });
});

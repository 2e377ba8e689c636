// The files `COPY . /ctx` puts in an image must be the ones `docker buildx build` puts there, through
// either transfer (a tar upload, or FileSync through a session) and on either side of the 4 MB switch.
// Each case builds one tree three ways and compares what the image holds: type, mode, size (not for
// directories), device numbers and the name, byte for byte.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, TEST_LABEL, TEST_LABELS, docker, removeImages } from "./support/engine.js";

const DOCKERFILE = [
  `FROM ${BUSYBOX}`,
  "COPY . /ctx",
  // Directory sizes depend on the file system's bookkeeping, not on what was sent: left out. No
  // network: the step needs none, and a shared engine's bridge may be gone.
  "RUN --network=none cd /ctx && find . -exec stat -c '%F|%a|%s|%t,%T|%n' {} + \\",
  "  | sed 's/^directory|\\([0-7]*\\)|[0-9]*|/directory|\\1|-|/' | LC_ALL=C sort > /list",
  "",
].join("\n");

/** How the listing shows the Dockerfile above. */
const DOCKERFILE_LINE = `regular file|644|${Buffer.byteLength(DOCKERFILE)}|0,0|./Dockerfile`;

/** A tree: a string is a file's content, "/" makes a directory, "fifo" and "socket" special files. */
type Tree = Record<string, string | { special: "fifo" | "socket" }>;

interface FidelityCase {
  name: string;
  tree: Tree;
  dockerignore: string;
  /** A file name with bytes that are not UTF-8, created beside the tree. */
  rawNames?: Buffer[];
  /**
   * The patterns exclude the Dockerfile: then `auto` sends the context through a session (a tar
   * must carry the Dockerfile for the daemon to read it), and a forced tar adds just the Dockerfile.
   */
  excludesDockerfile?: true;
}

const logs: Tree = {
  "top.log": "top",
  "top.txt": "top",
  "a/x.log": "x",
  "a/y.txt": "y",
  "logs/1.log": "1",
  "logs/deep/2.log": "2",
  "logs/deep/3.txt": "3",
  "b/q.txt": "q",
};

const cases: FidelityCase[] = [
  {
    name: "* then !**/*.log",
    tree: logs,
    dockerignore: "*\n!**/*.log\n",
    excludesDockerfile: true,
  },
  {
    name: "** then !**/*.log",
    tree: logs,
    dockerignore: "**\n!**/*.log\n",
    excludesDockerfile: true,
  },
  {
    name: "!**/*.log with the Dockerfile kept, so a tar is sent",
    tree: logs,
    dockerignore: "*\n!**/*.log\n!Dockerfile\n",
  },
  {
    name: "nested exceptions: a/** then !a/keep, b then !b/c/**",
    tree: {
      "a/keep/k.txt": "k",
      "a/other.txt": "o",
      "a/keeper.txt": "no",
      "b/c/d/e.txt": "e",
      "b/c.txt": "no",
      "b/x/y.txt": "no",
    },
    dockerignore: "a/**\n!a/keep\nb\n!b/c/**\n",
  },
  {
    name: "an exception without a wildcard only reaches the directories it starts with",
    tree: { "build/keep.txt": "k", "build/out.bin": "o", "sub/keep.txt": "k", "sub/a.txt": "a" },
    dockerignore: "build\nsub\n!sub/keep.txt\n",
  },
  {
    name: "an exception with a wildcard reaches into every excluded directory",
    tree: { "build/keep.txt": "k", "build/out.bin": "o", "sub/keep.txt": "k", "sub/a.txt": "a" },
    dockerignore: "build\nsub\n!**/keep.txt\n",
  },
  {
    name: "a **/ prefix, a trailing / and a leading /",
    tree: {
      "node_modules/x.js": "x",
      "app/node_modules/y.js": "y",
      "app/main.js": "m",
      "build/out.bin": "o",
      "app/build/out.bin": "kept: build/ is anchored at the root",
      "secret.txt": "s",
      "app/secret.txt": "kept: /secret.txt is anchored at the root",
    },
    dockerignore: "**/node_modules\nbuild/\n/secret.txt\n",
  },
  {
    name: "regular-expression characters in a pattern are literal",
    tree: { "c++.txt": "c", "cc.txt": "c", "foo (copy).txt": "f", "foo copy.txt": "f", "a|b": "x" },
    dockerignore: "c++.txt\nfoo (copy).txt\na|b\n",
  },
  {
    name: "a name that is not UTF-8, a socket and a FIFO",
    tree: {
      "run/app.sock": { special: "socket" },
      "run/pipe": { special: "fifo" },
      "ok.txt": "ok",
    },
    dockerignore: "",
    rawNames: [Buffer.from("bad\xff.txt", "latin1"), Buffer.from("d\xe9/inner.txt", "latin1")],
  },
];

const projects: string[] = [];
const servers: Server[] = [];
const images: string[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  await removeImages(images);
});

async function makeTree(testCase: FidelityCase): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-fidelity-"));
  projects.push(dir);
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  if (testCase.dockerignore !== "")
    writeFileSync(join(dir, ".dockerignore"), testCase.dockerignore);
  for (const [path, content] of Object.entries(testCase.tree)) {
    const full = join(dir, path);
    if (content === "") {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === "string") {
      writeFileSync(full, content);
    } else if (content.special === "fifo") {
      execFileSync("mkfifo", [full]);
    } else {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(full, resolve));
    }
  }
  for (const name of testCase.rawNames ?? []) {
    const full = Buffer.concat([Buffer.from(`${dir}/`), name]);
    const slash = full.lastIndexOf(0x2f);
    mkdirSync(full.subarray(0, slash), { recursive: true });
    writeFileSync(full, "raw");
  }
  return dir;
}

/** What `COPY . /ctx` gave the image, as bytes read as latin1 (one character per byte). */
async function listing(image: string): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["cat", "/list"],
    Labels: TEST_LABELS,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: false });
    const chunks: Buffer[] = [];
    for (let offset = 0; offset + 8 <= logs.length;) {
      const size = logs.readUInt32BE(offset + 4);
      chunks.push(logs.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    return Buffer.concat(chunks).toString("latin1");
  } finally {
    await container.remove({ force: true });
  }
}

function buildWithBuildx(dir: string, tag: string): void {
  execFileSync(
    "docker",
    ["buildx", "build", "--builder", "default", "-q", "--label", TEST_LABEL, "-t", tag, dir],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
}

async function buildWithStagecraft(
  dir: string,
  tag: string,
  transfer: "auto" | "tar" | "session",
): Promise<string> {
  const run = await runStagecraft([
    "build",
    dir,
    "-t",
    tag,
    "--label",
    TEST_LABEL,
    "--progress",
    "plain",
    "--context-transfer",
    transfer,
  ]);
  expect(run.code, run.stderr + run.stdout).toBe(0);
  return run.stderr;
}

function tagFor(what: string): string {
  const tag = `stagecraft-fidelity-${what}:${randomUUID().slice(0, 8)}`;
  images.push(tag);
  return tag;
}

describe("COPY . gets what docker buildx build sends", () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const dir = await makeTree(testCase);
      const buildx = tagFor("buildx");
      const tar = tagFor("tar");
      const session = tagFor("session");
      buildWithBuildx(dir, buildx);
      await buildWithStagecraft(dir, tar, "tar");
      await buildWithStagecraft(dir, session, "session");

      const expected = await listing(buildx);
      // The case must be about something: the tree is not sent whole, or holds odd entries.
      expect(expected.split("\n").length).toBeGreaterThan(2);
      expect(await listing(session)).toBe(expected);
      if (testCase.excludesDockerfile === true) {
        const auto = tagFor("auto");
        await buildWithStagecraft(dir, auto, "auto");
        expect(await listing(auto)).toBe(expected);
        const withDockerfile = [
          ...expected.split("\n").filter((line) => line !== ""),
          DOCKERFILE_LINE,
        ]
          .sort()
          .join("\n");
        expect(await listing(tar)).toBe(`${withDockerfile}\n`);
      } else {
        expect(await listing(tar)).toBe(expected);
      }
    });
  }

  it("an excluded Dockerfile and .dockerignore stay out, also below the 4 MB switch", async () => {
    const dir = await makeTree({
      name: "excluded build files",
      tree: { "keep.txt": "k", "drop.txt": "d", "sub/keep.txt": "k" },
      dockerignore: "*\n!keep.txt\n!sub\n",
    });
    const buildx = tagFor("buildx");
    const auto = tagFor("auto");
    const session = tagFor("session");
    buildWithBuildx(dir, buildx);
    await buildWithStagecraft(dir, auto, "auto");
    await buildWithStagecraft(dir, session, "session");

    const expected = await listing(buildx);
    expect(expected).not.toContain("Dockerfile");
    expect(expected).not.toContain(".dockerignore");
    expect(expected).toContain("|./keep.txt");
    expect(await listing(auto)).toBe(expected);
    expect(await listing(session)).toBe(expected);

    // A forced tar must carry the Dockerfile for the daemon to read it, and says what that costs.
    const tar = tagFor("tar");
    const warnings = await buildWithStagecraft(dir, tar, "tar");
    expect(warnings).toContain("excludes the Dockerfile, but a tar upload must carry it");
    expect(await listing(tar)).toContain("|./Dockerfile");
  });
});

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { encodePacket } from "./encode-packet.js";
import { GoMode } from "./go-file-mode.js";
import { readDirRequest, sendDir, type DirRequest } from "./send-dir.js";
import { PacketType, type Packet } from "./session-protos.js";

let dir: string;
let servers: Server[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "stagecraft-send-filter-"));
  servers = [];
});

afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function write(files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/**
 * Plays fsutil's receiver without gRPC: takes the packets sendDir writes (through the public API),
 * then asks for the entries `want` names and ends. Returns the STATs and the data per path.
 */
async function transfer(
  request: Partial<DirRequest>,
  want: readonly string[] = [],
): Promise<{ stats: Packet[]; data: Map<string, string> }> {
  const written: Packet[] = [];
  const call = {
    write: (packet: Packet) => {
      written.push(packet);
      return true;
    },
    end: () => undefined,
    // A plain generator: `for await` takes it, and it runs once the STATs are written.
    iterator: () =>
      (function* () {
        const paths = written.map((packet) => packet.stat?.path ?? "");
        for (const path of want) {
          yield { type: PacketType.REQ, ID: paths.indexOf(path), data: new Uint8Array() };
        }
        yield { type: PacketType.FIN, ID: 0, data: new Uint8Array() };
      })(),
  } as unknown as ServerDuplexStream<Packet, Packet>;
  await sendDir(
    call,
    dir,
    { dirName: "context", followPaths: [], includePatterns: [], excludePatterns: [], ...request },
    { batch: false },
  );
  const stats = written.filter((packet) => packet.type === PacketType.STAT && packet.stat?.path);
  const data = new Map<string, string>();
  for (const packet of written) {
    if (packet.type !== PacketType.DATA) continue;
    const path = stats[packet.ID]?.stat?.path ?? "?";
    data.set(path, (data.get(path) ?? "") + Buffer.from(packet.data).toString());
  }
  return { stats, data };
}

const pathsOf = (stats: Packet[]): string[] => stats.map((packet) => packet.stat?.path ?? "");

describe("sendDir: what the daemon's patterns leave out, as fsutil does", () => {
  it("walks excluded directories for an exception with a wildcard, sending them first", async () => {
    write({ "top.log": "", "top.txt": "", "a/x.log": "", "a/y.txt": "", "b/c/z.log": "" });

    const { stats } = await transfer({ excludePatterns: ["*", "!**/*.log"] });

    expect(pathsOf(stats)).toEqual(["a", "a/x.log", "b", "b/c", "b/c/z.log", "top.log"]);
  });

  it("keeps only the followed paths and their symlinks' targets", async () => {
    write({ Dockerfile: "FROM scratch\n", "real/app.txt": "app", "other.txt": "" });
    symlinkSync("real", join(dir, "app"));

    const { stats } = await transfer({ followPaths: ["app/app.txt", "Dockerfile"] });

    // fsutil FollowLinks: "app" is a symlink to "real", so real/app.txt is sent too.
    expect(pathsOf(stats)).toEqual(["Dockerfile", "app", "real", "real/app.txt"]);
  });

  it("follows a wildcard in a followed path to the symlinks it matches", async () => {
    write({ "conf/a.json": "{}", "b.txt": "" });
    symlinkSync("conf/a.json", join(dir, "a.json"));

    const { stats } = await transfer({ followPaths: ["*.json"] });

    expect(pathsOf(stats)).toEqual(["a.json", "conf", "conf/a.json"]);
  });

  it("ends on a symlink loop in a followed path", async () => {
    write({ "x.txt": "" });
    symlinkSync("b", join(dir, "a"));
    symlinkSync("a", join(dir, "b"));

    const { stats } = await transfer({ followPaths: ["a/x.txt"] });

    expect(pathsOf(stats)).toEqual(["a", "b"]);
  });

  it("sends a socket as a file with no content, and a FIFO as a FIFO", async () => {
    write({ "ok.txt": "ok" });
    execFileSync("mkfifo", [join(dir, "pipe")]);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(dir, "app.sock"), resolve));

    const { stats, data } = await transfer({}, ["app.sock", "ok.txt"]);

    const byPath = new Map(stats.map((packet) => [packet.stat?.path, packet.stat?.mode ?? 0]));
    expect(pathsOf(stats)).toEqual(["app.sock", "ok.txt", "pipe"]);
    // fsutil clears the socket bit, so the daemon asks for it like a file.
    expect((byPath.get("app.sock") ?? 0) & GoMode.socket).toBe(0);
    expect((byPath.get("pipe") ?? 0) & GoMode.namedPipe).not.toBe(0);
    // Asked for, the socket gets the empty DATA that ends a file, and nothing before it.
    expect(data).toEqual(
      new Map([
        ["app.sock", ""],
        ["ok.txt", "ok"],
      ]),
    );
    await expect(transfer({}, ["pipe"])).rejects.toThrow("the daemon asked for unknown file id");
  });

  it("sends a name that is not UTF-8 as its bytes", async () => {
    writeFileSync(Buffer.from(`${dir}/bad\xff.txt`, "latin1"), "raw");

    const { stats, data } = await transfer({}, ["bad\udcff.txt"]);

    expect(pathsOf(stats)).toEqual(["bad\udcff.txt"]);
    expect(data.get("bad\udcff.txt")).toBe("raw");
    const encoded = encodePacket(stats[0]!);
    expect(encoded.includes(Buffer.from("bad\xff.txt", "latin1"))).toBe(true);
  });
});

describe("readDirRequest", () => {
  it("splits repeated values and unescapes the keys BuildKit marks as encoded", () => {
    const metadata = new grpc.Metadata();
    metadata.set("dir-name", "context");
    metadata.set("followpaths", "Dockerfile, .dockerignore");
    // buildkit `encodeOpts`: url.QueryEscape on every value once one has a non-ASCII character.
    metadata.set("exclude-patterns", "caf%C3%A9, a+b%2C+c, bad%FF");
    metadata.set("exclude-patterns-encoded", "1");

    expect(readDirRequest(metadata)).toEqual({
      dirName: "context",
      followPaths: ["Dockerfile", ".dockerignore"],
      includePatterns: [],
      excludePatterns: ["café", "a b, c", "bad\udcff"],
    });
  });
});

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDirRequest, sendDir } from "./send-dir.js";
import { PacketType, services, type Packet } from "./session-protos.js";

// A real grpc-js server and client on 127.0.0.1: the daemon's side of FileSync is played by the
// client (fsutil's receiver: read the STATs up to the empty one, ask for files, then FIN).
describe("sendDir through grpc-js", () => {
  let dir: string;
  let server: grpc.Server;
  let client: grpc.Client;
  let batch = true;
  const results: { files: number; bytes: number; batched: boolean }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-send-dir-"));
    mkdirSync(join(dir, "src/deep"), { recursive: true });
    for (let index = 0; index < 300; index++) {
      writeFileSync(join(dir, "src", `file-${String(index).padStart(3, "0")}.txt`), `${index}\n`);
    }
    writeFileSync(join(dir, "src/deep/big.bin"), Buffer.alloc(100_000, 7));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    symlinkSync("src/deep", join(dir, "link"));
    server = new grpc.Server();
    server.addService(
      { DiffCopy: services.fileSync.DiffCopy },
      {
        DiffCopy: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
          sendDir(call, dir, readDirRequest(call.metadata), { batch }).then(
            (result) => results.push(result),
            (error: unknown) => {
              call.destroy(error as Error);
            },
          );
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error === null) resolve(bound);
        else reject(error);
      });
    });
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Receives the STATs, asks for the files named in `want`, and returns what came. */
  async function receive(
    want: readonly string[],
  ): Promise<{ paths: string[]; data: Map<string, Buffer> }> {
    const metadata = new grpc.Metadata();
    metadata.set("dir-name", "context");
    const stream = client.makeBidiStreamRequest(
      services.fileSync.DiffCopy.path,
      services.fileSync.DiffCopy.requestSerialize,
      services.fileSync.DiffCopy.responseDeserialize,
      metadata,
    );
    const paths: string[] = [];
    const data = new Map<string, Buffer[]>();
    let statsDone = false;
    let pending = 0;
    for await (const packet of stream as AsyncIterable<Packet>) {
      if (!statsDone && packet.type === PacketType.STAT) {
        if (packet.stat === null || packet.stat === undefined || packet.stat.path === "") {
          statsDone = true;
          // fsutil numbers the entries in order; it asks for files by that number.
          for (const path of want) {
            stream.write({ type: PacketType.REQ, ID: paths.indexOf(path), data: new Uint8Array() });
            pending++;
          }
          if (pending === 0) stream.write({ type: PacketType.FIN, ID: 0, data: new Uint8Array() });
        } else {
          paths.push(packet.stat.path);
        }
      } else if (packet.type === PacketType.DATA) {
        const path = paths[packet.ID] ?? "?";
        if (packet.data.length === 0) {
          pending--;
          if (pending === 0) stream.write({ type: PacketType.FIN, ID: 0, data: new Uint8Array() });
        } else {
          data.set(path, [...(data.get(path) ?? []), Buffer.from(packet.data)]);
        }
      } else if (packet.type === PacketType.FIN) {
        stream.end();
      }
    }
    return {
      paths,
      data: new Map([...data].map(([path, chunks]) => [path, Buffer.concat(chunks)])),
    };
  }

  it("sends every STAT in walk order at once, then the files asked for", async () => {
    batch = true;
    const { paths, data } = await receive(["src/deep/big.bin", "Dockerfile"]);
    expect(paths).toHaveLength(305);
    expect(paths.slice(0, 4)).toEqual(["Dockerfile", "link", "src", "src/deep"]);
    expect(paths.at(-1)).toBe("src/file-299.txt");
    expect(data.get("Dockerfile")?.toString()).toBe("FROM scratch\n");
    expect(data.get("src/deep/big.bin")?.equals(Buffer.alloc(100_000, 7))).toBe(true);
    // grpc-js's call still has the shape the one-write path relies on.
    expect(results.at(-1)).toEqual({ files: 2, bytes: 100_013, batched: true });
  });

  it("sends the same through grpc-js's public API, one message at a time", async () => {
    batch = true;
    const batched = await receive(["src/file-007.txt"]);
    batch = false;
    const single = await receive(["src/file-007.txt"]);
    expect(single.paths).toEqual(batched.paths);
    expect(single.data).toEqual(batched.data);
    expect(results.at(-1)).toEqual({ files: 1, bytes: 2, batched: false });
  });
});

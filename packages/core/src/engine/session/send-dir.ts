import { createReadStream, lstatSync, readlinkSync, type BigIntStats } from "node:fs";
import { readFile } from "node:fs/promises";
import { once } from "node:events";
import type { Metadata, ServerDuplexStream } from "@grpc/grpc-js";
import { decodeName, toFsPath } from "../../context/context-path.js";
import { createContextFilter } from "../../context/create-context-filter.js";
import { visitContextDir } from "../../context/visit-context-dir.js";
import { deviceNumbers } from "../../context/write-tar.js";
import { dedupePaths, followLinks } from "./follow-links.js";
import { GoMode, unixModeToGo } from "./go-file-mode.js";
import { encodePacket } from "./encode-packet.js";
import { PacketType, type Packet, type Stat } from "./session-protos.js";

/** What the daemon asks of a synced directory, from the call's metadata (buildkit `filesync.go`). */
export interface DirRequest {
  dirName: string;
  followPaths: readonly string[];
  includePatterns: readonly string[];
  excludePatterns: readonly string[];
}

/** How many bytes one DATA packet carries (fsutil sends 32 KiB chunks). */
const CHUNK = 32 * 1024;

/** At most this much file data goes out in one write when packets are batched. */
const BATCH_BYTES = 1024 * 1024;

/** A file's content in CHUNK-sized pieces; a small one in a single read. */
async function* readChunks(path: string | Buffer, size: number): AsyncGenerator<Buffer> {
  if (size <= CHUNK) {
    const content = await readFile(path);
    if (content.length > 0) yield content;
    return;
  }
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    yield chunk as Buffer;
  }
}

/**
 * Reads the request from metadata; Node's HTTP/2 joins repeated values with ", ", so they are split
 * again. BuildKit sends a key whose values hold non-ASCII characters query-escaped, with
 * `<key>-encoded: 1` beside it (buildkit `filesync.go` `encodeOpts`); those are unescaped.
 */
export function readDirRequest(metadata: Metadata): DirRequest {
  const raw = (key: string): string[] =>
    metadata
      .get(key)
      .flatMap((value) => (typeof value === "string" ? value : value.toString()).split(", "));
  const values = (key: string): string[] => {
    const encoded = ["1", "t", "T", "true", "TRUE", "True"].includes(
      raw(`${key}-encoded`)[0] ?? "",
    );
    return raw(key)
      .map((value) => (encoded ? queryUnescape(value) : value))
      .filter((value) => value !== "");
  };
  return {
    dirName: values("dir-name")[0] ?? "",
    followPaths: values("followpaths"),
    includePatterns: values("include-patterns"),
    excludePatterns: values("exclude-patterns"),
  };
}

/** Go's `url.QueryUnescape` ("+" is a space), to a context path; "" for a malformed escape, as Go gives. */
function queryUnescape(value: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < value.length; index++) {
    const char = value[index] ?? "";
    if (char === "%") {
      const hex = value.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return "";
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else if (char === "+") {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(char));
    }
  }
  return decodeName(Buffer.from(bytes));
}

interface Entry {
  stat: Stat;
  absolute: string | Buffer;
  /** The daemon may ask for its content (fsutil `fileCanRequestData`): a file, or a socket. */
  requestable: boolean;
  /** A socket, sent as a file with no content: fsutil cannot open it and sends none. */
  isSocket: boolean;
}

/**
 * Sends `root` to the daemon with fsutil's packet protocol (fsutil `send.go`): one STAT per entry in
 * Go `filepath.Walk` order (byte-wise sorted, each directory before its contents), an empty STAT,
 * then DATA for every file the daemon asks for with REQ (only files whose stat changed since its last
 * copy for this shared key), and FIN for FIN. Includes, followed paths and excludes are applied here
 * as fsutil's walker applies them (`createContextFilter`): the daemon does not re-apply them.
 */
export async function sendDir(
  call: ServerDuplexStream<Packet, Packet>,
  root: string,
  request: DirRequest,
  options: { batch?: boolean } = {},
): Promise<{ files: number; bytes: number; batched: boolean }> {
  const entries = selectEntries(root, request);
  const fast = options.batch === false ? undefined : grpcInternals(call);
  // Many packets at once: as one HTTP/2 write when grpc-js's call has the expected shape, else one
  // message at a time through its public API.
  const send = async (packets: readonly Packet[]): Promise<void> => {
    if (fast !== undefined) {
      await writeAtOnce(fast, packets);
      return;
    }
    for (const packet of packets) {
      if (!call.write(packet)) await once(call, "drain");
    }
  };
  const stats: Packet[] = entries.map((entry) => ({
    type: PacketType.STAT,
    stat: entry.stat,
    ID: 0,
    data: new Uint8Array(),
  }));
  stats.push({ type: PacketType.STAT, ID: 0, data: new Uint8Array() });
  await send(stats);
  const batched = fast !== undefined;
  let files = 0;
  let bytes = 0;
  for await (const packet of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Packet>) {
    if (packet.type === PacketType.REQ) {
      const entry = entries[packet.ID];
      if (entry?.requestable !== true)
        throw new Error(`the daemon asked for unknown file id ${packet.ID}`);
      if (entry.isSocket) {
        await send([{ type: PacketType.DATA, ID: packet.ID, data: new Uint8Array() }]);
        continue;
      }
      files++;
      // A file's DATA packets and the empty one that ends it go out together (up to BATCH_BYTES
      // a write): a first transfer of 5,000 small files was 10,000 messages flushed one by one.
      let pending: Packet[] = [];
      let pendingBytes = 0;
      for await (const chunk of readChunks(entry.absolute, entry.stat.size)) {
        bytes += chunk.length;
        pending.push({ type: PacketType.DATA, ID: packet.ID, data: chunk });
        pendingBytes += chunk.length;
        if (pendingBytes >= BATCH_BYTES) {
          await send(pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      pending.push({ type: PacketType.DATA, ID: packet.ID, data: new Uint8Array() });
      await send(pending);
    } else if (packet.type === PacketType.FIN) {
      call.write({ type: PacketType.FIN, ID: 0, data: new Uint8Array() });
      call.end();
      return { files, bytes, batched };
    } else if (packet.type === PacketType.ERR) {
      throw new Error(`the daemon failed receiving files: ${Buffer.from(packet.data).toString()}`);
    }
  }
  call.end();
  return { files, bytes, batched };
}

/**
 * The part of grpc-js's server call (1.10-1.14, `BaseServerInterceptingCall`) that `writeAtOnce`
 * uses: the call's HTTP/2 stream and what sends the response headers before the first message.
 */
interface GrpcServerCallInternals {
  stream: { write: (data: Buffer, callback: (error?: Error | null) => void) => boolean };
  maybeSendMetadata: () => void;
}

function grpcInternals(
  call: ServerDuplexStream<Packet, Packet>,
): GrpcServerCallInternals | undefined {
  const inner = (call as unknown as { call?: Partial<GrpcServerCallInternals> }).call;
  if (typeof inner?.maybeSendMetadata !== "function" || typeof inner.stream?.write !== "function") {
    return undefined;
  }
  return inner as GrpcServerCallInternals;
}

/**
 * Writes many packets as one HTTP/2 write: gRPC messages are a 5-byte prefix (not compressed,
 * big-endian length) and the bytes, and any number may share a DATA frame. grpc-js sends one message
 * per write and waits for it to be flushed before the next (~40 µs each): 5,000 STATs took ~200 ms
 * of a no-op rebuild that way, against ~10 ms at once. This reaches into grpc-js's server call:
 * `grpcInternals` checks its shape first, and `sendDir` falls back to the public API without it.
 */
async function writeAtOnce(
  inner: GrpcServerCallInternals,
  packets: readonly Packet[],
): Promise<void> {
  const frames: Buffer[] = [];
  for (const packet of packets) {
    const message = encodePacket(packet);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    frames.push(prefix, message);
  }
  inner.maybeSendMetadata();
  await new Promise<void>((resolve, reject) => {
    inner.stream.write(Buffer.concat(frames), (error) => {
      if (error === undefined || error === null) resolve();
      else reject(error);
    });
  });
}

/**
 * The entries of `root` fsutil's filtered walker sends (`visitContextDir`): the include patterns
 * plus the followed paths with their symlinks resolved (`followLinks`) select, the exclude patterns
 * drop, and a directory that is walked but not selected itself is sent before the first entry kept
 * below it.
 */
function selectEntries(root: string, request: DirRequest): Entry[] {
  let includePatterns: string[] | undefined = [...request.includePatterns];
  if (request.followPaths.length > 0) {
    const targets = followLinks(root, request.followPaths);
    if (targets !== undefined) includePatterns = dedupePaths([...includePatterns, ...targets]);
  }
  const filter = createContextFilter({
    includePatterns,
    excludePatterns: request.excludePatterns,
  });

  const entries: Entry[] = [];
  visitContextDir(root, filter, (path, absolute) => entries.push(toEntry(path, absolute)));
  return entries;
}

/** One entry's STAT as fsutil `mkstat` makes it, with uid and gid 0 as the docker CLI sends them. */
function toEntry(path: string, absolute: string): Entry {
  const fsPath = toFsPath(absolute);
  const info: BigIntStats = lstatSync(fsPath, { bigint: true });
  const isDir = info.isDirectory();
  // fsutil clears a socket's type bit (archive/tar cannot carry one): the daemon makes a file of it.
  const mode = (unixModeToGo(Number(info.mode)) & ~GoMode.socket) >>> 0;
  const stat: Stat = {
    path,
    mode,
    uid: 0,
    gid: 0,
    size: isDir ? 0 : Number(info.size),
    // protobufjs takes int64 as a decimal string without losing nanoseconds.
    modTime: info.mtimeNs.toString(),
    linkname: info.isSymbolicLink() ? decodeName(readlinkSync(fsPath, { encoding: "buffer" })) : "",
    ...(isDir ? { devmajor: 0, devminor: 0 } : deviceNumbers(info.rdev)),
    xattrs: {},
  };
  return {
    stat,
    absolute: fsPath,
    requestable: (mode & FILE_TYPE_BITS) === 0,
    isSocket: info.isSocket(),
  };
}

/** Go `os.ModeType`: a mode with none of these (after fsutil cleared a socket's) is a regular file. */
const FILE_TYPE_BITS =
  GoMode.dir |
  GoMode.symlink |
  GoMode.namedPipe |
  GoMode.socket |
  GoMode.device |
  GoMode.charDevice |
  GoMode.irregular;

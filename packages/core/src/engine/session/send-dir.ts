import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { once } from "node:events";
import { join } from "node:path";
import type { Metadata, ServerDuplexStream } from "@grpc/grpc-js";
import { createIgnoreMatcher } from "../../context/create-ignore-matcher.js";
import { unixModeToGo } from "./go-file-mode.js";
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

/** Reads the request from metadata; Node's HTTP/2 joins repeated values with ", ", so they are split again. */
export function readDirRequest(metadata: Metadata): DirRequest {
  const values = (key: string): string[] =>
    metadata
      .get(key)
      .flatMap((value) => (typeof value === "string" ? value : value.toString()).split(", "))
      .filter((value) => value !== "");
  return {
    dirName: values("dir-name")[0] ?? "",
    followPaths: values("followpaths"),
    includePatterns: values("include-patterns"),
    excludePatterns: values("exclude-patterns"),
  };
}

interface Entry {
  stat: Stat;
  absolute: string;
  isFile: boolean;
}

/**
 * Sends `root` to the daemon with fsutil's packet protocol (fsutil `send.go`): one STAT per entry in
 * Go `filepath.Walk` order (byte-wise sorted, each directory before its contents), an empty STAT,
 * then DATA for every file the daemon asks for with REQ (only files whose stat changed since its last
 * copy for this shared key), and FIN for FIN. Excludes are applied here: the daemon does not re-apply them.
 */
export async function sendDir(
  call: ServerDuplexStream<Packet, Packet>,
  root: string,
  request: DirRequest,
): Promise<{ files: number; bytes: number }> {
  const entries = await selectEntries(root, request);
  for (const entry of entries) {
    if (!call.write({ type: PacketType.STAT, stat: entry.stat, ID: 0, data: new Uint8Array() })) {
      await once(call, "drain");
    }
  }
  call.write({ type: PacketType.STAT, ID: 0, data: new Uint8Array() });
  let files = 0;
  let bytes = 0;
  for await (const packet of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Packet>) {
    if (packet.type === PacketType.REQ) {
      const entry = entries[packet.ID];
      if (entry?.isFile !== true)
        throw new Error(`the daemon asked for unknown file id ${packet.ID}`);
      files++;
      for await (const chunk of createReadStream(entry.absolute, { highWaterMark: CHUNK })) {
        bytes += (chunk as Buffer).length;
        if (!call.write({ type: PacketType.DATA, ID: packet.ID, data: chunk as Buffer })) {
          await once(call, "drain");
        }
      }
      call.write({ type: PacketType.DATA, ID: packet.ID, data: new Uint8Array() });
    } else if (packet.type === PacketType.FIN) {
      call.write({ type: PacketType.FIN, ID: 0, data: new Uint8Array() });
      call.end();
      return { files, bytes };
    } else if (packet.type === PacketType.ERR) {
      throw new Error(`the daemon failed receiving files: ${Buffer.from(packet.data).toString()}`);
    }
  }
  call.end();
  return { files, bytes };
}

/** Walks `root` (symlinks not followed), drops excluded paths, and keeps only what the includes ask for plus their parents. */
async function selectEntries(root: string, request: DirRequest): Promise<Entry[]> {
  const excludes =
    request.excludePatterns.length === 0
      ? undefined
      : createIgnoreMatcher(request.excludePatterns, "exclude-patterns");
  const includes =
    request.includePatterns.length === 0
      ? undefined
      : createIgnoreMatcher(request.includePatterns, "include-patterns");
  const follow = request.followPaths.map((path) => path.replace(/^\.?\/+/, "").replace(/\/+$/, ""));
  const filtered = includes !== undefined || follow.length > 0;
  const isIncluded = (path: string): boolean =>
    includes?.ignores(path) === true ||
    follow.some((target) => path === target || path.startsWith(`${target}/`));

  // With only follow paths (the Dockerfile and .dockerignore requests), nothing outside them and
  // their parents can be kept: do not walk there (fsutil does the same).
  const mayHold = (path: string): boolean =>
    includes !== undefined ||
    !filtered ||
    follow.some(
      (target) => target === path || target.startsWith(`${path}/`) || path.startsWith(`${target}/`),
    );

  const all: Entry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((name) => mayHold(prefix === "" ? name : `${prefix}/${name}`));
    // One directory's entries are stat'ed together: a walk of 5,000 files waited on each in turn.
    const infos = await Promise.all(names.map((name) => lstat(join(dir, name), { bigint: true })));
    for (const [index, name] of names.entries()) {
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const absolute = join(dir, name);
      const info = infos[index];
      if (info === undefined) continue;
      const isDir = info.isDirectory();
      if (excludes?.ignores(path) === true && !(isDir && excludes.mustWalkExcluded(path))) continue;
      const excludedItself = excludes?.ignores(path) === true;
      const stat: Stat = {
        path,
        mode: unixModeToGo(Number(info.mode)),
        // As docker's CLI does for a build context: ownership is not the context's business.
        uid: 0,
        gid: 0,
        size: info.isFile() ? Number(info.size) : 0,
        // protobufjs takes int64 as a decimal string without losing nanoseconds.
        modTime: info.mtimeNs.toString(),
        linkname: info.isSymbolicLink() ? await readlink(absolute) : "",
        devmajor: 0,
        devminor: 0,
        xattrs: {},
      };
      if (!excludedItself || isDir) all.push({ stat, absolute, isFile: info.isFile() });
      if (isDir) await walk(absolute, path);
    }
  };
  await walk(root, "");

  const keep = new Set<string>();
  for (const entry of all) {
    const path = entry.stat.path;
    const excluded = excludes?.ignores(path) === true;
    if (excluded || (filtered && !isIncluded(path))) continue;
    keep.add(path);
    for (let slash = path.lastIndexOf("/"); slash > 0; slash = path.lastIndexOf("/", slash - 1)) {
      keep.add(path.slice(0, slash));
    }
  }
  return all.filter((entry) => keep.has(entry.stat.path));
}

import { lstatSync, readlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

import { decodeName, encodePath, toFsPath } from "./context-path.js";

/** A file that is not on disk (the generated Dockerfile name and `.dockerignore`). */
export interface GeneratedTarEntry {
  name: string;
  mode: number;
  mtime: Date;
  content: Buffer;
}

/** Raised when an entry changed between the walk and the tar (a file shrank, a file became a FIFO). */
export class ContextChangedError extends Error {
  readonly path: string;

  constructor(path: string, what: string) {
    super(`${path} ${what} while the context was sent`);
    this.name = "ContextChangedError";
    this.path = path;
  }
}

const BLOCK = 512;
/** Chunks are gathered up to this size before they are yielded (a header alone is 512 bytes). */
const BATCH = 64 * 1024;
const MAX_OCTAL_11 = 0o77777777777;

/**
 * The tar the docker CLI sends for a build context (moby/go-archive with `ChownOpts{0, 0}`): USTAR
 * headers, uid and gid 0 without user or group names, permission bits as on disk, mtime in whole
 * seconds, directory names ending in "/", symlinks as symlinks; a PAX header only where USTAR has
 * no room (a name that cannot be split into its 155 + 100 bytes, a long link target, a size or time
 * beyond 11 octal digits), as Go's `archive/tar` does. Each entry is `lstat`ed as it is written and
 * a file is read in 64 KiB chunks: memory stays flat whatever the context's size. Hard links go as
 * separate regular files (the content is the same).
 *
 * @param entries context-relative, slash-separated paths, in tar order (as the walk lists them)
 * @param generated files added after the walk's entries, from memory
 */
export async function* writeTar(
  root: string,
  entries: readonly string[],
  generated: readonly GeneratedTarEntry[],
): AsyncGenerator<Buffer> {
  let batch: Buffer[] = [];
  let batched = 0;
  const add = (chunk: Buffer): void => {
    batch.push(chunk);
    batched += chunk.length;
  };
  const flush = (): Buffer => {
    const [only] = batch;
    const out = batch.length === 1 && only !== undefined ? only : Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    return out;
  };

  for (const name of entries) {
    const path = join(root, name);
    const fsPath = toFsPath(path);
    const stat = lstatSync(fsPath, { bigint: true });
    const mode = Number(stat.mode & 0o7777n);
    const mtime = Number(stat.mtimeMs / 1000n);
    const header = { name, mode, mtime, size: 0, linkname: "" };
    if (stat.isDirectory()) {
      add(tarHeader({ ...header, name: `${name}/`, type: "5" }));
    } else if (stat.isSymbolicLink()) {
      const linkname = decodeName(readlinkSync(fsPath, { encoding: "buffer" }));
      add(tarHeader({ ...header, type: "2", linkname }));
    } else if (stat.isFile()) {
      const size = Number(stat.size);
      add(tarHeader({ ...header, type: "0", size }));
      const handle = await open(fsPath, "r");
      try {
        let left = size;
        while (left > 0) {
          const chunk = Buffer.allocUnsafe(Math.min(left, BATCH));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, size - left);
          if (bytesRead === 0) throw new ContextChangedError(path, "became shorter");
          left -= bytesRead;
          add(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
          if (batched >= BATCH) yield flush();
        }
      } finally {
        await handle.close();
      }
      if (size % BLOCK !== 0) add(Buffer.alloc(BLOCK - (size % BLOCK)));
    } else if (stat.isSocket()) {
      add(tarHeader({ ...header, type: "0" }));
    } else if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) {
      const type = stat.isFIFO() ? "6" : stat.isCharacterDevice() ? "3" : "4";
      add(tarHeader({ ...header, type, ...deviceNumbers(stat.rdev) }));
    } else {
      throw new ContextChangedError(path, "became a file of unknown type");
    }
    if (batched >= BATCH) yield flush();
  }
  for (const entry of generated) {
    const mtime = Math.floor(entry.mtime.getTime() / 1000);
    const size = entry.content.length;
    add(
      tarHeader({
        name: entry.name,
        type: "0",
        mode: entry.mode,
        mtime,
        size,
        linkname: "",
      }),
    );
    add(entry.content);
    if (size % BLOCK !== 0) add(Buffer.alloc(BLOCK - (size % BLOCK)));
  }
  // The end of the archive: two zero blocks.
  add(Buffer.alloc(2 * BLOCK));
  yield flush();
}

interface HeaderFields {
  /** A context path (see `context-path.ts`): written as its bytes. */
  name: string;
  /** `0` file, `2` symlink, `3` character device, `4` block device, `5` directory, `6` FIFO, `x` PAX. */
  type: "0" | "2" | "3" | "4" | "5" | "6" | "x";
  mode: number;
  mtime: number;
  size: number;
  linkname: string;
  /** A device's numbers (0 when left out). */
  devmajor?: number | undefined;
  devminor?: number | undefined;
}

/**
 * A device's major and minor numbers as fsutil computes them for `docker build` (`stat_unix.go`,
 * the old 8 + 8 + 12 bit split of `st_rdev`), so both transfers make the same device node.
 */
export function deviceNumbers(rdev: bigint | number): { devmajor: number; devminor: number } {
  const dev = BigInt(rdev);
  return {
    devmajor: Number((dev >> 8n) & 0xfffn),
    devminor: Number((dev & 0xffn) | ((dev >> 12n) & 0xfff00n)),
  };
}

/** One entry's header: a USTAR block, after a PAX header and its records when USTAR has no room. */
export function tarHeader(fields: HeaderFields): Buffer {
  const name = encodePath(fields.name);
  const linkname = encodePath(fields.linkname);
  const records: [string, string][] = [];
  const split = splitUstarName(name);
  if (split === undefined) records.push(["path", fields.name]);
  if (linkname.length > 100) records.push(["linkpath", fields.linkname]);
  const size = fields.size <= MAX_OCTAL_11 ? fields.size : 0;
  if (size !== fields.size) records.push(["size", String(fields.size)]);
  const mtime = fields.mtime >= 0 && fields.mtime <= MAX_OCTAL_11 ? fields.mtime : 0;
  if (mtime !== fields.mtime) records.push(["mtime", String(fields.mtime)]);

  const block = Buffer.alloc(BLOCK);
  const ustarName = split ?? { prefix: Buffer.alloc(0), name: name.subarray(0, 100) };
  ustarName.name.copy(block, 0);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block.write(fields.type, 156, "latin1");
  linkname.subarray(0, 100).copy(block, 157);
  block.write("ustar\u000000", 257, "latin1");
  writeOctal(block, 329, 8, fields.devmajor ?? 0);
  writeOctal(block, 337, 8, fields.devminor ?? 0);
  ustarName.prefix.copy(block, 345);
  writeChecksum(block);
  if (records.length === 0) return block;

  const body = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
  const base = fields.name.replace(/\/$/, "").split("/").pop() ?? "";
  const pax = tarHeader({
    name: `PaxHeaders.0/${base}`.slice(0, 100).replace(/[^\x20-\x7e]/g, "_"),
    type: "x",
    mode: 0o644,
    mtime,
    size: body.length,
    linkname: "",
  });
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return Buffer.concat([pax, body, padding, block]);
}

/** Go's `splitUSTARPath`: the name as is when it fits 100 bytes, else prefix/name at a slash. */
function splitUstarName(name: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  const limit = Math.min(name.length - 1, 155);
  for (let index = limit; index > 0; index--) {
    if (name[index] === 0x2f && name.length - index - 1 <= 100 && name.length - index - 1 > 0) {
      return { prefix: name.subarray(0, index), name: name.subarray(index + 1) };
    }
  }
  return undefined;
}

/** `"%d key=value\n"`, where the number counts the whole record's bytes, itself included. */
function paxRecord(key: string, value: string): Buffer {
  const payload = Buffer.concat([Buffer.from(` ${key}=`), encodePath(value), Buffer.from("\n")]);
  const bytes = payload.length;
  let length = bytes + String(bytes).length;
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length;
  return Buffer.concat([Buffer.from(String(length)), payload]);
}

/** Octal digits, zero-padded to `width - 1`, and a NUL. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, "latin1");
}

/** The header's byte sum with the checksum field read as spaces: six octal digits, NUL, space. */
function writeChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, "latin1");
}

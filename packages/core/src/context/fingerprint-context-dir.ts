// A fingerprint of a context directory that changes whenever what a build may read from it does:
// what a remembered stage size is keyed by when the context goes through a session (FileSync) and
// no tar exists to hash (see docs/decisions/stage-sizes.md).
import { createHash, type Hash } from "node:crypto";
import { lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";

import { toFsPath } from "./context-path.js";
import {
  createContextFilter,
  type ContextFilter,
  type FilterState,
} from "./create-context-filter.js";
import { readContextFilter } from "./pack-build-context.js";
import { readContextDirSync } from "./read-context-dir-sync.js";
import { sortByBytes } from "./sort-by-bytes.js";

/** What `fingerprintContextDir` hashed, for the benchmark and the tests. */
export interface ContextFingerprint {
  /** SHA-256 (hex) of every entry's path, mode, size, mtime and link target, in walk order. */
  digest: string;
  /** Entries hashed (directories, files, symlinks…). */
  entries: number;
}

/**
 * Fingerprints `contextDir` as fsutil would send it: every entry the ignore file of `dockerfile`
 * keeps (none left out without a Dockerfile), with its relative path, mode, size, mtime in
 * nanoseconds and link target, which is what FileSync itself compares to decide which files to send
 * again. File contents are not read: a change that keeps size and mtime goes unseen, as it does
 * to FileSync. The ignore file's text is part of it. Synchronous `lstat(2)`s: see `selectEntries`
 * in `engine/session/send-dir.ts` for why.
 *
 * @throws what the file system throws for a directory or entry that cannot be read.
 */
export async function fingerprintContextDir(
  contextDir: string,
  dockerfile: string | undefined,
): Promise<ContextFingerprint> {
  const { filter, ignore } =
    dockerfile === undefined
      ? { filter: createContextFilter({}), ignore: undefined }
      : await readContextFilter(contextDir, dockerfile);
  const hash = createHash("sha256");
  hash.update(`${ignore?.text ?? ""}\0`);
  const entries = hashEntries(hash, contextDir, filter);
  return { digest: hash.digest("hex"), entries };
}

function hashEntries(hash: Hash, root: string, filter: ContextFilter): number {
  let count = 0;
  // Excluded directories walked for an exception below them: hashed before the first entry kept.
  const hidden: { path: string; absolute: string; hashed: boolean }[] = [];
  const add = (path: string, absolute: string): void => {
    const info = lstatSync(toFsPath(absolute), { bigint: true });
    const link = info.isSymbolicLink() ? readlinkSync(toFsPath(absolute)) : "";
    const size = info.isDirectory() ? 0n : info.size;
    hash.update(`${path}\0${info.mode}\0${size}\0${info.mtimeNs}\0${link}\n`);
    count += 1;
  };
  const walk = (dir: string, prefix: string, state: FilterState | undefined): void => {
    const dirents = readContextDirSync(dir);
    sortByBytes(dirents, (dirent) => dirent.name);
    for (const dirent of dirents) {
      const path = prefix === "" ? dirent.name : `${prefix}/${dirent.name}`;
      const isDir = dirent.isDirectory();
      const checked = filter.keepsEverything
        ? { action: "keep" as const, state: undefined }
        : filter.check(path, isDir, state);
      if (checked.action === "prune" || (checked.action === "hide" && !isDir)) continue;
      const absolute = join(dir, dirent.name);
      if (checked.action === "hide") {
        hidden.push({ path, absolute, hashed: false });
        walk(absolute, path, checked.state);
        hidden.pop();
        continue;
      }
      for (const above of hidden) {
        if (!above.hashed) {
          add(above.path, above.absolute);
          above.hashed = true;
        }
      }
      add(path, absolute);
      if (isDir) walk(absolute, path, checked.state);
    }
  };
  walk(root, "", undefined);
  return count;
}

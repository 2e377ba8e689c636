// A fingerprint of a context directory that changes whenever what a build may read from it does:
// what a remembered stage size is keyed by when the context goes through a session (FileSync) and
// no tar exists to hash (see docs/decisions/stage-sizes.md).
import { createHash, type Hash } from "node:crypto";
import { lstatSync, readlinkSync } from "node:fs";

import { toFsPath } from "./context-path.js";
import { createContextFilter, type ContextFilter } from "./create-context-filter.js";
import { readContextFilter } from "./pack-build-context.js";
import { visitContextDir } from "./visit-context-dir.js";

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
 * to FileSync. The ignore file's text is part of it. The walk is the FileSync sender's
 * (`visitContextDir`), so what is hashed is what a session would send.
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
  visitContextDir(root, filter, (path, absolute) => {
    const info = lstatSync(toFsPath(absolute), { bigint: true });
    const link = info.isSymbolicLink() ? readlinkSync(toFsPath(absolute)) : "";
    const size = info.isDirectory() ? 0n : info.size;
    hash.update(`${path}\0${info.mode}\0${size}\0${info.mtimeNs}\0${link}\n`);
    count += 1;
  });
  return count;
}

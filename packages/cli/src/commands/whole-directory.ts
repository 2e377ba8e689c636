import {
  chmodSync,
  cpSync,
  lstatSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  utimesSync,
  type Stats,
} from "node:fs";
import { join } from "node:path";

/** A directory an export is received into (`-o type=local`); see `createWholeDirectory`. */
export interface WholeDirectory {
  /** Where the session writes: a fresh directory beside the destination, on its file system. */
  readonly temporary: string;
  /** Moves what arrived into place when `keep`; else removes it. The destination is touched only on keep. */
  settle(keep: boolean): void;
}

/**
 * A `-o type=local` destination that changes only once the run succeeded: the export is received
 * into `DEST.PID.tmp` beside it (the daemon ends a cancelled export as it ends a whole one, and a
 * full disk stops one half way), then moved in. A destination that did not exist is one rename. One
 * that exists is merged as `docker build -o type=local` merges (measured on Docker 26.1: an entry
 * the export does not have stays, in subdirectories too): each exported entry replaces the entry of
 * its name, by a rename on the same file system, and a directory on both sides is merged the same
 * way, so no file in the destination is ever half written. A failed, cancelled or interrupted run
 * removes the temporary directory and leaves the destination as it was.
 */
export function createWholeDirectory(dest: string): WholeDirectory {
  const temporary = `${dest}.${process.pid}.tmp`;
  // A stale one from an earlier run of a process with this pid would be merged in: start afresh.
  rmSync(temporary, { recursive: true, force: true });
  return {
    temporary,
    settle(keep) {
      try {
        if (keep && statOf(temporary)?.isDirectory() === true) {
          if (statOf(dest) === undefined) renameSync(temporary, dest);
          else mergeInto(temporary, dest);
        }
      } finally {
        rmSync(temporary, { recursive: true, force: true });
      }
    },
  };
}

/** Moves every entry of `from` into `to` (both directories), then gives `to` the metadata of `from`. */
function mergeInto(from: string, to: string): void {
  const stat = lstatSync(from);
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    const target = join(to, name);
    const existing = statOf(target);
    if (existing?.isDirectory() === true && lstatSync(source).isDirectory()) {
      mergeInto(source, target);
      continue;
    }
    if (existing !== undefined) rmSync(target, { recursive: true, force: true });
    move(source, target);
  }
  rmdirSync(from);
  chmodSync(to, stat.mode & 0o7777);
  utimesSync(to, stat.atime, stat.mtime);
}

/** A rename; a copy only when a destination inside a mount point puts `target` on another device. */
function move(source: string, target: string): void {
  try {
    renameSync(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    cpSync(source, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    rmSync(source, { recursive: true, force: true });
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

import {
  accessSync,
  closeSync,
  constants,
  createWriteStream,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import type { Writable } from "node:stream";
import { dirname, resolve } from "node:path";
import { UsageError, type BuildOutcome } from "@stagecraft/core";

/**
 * A file the run will write at the end (a report, a tar): it must not be a directory, and its
 * directory must exist and take the temporary file `writeWhole` writes first, which is made and
 * removed here. Checked before anything is built, so a long build never ends in "cannot write":
 * `access()` alone passes for root anywhere, /proc and read-only mounts included.
 */
export function checkWritableFile(flag: string, path: string): void {
  if (isDirectory(path)) {
    throw new UsageError(`${flag}: ${path} is a directory`, {
      hint: "Give the path of a file to write (it is replaced if it exists).",
    });
  }
  const parent = dirname(path);
  if (!isDirectory(parent)) {
    throw new UsageError(`${flag}: the directory ${parent} does not exist`, {
      hint: "Create it first, or write the file somewhere that exists.",
    });
  }
  if (!isWritable(parent)) {
    throw new UsageError(`${flag}: cannot write in ${parent} (permission denied)`, {
      hint: "Write the file into a directory you can write to.",
    });
  }
  const temporary = temporaryPathOf(path);
  try {
    closeSync(openSync(temporary, "wx"));
  } catch (error) {
    throw new UsageError(`${flag}: cannot create a file in ${parent} (${describeFsError(error)})`, {
      hint: "Write the file into a directory you can write to.",
      cause: error,
    });
  }
  rmSync(temporary, { force: true });
}

/** Where `writeWhole` writes before it renames: beside the target, so the rename cannot cross file systems. */
function temporaryPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "read-only file system";
    case "ENOENT":
      return "the file system takes no new files there";
    case "ENOSPC":
      return "no space left on the device";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Writes a file whole or not at all (a temporary file, then a rename): a reader never sees half. */
export function writeWhole(path: string, text: string): void {
  const temporary = temporaryPathOf(path);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** A file written whole or not at all by a stream; see `createWholeFile`. */
export interface WholeFile {
  /** The stream to write to: a temporary file beside the target. */
  open(): Writable;
  /** Puts the file in place when `keep` and its stream finished; else removes the temporary file. */
  settle(keep: boolean): void;
}

/**
 * A file a stream writes (a `-o type=tar` export) that appears only once the run succeeded: the
 * daemon ends a cancelled export's stream as it ends a whole one, so only the build's outcome says
 * whether the tar is complete. A failed or cancelled run leaves the target as it was.
 */
export function createWholeFile(path: string): WholeFile {
  const temporary = temporaryPathOf(path);
  let stream: Writable | undefined;
  let finished = false;
  return {
    open() {
      stream = createWriteStream(temporary);
      stream.on("finish", () => {
        finished = true;
      });
      return stream;
    },
    settle(keep) {
      if (keep && finished) {
        renameSync(temporary, path);
        return;
      }
      stream?.destroy();
      rmSync(temporary, { force: true });
    },
  };
}

/**
 * The `--metadata-file` of `docker buildx bake`: one object per target that made an image, with its
 * config digest and names, and once pushed the manifest digest the registry stored
 * (`containerimage.digest`). Failed and cancelled targets are left out: a stale name is worse than none.
 */
export function formatMetadata(outcome: BuildOutcome): string {
  const published = new Map(
    (outcome.report.published ?? []).map((entry) => [entry.target, entry.tags]),
  );
  const metadata = Object.fromEntries(
    outcome.targets
      .filter((target) => target.status === "succeeded" && target.imageId !== undefined)
      .map((target) => {
        const digest = published.get(target.name)?.[0]?.digest;
        return [
          target.name,
          {
            "containerimage.config.digest": target.imageId === "" ? null : target.imageId,
            ...(digest === undefined ? {} : { "containerimage.digest": digest }),
            "image.name": target.tags.join(","),
          },
        ];
      }),
  );
  return `${JSON.stringify(metadata, null, 2)}\n`;
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Writable and searchable: a file can be created in it. */
export function isWritable(directory: string): boolean {
  try {
    accessSync(directory, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Writes the files `--report` and `--metadata-file` asked for, each whole or not at all. */
export async function writeRunFiles(
  cwd: string,
  files: { readonly report: string | undefined; readonly metadataFile: string | undefined },
  outcome: BuildOutcome,
  title: string,
): Promise<void> {
  if (files.report !== undefined) {
    const path = resolve(cwd, files.report);
    // By extension: a self-contained HTML page, or the JSON report. The page's renderer (and its
    // graph layout library) is imported only for a page: a build without one never evaluates it.
    writeWhole(
      path,
      /\.html?$/i.test(path)
        ? (await import("../renderers/format-html-report.js")).formatHtmlReport(outcome.report, {
            title,
          })
        : `${JSON.stringify(outcome.report, null, 2)}\n`,
    );
  }
  if (files.metadataFile !== undefined) {
    writeWhole(resolve(cwd, files.metadataFile), formatMetadata(outcome));
  }
}

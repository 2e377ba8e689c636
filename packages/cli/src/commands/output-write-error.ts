import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { getSystemErrorMap } from "node:util";
import { isStagecraftError } from "@stagecraft/core/errors";

/**
 * `-o`/`--output` could not be written while the engine sent it (a full disk, a file inside the
 * destination that cannot be replaced, a read-only mount): the user's file system, not a bug, so
 * it is said with the flag, the path and the OS's words, and the run fails (exit 1).
 */
export class OutputWriteError extends Error {
  readonly code = "OUTPUT_WRITE";
  readonly hint: string;
  constructor(message: string, hint: string, cause: unknown) {
    super(message, { cause });
    this.name = "OutputWriteError";
    this.hint = hint;
  }
}

/**
 * The error an export's file system raised (as it came, or as the core's `OUTPUT_WRITE` error of
 * the target it failed), said as an `OutputWriteError` naming `flag` and the path: `dest` for a tar
 * (whose temporary file the user never named), the file inside `dest` for a directory. Undefined
 * for anything that is not an OS error (those keep their own message).
 */
export function describeOutputWriteError(
  flag: string,
  type: "tar" | "local",
  dest: string,
  error: unknown,
  /** The directory a `type=local` export is received into before it is moved to `dest`. */
  temporary?: string,
): OutputWriteError | undefined {
  const os = isStagecraftError(error) && error.code === "OUTPUT_WRITE" ? error.cause : error;
  const errno = os as Partial<NodeJS.ErrnoException> | undefined;
  if (typeof errno?.code !== "string" || typeof errno.syscall !== "string") return undefined;
  // The user named `dest`, not the temporary directory: a file in it is said where it was going.
  const named =
    typeof errno.path === "string" && temporary !== undefined && isInside(temporary, errno.path)
      ? join(dest, relative(temporary, resolve(errno.path)))
      : errno.path;
  // An error about another file (a --report written at the end) is not the export's.
  if (typeof named === "string" && !isUnder(dest, named)) return undefined;
  const path = type === "local" && typeof named === "string" ? named : dest;
  const words =
    (typeof errno.errno === "number" ? getSystemErrorMap().get(errno.errno)?.[1] : undefined) ??
    errno.message ??
    errno.code;
  const left = type === "tar" ? `nothing was left at ${dest}` : `${dest} was left as it was`;
  return new OutputWriteError(
    `${flag}: cannot write ${path}: ${words} (${errno.code}); ${left}`,
    hintFor(errno.code),
    os,
  );
}

/** `path` is `dest`, inside it, or the temporary file beside it that a tar is written to first. */
function isUnder(dest: string, path: string): boolean {
  return (
    isInside(dest, path) ||
    (dirname(path) === dirname(dest) && basename(path).startsWith(`${basename(dest)}.`))
  );
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, resolve(path));
  return rel === "" || !(rel.startsWith("..") || isAbsolute(rel));
}

function hintFor(code: string): string {
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return "Free space on that file system, or export to one with room for the result.";
    case "EROFS":
      return "That file system is mounted read-only; export somewhere writable.";
    case "EACCES":
    case "EPERM":
      return "Make the destination writable for this user, or export somewhere you can write to.";
    default:
      return "Check the destination's file system, or export somewhere else.";
  }
}

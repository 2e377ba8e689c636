/** Go `os.FileMode` type bits, as fsutil puts them in `Stat.mode` (Go `io/fs` `ModeDir` … `ModeSticky`). */
export const GoMode = {
  dir: 1 << 31,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
  irregular: 1 << 19,
} as const;

/** The bits that make an entry something other than a regular file. */
const TYPE_BITS =
  GoMode.dir |
  GoMode.symlink |
  GoMode.device |
  GoMode.namedPipe |
  GoMode.socket |
  GoMode.charDevice |
  GoMode.irregular;

/** What kind of entry a Go file mode describes. */
export type GoFileKind = "dir" | "symlink" | "file" | "other";

/** Reads the kind of entry from a Go file mode (an unsigned 32-bit number). */
export function goFileKind(mode: number): GoFileKind {
  const bits = mode >>> 0;
  if ((bits & GoMode.dir) !== 0) return "dir";
  if ((bits & GoMode.symlink) !== 0) return "symlink";
  if ((bits & TYPE_BITS) === 0) return "file";
  return "other";
}

/** The Unix permission bits (with setuid, setgid, sticky) of a Go file mode. */
export function goModeToUnix(mode: number): number {
  const bits = mode >>> 0;
  let unix = bits & 0o777;
  if ((bits & GoMode.setuid) !== 0) unix |= 0o4000;
  if ((bits & GoMode.setgid) !== 0) unix |= 0o2000;
  if ((bits & GoMode.sticky) !== 0) unix |= 0o1000;
  return unix;
}

/** A Go file mode for a Unix `st_mode` (type and permission bits), as Go's `os.Lstat` builds it. */
export function unixModeToGo(mode: number): number {
  let go = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000:
      go |= GoMode.dir;
      break;
    case 0o120000:
      go |= GoMode.symlink;
      break;
    case 0o060000:
      go |= GoMode.device;
      break;
    case 0o020000:
      go |= GoMode.device | GoMode.charDevice;
      break;
    case 0o010000:
      go |= GoMode.namedPipe;
      break;
    case 0o140000:
      go |= GoMode.socket;
      break;
    default:
      break;
  }
  if ((mode & 0o4000) !== 0) go |= GoMode.setuid;
  if ((mode & 0o2000) !== 0) go |= GoMode.setgid;
  if ((mode & 0o1000) !== 0) go |= GoMode.sticky;
  return go >>> 0;
}

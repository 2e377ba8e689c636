// Go's `path.Clean` (and `filepath.Clean` on a slash-separated path, as BuildKit, fsutil and the
// .dockerignore reader use it), for every part of stagecraft that judges paths as they do.

/**
 * The shortest path that names the same place: `.` and empty elements dropped, `..` applied to
 * the element before it (at the root it stays the root), no trailing slash, `.` for nothing.
 */
export function cleanGoPath(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts.at(-1) !== "..") parts.pop();
      else if (!absolute) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  return absolute ? `/${joined}` : joined === "" ? "." : joined;
}

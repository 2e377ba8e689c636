import { lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";

import { decodeName, toFsPath } from "../../context/context-path.js";
import { cleanGoPath } from "../../dockerfile/go/path.js";
import { matchPathPattern } from "../../context/match-path-pattern.js";
import { readContextDirSync } from "../../context/read-context-dir-sync.js";
import { sortByBytes } from "../../context/sort-by-bytes.js";

/**
 * fsutil `FollowLinks`: the paths the daemon asks to follow (`followpaths`), with every symlink on
 * the way resolved, so that a followed symlink's target is sent too (`COPY link /x` where `link`
 * points at a directory). Each path is walked component by component; a symlink adds itself and
 * continues at its target (inside `root`: an absolute or escaping target is taken from `root`). A
 * wildcard in a component (`COPY *.json`) looks for symlinks among the names it matches. The result
 * is sorted, without paths under another; undefined when one of them is the whole directory (".").
 */
export function followLinks(root: string, paths: readonly string[]): string[] | undefined {
  const resolved = new Set<string>();

  const readSymlink = (path: string, allowWildcard: boolean): string[] | undefined => {
    const base = posix.basename(path);
    const dir = posix.dirname(path);
    if (allowWildcard && containsWildcards(base)) {
      let names: string[];
      try {
        names = readContextDirSync(join(root, dir)).map((dirent) => dirent.name);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      let out: string[] | undefined;
      for (const name of sortByBytes(names)) {
        if (!matchesQuietly(base, name)) continue;
        const targets = readSymlink(goJoin(dir, name), false);
        if (targets !== undefined) out = [...(out ?? []), ...targets];
      }
      return out;
    }
    if (path === "." || path === "/") return undefined;
    const absolute = toFsPath(join(root, path));
    try {
      if (!lstatSync(absolute).isSymbolicLink()) return undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const link = cleanGoPath(decodeName(readlinkSync(absolute, { encoding: "buffer" })));
    return [link.startsWith("/") ? link : goJoin("/", goJoin(dir, link))];
  };

  const append = (followed: string): void => {
    let rest = goJoin(".", followed);
    let current = ".";
    for (;;) {
      const slash = rest.indexOf("/");
      current = goJoin(current, slash === -1 ? rest : rest.slice(0, slash));
      const targets = readSymlink(current, true);
      rest = slash === -1 ? "" : rest.slice(slash + 1);
      if ((rest === "" || targets !== undefined) && resolved.has(current)) return;
      if (targets !== undefined) {
        resolved.add(current);
        for (const target of targets) append(goJoin(target, rest));
        return;
      }
      if (rest === "") {
        resolved.add(current);
        return;
      }
    }
  };

  for (const path of paths) append(path);
  return dedupePaths(sortByBytes([...resolved]));
}

/** fsutil `dedupePaths` on a sorted list: drops paths under the one before; undefined for ".". */
export function dedupePaths(paths: readonly string[]): string[] | undefined {
  const out: string[] = [];
  let last: string | undefined;
  for (const path of paths) {
    if (path === ".") return undefined;
    if (last !== undefined && path.startsWith(`${last}/`)) continue;
    out.push(path);
    last = path;
  }
  return out;
}

/** Go's `filepath.Join`: the non-empty elements joined by "/" and cleaned. */
function goJoin(...parts: string[]): string {
  const present = parts.filter((part) => part !== "");
  return present.length === 0 ? "" : cleanGoPath(present.join("/"));
}

/** fsutil `containsWildcards`: `*`, `?` or `[` that a backslash does not escape. */
function containsWildcards(name: string): boolean {
  for (let index = 0; index < name.length; index++) {
    const char = name[index];
    if (char === "\\") index++;
    else if (char === "*" || char === "?" || char === "[") return true;
  }
  return false;
}

/** `filepath.Match` whose error (a malformed pattern) counts as no match, as fsutil ignores it. */
function matchesQuietly(pattern: string, name: string): boolean {
  try {
    return matchPathPattern(pattern, name);
  } catch {
    return false;
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

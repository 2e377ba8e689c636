import { readdirSync, type Dirent } from "node:fs";

import { decodeName, toFsPath } from "./context-path.js";

/** A directory entry whose name is a context path (see `context-path.ts`). */
export interface NamedDirent {
  name: string;
  isDirectory(): boolean;
}

/**
 * Lists a directory (a context path) synchronously, without following symlinks. Node decodes names
 * as UTF-8 and turns bytes that are not into U+FFFD, which names no file; a directory with such a
 * name is read again as bytes.
 */
export function readContextDirSync(path: string): NamedDirent[] {
  const fsPath = toFsPath(path);
  const dirents = readdirSync(fsPath, { withFileTypes: true });
  if (!dirents.some((dirent) => dirent.name.includes("\uFFFD"))) return dirents;
  return readdirSync(fsPath, { withFileTypes: true, encoding: "buffer" }).map(
    (dirent: Dirent<Buffer>) => ({
      name: decodeName(dirent.name),
      isDirectory: () => dirent.isDirectory(),
    }),
  );
}

import type { Dirent } from "node:fs";
import { lstat, readFile, readdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

import type { ContextFacts, ContextHazard } from "../checks/check-types.js";
import { ContextError } from "../errors.js";
import { createIgnoreFilter } from "./pack-build-context.js";
import { parseIgnoreFile } from "./parse-ignore-file.js";

/** Options of {@link gatherContextFacts}. */
export interface GatherContextFactsOptions {
  /** The build context directory; relative to `cwd`. */
  readonly contextDir: string;
  /** The Dockerfile (`<Dockerfile>.dockerignore` next to it wins over `.dockerignore`); relative to `cwd`. */
  readonly dockerfilePath: string;
  readonly cwd?: string;
  /** Stop counting a directory after this many entries (its size is then a lower bound). */
  readonly maxEntries?: number;
}

/** Top-level names that usually should not be in a build context, by kind. */
const HAZARDS: ReadonlyMap<string, ContextHazard["kind"]> = new Map([
  [".git", "vcs"],
  [".hg", "vcs"],
  [".svn", "vcs"],
  ["node_modules", "dependencies"],
  ["bower_components", "dependencies"],
  [".venv", "dependencies"],
  ["venv", "dependencies"],
  ["dist", "build-output"],
  ["build", "build-output"],
  ["target", "build-output"],
  ["out", "build-output"],
  [".next", "build-output"],
  [".nuxt", "build-output"],
  ["coverage", "build-output"],
  [".gradle", "build-output"],
]);

const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Reads what the context checks need from a build context directory: the ignore file docker would
 * use (`<Dockerfile>.dockerignore`, else `.dockerignore`), its matcher, and the size of the
 * version-control, dependency and build-output directories at its top.
 *
 * @example
 * const context = await gatherContextFacts({ contextDir: ".", dockerfilePath: "Dockerfile" });
 * checkDockerfile(text, { context });
 * @throws ContextError when the context is missing or the ignore file has a pattern docker rejects.
 */
export async function gatherContextFacts(
  options: GatherContextFactsOptions,
): Promise<ContextFacts> {
  const cwd = options.cwd ?? process.cwd();
  const contextDir = resolve(cwd, options.contextDir);
  const dockerfile = resolve(cwd, options.dockerfilePath);
  let entries: Dirent[];
  try {
    entries = await readdir(contextDir, { withFileTypes: true });
  } catch (error) {
    throw new ContextError(
      "CONTEXT_NOT_FOUND",
      `cannot read the build context ${contextDir}`,
      contextDir,
      {
        hint: "Check the context directory given to check.",
        cause: error,
      },
    );
  }
  let ignore: { path: string; text: string } | undefined;
  for (const path of [`${dockerfile}.dockerignore`, join(contextDir, ".dockerignore")]) {
    const text = await readOptional(path);
    if (text === undefined) continue;
    ignore = { path, text };
    break;
  }
  const ignorePath = ignore?.path;
  const patterns = ignore === undefined ? [] : parseIgnoreFile(ignore.text);
  // The same rules the context's walk follows: what it would not send is what the checks call ignored.
  const filter = createIgnoreFilter(ignore, contextDir);
  const matcher = { ignores: (path: string): boolean => !filter.sends(path) };
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const hazards: ContextHazard[] = [];
  for (const entry of entries) {
    const kind = HAZARDS.get(entry.name);
    if (kind === undefined) continue;
    const size = await measure(join(contextDir, entry.name), maxEntries);
    hazards.push({ path: entry.name, kind, ...size, ignored: matcher.ignores(entry.name) });
  }
  hazards.sort((a, b) => a.path.localeCompare(b.path));
  return {
    ignoreFile:
      ignorePath === undefined ? undefined : relative(contextDir, ignorePath) || ignorePath,
    ignorePatterns: patterns,
    isIgnored: (path) => matcher.ignores(path),
    hazards,
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw new ContextError(
      "CONTEXT_UNREADABLE",
      `cannot read the ignore file ${path}: ${String(code)}`,
      path,
      {
        hint: "Make it readable by the user running stagecraft.",
        cause: error,
      },
    );
  }
}

/** How many lstat calls run at once: one at a time, a 10,000-file node_modules took about 2 s. */
const PARALLEL_STATS = 128;

/** Bytes and files under a path (symlinks not followed), counting at most `maxEntries` entries. */
async function measure(
  path: string,
  maxEntries: number,
): Promise<{ bytes: number; files: number; truncated: boolean }> {
  let bytes = 0;
  let files = 0;
  let seen = 1;
  const top = await lstat(path).catch(() => undefined);
  if (top === undefined) return { bytes, files, truncated: false };
  if (!top.isDirectory())
    return { bytes: top.isFile() ? top.size : 0, files: top.isFile() ? 1 : 0, truncated: false };
  const directories = [path];
  const regular: string[] = [];
  const statFiles = async (): Promise<void> => {
    const batch = regular.splice(0, regular.length);
    for (let start = 0; start < batch.length; start += PARALLEL_STATS) {
      const stats = await Promise.all(
        batch
          .slice(start, start + PARALLEL_STATS)
          .map((file) => lstat(file).catch(() => undefined)),
      );
      for (const stat of stats) {
        if (stat?.isFile() !== true) continue;
        bytes += stat.size;
        files++;
      }
    }
  };
  for (let dir = directories.pop(); dir !== undefined; dir = directories.pop()) {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      // An unreadable directory counts as empty: the context walk reports it when building.
      continue;
    }
    for (const entry of entries) {
      if (seen >= maxEntries) {
        await statFiles();
        return { bytes, files, truncated: true };
      }
      seen++;
      if (entry.isDirectory()) directories.push(join(dir, entry.name));
      else if (entry.isFile()) regular.push(join(dir, entry.name));
    }
    if (regular.length >= PARALLEL_STATS) await statFiles();
  }
  await statFiles();
  return { bytes, files, truncated: false };
}

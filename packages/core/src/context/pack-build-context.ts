import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { lstat, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";

import { ContextError } from "../errors.js";
import { decodeName } from "./context-path.js";
import { createContextFilter, type ContextFilter } from "./create-context-filter.js";
import { InvalidPatternError } from "./create-pattern-matcher.js";
import { parseIgnoreFile } from "./parse-ignore-file.js";
import { walkContextDir } from "./walk-context-dir.js";
import { ContextChangedError, writeTar, type GeneratedTarEntry } from "./write-tar.js";
import type { ContextFs, ContextWarning } from "./walk-context-dir.js";

/** Options of `packBuildContext`. */
export interface PackBuildContextOptions {
  /** The build context directory. Relative paths are resolved against `cwd`. */
  contextDir: string;
  /**
   * The Dockerfile. As with `docker build -f`, a relative path is resolved against `cwd`, not against
   * the context, and the file may live outside the context.
   */
  dockerfilePath: string;
  /**
   * An ignore file to use instead of the usual lookup (`<Dockerfile>.dockerignore` next to the
   * Dockerfile, then `.dockerignore` at the context root).
   */
  ignoreFile?: string | undefined;
  /** Directory relative paths are resolved against; defaults to `process.cwd()`. */
  cwd?: string | undefined;
  /** Called once for each warning (see `BuildContext.warnings`), as it is found. */
  onWarning?: ((warning: ContextWarning) => void) | undefined;
  /** The file-system calls of the walk; defaults to node:fs (tests pass failing ones). */
  fs?: ContextFs | undefined;
}

/** A build context walked and filtered once, ready to be sent as a tar any number of times. */
export interface BuildContext {
  /**
   * A new tar stream of the context. Each call gives a stream of its own, so concurrent builds can
   * each send one. A context of 4 MB or more is read from disk as each stream is consumed (constant
   * memory); a smaller one is packed once, on the first call, and every stream sends those bytes.
   * File contents are read when packing; a file that disappears or becomes unreadable meanwhile
   * errors the stream with a `ContextError`.
   */
  stream(): Readable;
  /** The Dockerfile's path inside the tar: the `dockerfile` query parameter of `/build`. */
  dockerfileInContext: string;
  /** The context directory, absolute, symlinks resolved. */
  contextDir: string;
  /** The ignore file whose patterns were applied, or undefined when there was none. */
  ignoreFile: string | undefined;
  /** Regular files in the tar. */
  files: number;
  /** Total size of their contents (the tar adds 512-byte headers and padding). */
  bytes: number;
  /** Entries the ignore patterns left out; an excluded directory that was not walked counts once. */
  ignoredCount: number;
  /**
   * What the image will get differently from `docker build`, or from the files on disk: a socket
   * sent as an empty file; a Dockerfile the ignore file excludes, or one from outside the context,
   * that a tar upload must carry (see `packBuildContextUnder`).
   */
  warnings: readonly ContextWarning[];
}

/**
 * Walks a build context once, applying `.dockerignore` as `docker build` does (BuildKit's file walker,
 * see `createContextFilter`), and returns a source of tar streams for `POST /build`. Every error (missing context or Dockerfile, unreadable file or
 * directory, bad ignore pattern) is a `ContextError` raised here, before anything is streamed.
 *
 * The daemon does not apply `.dockerignore` to an uploaded tar, so the filtering happens here. It
 * reads the Dockerfile from the tar, so the tar carries it even when the ignore file excludes it, or
 * when it lives outside the context (under a generated name, as the docker CLI once did): `COPY .`
 * then gets a file `docker build` leaves out, and a warning says so. `packBuildContextUnder` reports
 * those contexts instead, for the caller to send through a session.
 *
 * @example
 * const context = await packBuildContext({ contextDir: ".", dockerfilePath: "Dockerfile" });
 * await engine.build({ context: () => context.stream(), dockerfile: context.dockerfileInContext, buildId });
 */
export async function packBuildContext(options: PackBuildContextOptions): Promise<BuildContext> {
  const packed = await packContext(options, Infinity);
  if (packed.kind !== "packed") throw new Error("a walk without a limit stopped");
  return packed.context;
}

/**
 * What `packBuildContextUnder` found: the packed context, that it reached the limit, or that no tar
 * upload can give the image `docker build` gives.
 */
export type SizedBuildContext =
  | { kind: "packed"; context: BuildContext }
  | {
      kind: "too-large";
      /** The context directory, absolute, symlinks resolved. */
      contextDir: string;
      /** The limit the files to send reached (the walk stopped there). */
      limitBytes: number;
      /** What the walk warned about before it stopped. */
      warnings: readonly ContextWarning[];
    }
  | {
      kind: "needs-session";
      /** The context directory, absolute, symlinks resolved. */
      contextDir: string;
      /**
       * Why a tar will not do: the daemon reads the Dockerfile from an uploaded tar, so `COPY .`
       * would get a Dockerfile the ignore file excludes, or the one added for a Dockerfile outside
       * the context; through a session it reads the Dockerfile from a directory of its own.
       */
      reason: string;
      /** Nothing was walked: always empty. */
      warnings: readonly ContextWarning[];
    };

/**
 * `packBuildContext` for a caller that can send a context another way (FileSync): the same checks
 * (context, Dockerfile, ignore file), but the walk stops as soon as the files to send reach
 * `limitBytes`, so a large context is not walked and opened file by file for nothing, and a context
 * whose Dockerfile the ignore file excludes, or lives outside it, is not packed at all
 * (`needs-session`: in a tar, `COPY .` would get the Dockerfile). With a limit of 0 nothing is
 * walked; with an infinite one this is `packBuildContext`.
 *
 * @example
 * const sized = await packBuildContextUnder({ contextDir: ".", dockerfilePath: "Dockerfile" }, 4 << 20);
 * if (sized.kind === "packed") upload(sized.context.stream()); else useFileSync(sized.contextDir);
 */
export async function packBuildContextUnder(
  options: PackBuildContextOptions,
  limitBytes: number,
): Promise<SizedBuildContext> {
  return await packContext(options, limitBytes);
}

async function packContext(
  options: PackBuildContextOptions,
  limitBytes: number,
): Promise<SizedBuildContext> {
  const cwd = options.cwd ?? process.cwd();
  const contextDir = await resolveContextDir(resolve(cwd, options.contextDir));
  const dockerfile = await resolveDockerfile(resolve(cwd, options.dockerfilePath));

  // docker/cli `GetContextFromLocalDir`: both paths have their symlinks evaluated, and a Dockerfile
  // whose path relative to the context starts with "../" is outside it.
  const relativeDockerfile = relative(contextDir, dockerfile.realPath).split(sep).join("/");
  const outside =
    relativeDockerfile === ".." ||
    relativeDockerfile.startsWith("../") ||
    isAbsolute(relativeDockerfile);

  const ignore = await readIgnoreFile(options, cwd, contextDir, dockerfile.givenPath);
  const filter = createIgnoreFilter(ignore, contextDir);
  const excludedDockerfile = !outside && !filter.sends(relativeDockerfile);
  if ((outside || excludedDockerfile) && limitBytes > 0 && Number.isFinite(limitBytes)) {
    return {
      kind: "needs-session",
      contextDir,
      reason: outside
        ? "the Dockerfile is outside the context"
        : `${ignore?.path ?? "the ignore file"} excludes the Dockerfile`,
      warnings: [],
    };
  }
  const walk = await walkContextDir(contextDir, filter, {
    fs: options.fs,
    onWarning: options.onWarning,
    stopAtBytes: limitBytes,
  });
  if (walk.stopped) {
    return { kind: "too-large", contextDir, limitBytes, warnings: walk.warnings };
  }

  let entries = walk.entries;
  let files = walk.files;
  let bytes = walk.bytes;
  let dockerfileInContext = relativeDockerfile;
  const warnings = [...walk.warnings];
  const warn = (warning: ContextWarning): void => {
    warnings.push(warning);
    options.onWarning?.(warning);
  };
  const generated: GeneratedTarEntry[] = [];
  if (excludedDockerfile) {
    // The daemon reads the Dockerfile from the tar, whatever the ignore file says.
    entries = [...entries, relativeDockerfile];
    files += 1;
    bytes += dockerfile.stats.size;
    warn({
      path: relativeDockerfile,
      message: `${ignore?.path ?? "the ignore file"} excludes the Dockerfile, but a tar upload must carry it: COPY . gets it, where docker build leaves it out (send the context through a session to match)`,
    });
  }
  if (outside) {
    const added = await addOutsideDockerfile(contextDir, dockerfile, entries);
    dockerfileInContext = added.name;
    entries = added.entries;
    generated.push(...added.generated);
    files += added.files;
    bytes += added.bytes;
    warn({
      path: added.name,
      message: `the Dockerfile is outside the context, so a tar upload carries it as ${added.name}, named in .dockerignore: COPY . gets both, where docker build gets neither (send the context through a session to match)`,
    });
  }

  const frozenEntries: readonly string[] = entries;
  return {
    kind: "packed",
    context: {
      stream:
        bytes < MEMORY_TAR_BYTES
          ? sharedTar(() => streamTar(contextDir, frozenEntries, generated))
          : () => streamTar(contextDir, frozenEntries, generated),
      dockerfileInContext,
      contextDir,
      ignoreFile: ignore?.path,
      files,
      bytes,
      ignoredCount: walk.ignoredCount,
      warnings,
    },
  };
}

async function resolveContextDir(path: string): Promise<string> {
  let real: string;
  let stats: Stats;
  try {
    real = await realpath(path);
    stats = await stat(real);
  } catch (error) {
    if (isMissing(error)) {
      throw new ContextError("CONTEXT_NOT_FOUND", `build context ${path} does not exist`, path, {
        hint: "Pass the directory that holds the files your Dockerfile copies (the last argument of `docker build`).",
        cause: error,
      });
    }
    throw unreadable(path, "the build context", error);
  }
  if (!stats.isDirectory()) {
    throw new ContextError(
      "CONTEXT_NOT_FOUND",
      `build context ${path} is a file, not a directory`,
      path,
      {
        hint: "Pass the directory that holds the files your Dockerfile copies; name the Dockerfile itself with -f.",
      },
    );
  }
  return real;
}

interface ResolvedDockerfile {
  /** Absolute, as the user named it: `<Dockerfile>.dockerignore` is looked for next to this one. */
  givenPath: string;
  /** Absolute, symlinks resolved: what decides whether it is inside the context. */
  realPath: string;
  stats: Stats;
}

async function resolveDockerfile(path: string): Promise<ResolvedDockerfile> {
  let real: string;
  let stats: Stats;
  try {
    real = await realpath(path);
    stats = await stat(real);
  } catch (error) {
    if (isMissing(error)) {
      throw new ContextError("CONTEXT_NOT_FOUND", `Dockerfile ${path} does not exist`, path, {
        hint: "Name the Dockerfile with -f; a relative path is taken from the current directory, not from the context.",
        cause: error,
      });
    }
    throw unreadable(path, "the Dockerfile", error);
  }
  if (!stats.isFile()) {
    throw new ContextError("CONTEXT_NOT_FOUND", `Dockerfile ${path} is not a file`, path, {
      hint: "Name the Dockerfile itself with -f, not the directory that holds it.",
    });
  }
  return { givenPath: path, realPath: real, stats };
}

/** The rules of the ignore file (none without one), with docker's error for a pattern it rejects. */
export function createIgnoreFilter(
  ignore: { path: string; text: string } | undefined,
  contextDir: string,
): ContextFilter {
  const source = ignore?.path ?? join(contextDir, ".dockerignore");
  try {
    return createContextFilter({
      excludePatterns: ignore === undefined ? [] : parseIgnoreFile(ignore.text),
    });
  } catch (error) {
    if (!(error instanceof InvalidPatternError)) throw error;
    const message =
      error.message === 'illegal exclusion pattern: "!"'
        ? `${error.message} in ${source}`
        : `invalid pattern "${error.pattern}" in ${source}: ${error.message}`;
    throw new ContextError("CONTEXT_UNREADABLE", message, source, {
      hint: "Fix or remove the pattern; .dockerignore patterns use Go's filepath.Match syntax.",
      cause: error,
    });
  }
}

/**
 * The ignore filter a build of `dockerfile` applies to `contextDir` (both absolute, the Dockerfile as
 * the user named it): the same lookup as `packBuildContext`, for a context sent through a session.
 */
export async function readContextFilter(
  contextDir: string,
  dockerfile: string,
): Promise<{ filter: ContextFilter; ignore: { path: string; text: string } | undefined }> {
  const ignore = await readIgnoreFile(
    { contextDir, dockerfilePath: dockerfile },
    contextDir,
    contextDir,
    dockerfile,
  );
  return { filter: createIgnoreFilter(ignore, contextDir), ignore };
}

/**
 * Finds the patterns that apply. BuildKit reads `<Dockerfile>.dockerignore` next to the Dockerfile
 * and, only when there is none, `.dockerignore` at the context root (moby/buildkit
 * `frontend/dockerui/config.go`); an empty `<Dockerfile>.dockerignore` still wins.
 */
async function readIgnoreFile(
  options: PackBuildContextOptions,
  cwd: string,
  contextDir: string,
  dockerfile: string,
): Promise<{ path: string; text: string } | undefined> {
  if (options.ignoreFile !== undefined) {
    const path = resolve(cwd, options.ignoreFile);
    const text = await readOptionalFile(path);
    if (text === undefined) {
      throw new ContextError("CONTEXT_NOT_FOUND", `ignore file ${path} does not exist`, path, {
        hint: "Check the path given as the ignore file, or leave it out to use .dockerignore.",
      });
    }
    return { path, text: decodeName(text) };
  }
  for (const path of [`${dockerfile}.dockerignore`, join(contextDir, ".dockerignore")]) {
    const text = await readOptionalFile(path);
    // Patterns are bytes to docker, as names are: a name that is not UTF-8 can still be matched.
    if (text !== undefined) return { path, text: decodeName(text) };
  }
  return undefined;
}

/** Reads a file, or undefined when there is no file there (ENOENT, ENOTDIR, EISDIR). */
async function readOptionalFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === "EISDIR") return undefined;
    throw unreadable(path, "the ignore file", error);
  }
}

/**
 * A Dockerfile outside the context goes into the tar under a generated name, and that name is appended
 * to `.dockerignore` (created when there is none), as docker/cli `AddDockerfileToBuildContext` does.
 *
 * Docker names it `.dockerfile.` + 20 random hex digits, mode 0600, mtime now. The name here is 20
 * hex digits of the content's SHA-256 and the mtime is the Dockerfile's: the tar then stays the same
 * from one run to the next, and BuildKit's cache for `COPY . …` keeps hitting (the name and the
 * `.dockerignore` content are part of its cache key; the mtime is not). An entry of the same name in
 * the context is replaced, as docker's `ReplaceFileTarWrapper` replaces it.
 */
async function addOutsideDockerfile(
  contextDir: string,
  dockerfile: ResolvedDockerfile,
  walked: readonly string[],
): Promise<{
  name: string;
  entries: string[];
  generated: GeneratedTarEntry[];
  files: number;
  bytes: number;
}> {
  let content: Buffer;
  try {
    content = await readFile(dockerfile.realPath);
  } catch (error) {
    throw unreadable(dockerfile.givenPath, "the Dockerfile", error);
  }
  const name = `.dockerfile.${createHash("sha256").update(content).digest("hex").slice(0, 20)}`;

  const ignorePath = join(contextDir, ".dockerignore");
  let previous: { content: Buffer; stats: Stats } | undefined;
  try {
    const stats = await lstat(ignorePath);
    // A `.dockerignore` that is a symlink or a directory is replaced like a missing one.
    if (stats.isFile()) previous = { content: await readFile(ignorePath), stats };
  } catch (error) {
    if (!isMissing(error)) throw unreadable(ignorePath, "the ignore file", error);
  }
  const ignoreContent = Buffer.concat([
    previous?.content ?? Buffer.from(".dockerignore"),
    Buffer.from(`\n${name}\n`),
  ]);

  const generated: GeneratedTarEntry[] = [
    { name, mode: 0o600, mtime: dockerfile.stats.mtime, content },
    {
      name: ".dockerignore",
      mode: previous === undefined ? 0o600 : previous.stats.mode & 0o7777,
      mtime: previous?.stats.mtime ?? dockerfile.stats.mtime,
      content: ignoreContent,
    },
  ];
  const replaced = new Set(generated.map((entry) => entry.name));
  const entries = walked.filter((entry) => !replaced.has(entry));
  return {
    name,
    entries,
    generated,
    files: 1 + (previous === undefined ? 1 : 0),
    bytes: content.length + ignoreContent.length - (previous?.content.length ?? 0),
  };
}

/** A context whose files add up to less than this is packed once in memory (see `sharedTar`). */
const MEMORY_TAR_BYTES = 4 * 1024 * 1024;

/**
 * `stream` for a small context: the tar is made on the first call and every stream, that one
 * included, is those same bytes. Four targets of a small context were four walks through tar-fs and
 * the disk (~35 ms of CPU on a no-op rebuild); now one. A failure is every stream's failure.
 */
function sharedTar(pack: () => Readable): () => Readable {
  let packed: Promise<Buffer> | undefined;
  return () => {
    packed ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of pack()) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    const bytes = packed;
    return Readable.from(
      (async function* () {
        yield await bytes;
      })(),
      { objectMode: false },
    );
  };
}

/** One tar stream of the walk's entries and the generated ones (see `writeTar` for the format). */
function streamTar(
  root: string,
  entries: readonly string[],
  generated: readonly GeneratedTarEntry[],
): Readable {
  return Readable.from(rethrowAsContextError(writeTar(root, entries, generated)), {
    objectMode: false,
  });
}

async function* rethrowAsContextError(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (error) {
    if (error instanceof ContextChangedError) {
      throw new ContextError(
        "CONTEXT_UNREADABLE",
        `the build context changed while it was sent: ${error.message}`,
        error.path,
        { hint: "Build again once nothing is writing to the context.", cause: error },
      );
    }
    const path = (error as NodeJS.ErrnoException).path;
    throw path === undefined
      ? new ContextError(
          "CONTEXT_UNREADABLE",
          `the build context changed while it was sent: ${String(error)}`,
          "",
          { hint: "Build again once nothing is writing to the context.", cause: error },
        )
      : unreadable(path, "a file of the build context", error);
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function unreadable(path: string, what: string, cause: unknown): ContextError {
  const code = (cause as NodeJS.ErrnoException).code;
  const reason = code === "EACCES" || code === "EPERM" ? "permission denied" : String(cause);
  return new ContextError("CONTEXT_UNREADABLE", `cannot read ${what} ${path}: ${reason}`, path, {
    hint: "Make it readable by the user running stagecraft, or exclude it in .dockerignore.",
    cause,
  });
}

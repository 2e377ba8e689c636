import { resolve } from "node:path";
import type { ContextWarning } from "./walk-context-dir.js";
import { packBuildContextUnder, type BuildContext } from "./pack-build-context.js";

/** How the build context reaches the engine: `auto` chooses (see `prepareContext`). */
export type ContextTransfer = "auto" | "tar" | "session";

/** Where a run's build context comes from. */
export interface ContextInput {
  /** The build context directory; relative to `cwd`. */
  dir: string;
  /** The Dockerfile; relative to `cwd` (not to the context, as with `docker build -f`). */
  dockerfile: string;
  /** `auto` (default), `tar` or `session`. */
  transfer?: ContextTransfer | undefined;
  /** What relative paths are relative to (default: the process's working directory). */
  cwd?: string | undefined;
}

/** A context ready to send: packed as one tar for every target's build, or served by a session. */
export type PreparedContext =
  | { kind: "tar"; context: BuildContext }
  | {
      kind: "session";
      /** The context directory, absolute, symlinks resolved. */
      contextDir: string;
      /** The Dockerfile, absolute. */
      dockerfile: string;
      /**
       * Why the context goes through the session: its size, an engine that is not on this machine,
       * the caller's choice, a Dockerfile a tar would put into `COPY .` (excluded by the ignore
       * file, or outside the context), or an engine that cannot read a tar upload.
       */
      reason: "size" | "remote-engine" | "asked" | "dockerfile" | "engine";
      /** What the walk skipped before it stopped (sockets, FIFOs, devices). */
      warnings: readonly ContextWarning[];
    };

/** Contexts at least this big go through FileSync instead of a tar upload (see `prepareContext`). */
export const SESSION_CONTEXT_BYTES = 4 * 1024 * 1024;

/**
 * Checks the context and the Dockerfile and decides how they travel. A tar upload is sent whole for
 * every target's build; FileSync (a session) sends each file once, and on a rebuild only the files
 * that changed. Measured here on a 51 MB / 5,000-file context, no-op rebuild (Docker 26.1, local
 * socket): 1 target, tar 2.0 s vs FileSync 1.1–1.7 s; 4 targets, tar 2.8–5.0 s vs FileSync 1.0 s;
 * through TCP on 127.0.0.1, 4 targets, tar 4.0–4.6 s vs FileSync 1.1–1.2 s (one file changed: 6.9 s
 * vs 2.6 s). A small context is faster as a tar (a session costs ~100 ms to load gRPC and open), so
 * `auto` is: FileSync for a context of 4 MB or more, or for any context when the engine is not on
 * this machine, or when a tar would put the Dockerfile into `COPY .` (the daemon reads it from the
 * tar); a tar otherwise. The walk stops at the limit, so a big context is never opened file
 * by file only to be sent through the session.
 *
 * @throws ContextError for a missing or unreadable context, Dockerfile or ignore file.
 */
export async function prepareContext(
  input: ContextInput,
  engineIsLocal: boolean,
): Promise<PreparedContext> {
  const transfer = input.transfer ?? "auto";
  const limit =
    transfer === "tar"
      ? Infinity
      : transfer === "session" || !engineIsLocal
        ? 0
        : SESSION_CONTEXT_BYTES;
  const sized = await packBuildContextUnder(
    { contextDir: input.dir, dockerfilePath: input.dockerfile, cwd: input.cwd },
    limit,
  );
  if (sized.kind === "packed") return { kind: "tar", context: sized.context };
  return {
    kind: "session",
    contextDir: sized.contextDir,
    dockerfile: resolve(input.cwd ?? process.cwd(), input.dockerfile),
    reason:
      sized.kind === "needs-session"
        ? "dockerfile"
        : transfer === "session"
          ? "asked"
          : engineIsLocal
            ? "size"
            : "remote-engine",
    warnings: sized.warnings,
  };
}

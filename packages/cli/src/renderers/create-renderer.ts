import { appendFileSync } from "node:fs";
import type { BuildEvent, BuildReport } from "@stagecraft/core";
import type { PoolOutcome } from "@stagecraft/core/pool";
import type { Io } from "../io.js";
import type { ProgressMode } from "./choose-progress-mode.js";
import { createGithubRenderer } from "./github-renderer.js";
import { createJsonRenderer } from "./json-renderer.js";
import { createPlainRenderer } from "./plain-renderer.js";
import { createQuietRenderer } from "./quiet-renderer.js";
import { createTtyRenderer } from "./tty-renderer.js";

/** Shows a run: gets every event as it happens, then the report once at the end. */
export interface Renderer {
  onEvent(event: BuildEvent): void;
  /**
   * Ends the live output and prints the report; later events and calls are ignored. A pool run
   * gives its shared stages too, for the job summary (the pool's own lines come after).
   */
  finish(report: BuildReport, pool?: Pick<PoolOutcome, "shared">): void;
}

/** Options of `createRenderer`. */
export interface RendererOptions {
  mode: ProgressMode;
  io: Io;
  /** The requested targets, in the order the user named them. */
  targets: readonly string[];
  /** Whether to use ANSI colours (see `shouldUseColor`). */
  color: boolean;
  /** The Dockerfile's path as the user named it, for `Dockerfile:12` locations and annotations. */
  dockerfile?: string | undefined;
  /** Per target, its Dockerfile's path when the targets come from several (a bake file). */
  dockerfiles?: Readonly<Record<string, string>> | undefined;
  /** Appends to a file; `github` mode writes the job summary with it (default: `fs.appendFileSync`). */
  appendFile?: ((path: string, text: string) => void) | undefined;
}

/** What each renderer gets: the options, with defaults filled in. */
export interface RendererContext {
  io: Io;
  targets: readonly string[];
  color: boolean;
  dockerfile: string;
  dockerfiles: Readonly<Record<string, string>>;
  appendFile: (path: string, text: string) => void;
}

/**
 * Creates the renderer for a progress mode. The events and the report it is given are already
 * masked by `runBuild` (secret values are `***`).
 *
 * @example
 * const mode = chooseProgressMode(args.progress, io);
 * const renderer = createRenderer({ mode, io, targets, color: shouldUseColor(io.stdout, io.env) });
 * const outcome = await runBuild({ ...options, onEvent: (event) => renderer.onEvent(event) });
 * renderer.finish(outcome.report);
 */
export function createRenderer(options: RendererOptions): Renderer {
  const context: RendererContext = {
    io: options.io,
    targets: options.targets,
    color: options.color,
    dockerfile: options.dockerfile ?? "Dockerfile",
    dockerfiles: options.dockerfiles ?? {},
    appendFile: options.appendFile ?? appendFileSync,
  };
  return createModeRenderer(options.mode, context);
}

function createModeRenderer(mode: ProgressMode, context: RendererContext): Renderer {
  switch (mode) {
    case "tty":
      return createTtyRenderer(context);
    case "plain":
      return createPlainRenderer(context);
    case "json":
      return createJsonRenderer(context);
    case "quiet":
      return createQuietRenderer(context);
    case "github":
      return createGithubRenderer(context);
    default:
      return mode satisfies never;
  }
}

import type { BuildEvent } from "@stagecraft/core";
import type { Io } from "../io.js";
import type { Renderer } from "./create-renderer.js";
import { sanitizeLine } from "./sanitize-line.js";

/**
 * The events' listener of a build or bake: each event to the renderer, and first, on stderr, the
 * warnings the context's walk met (a file that vanished, a name that is not UTF-8).
 */
export function withContextWarnings(io: Io, renderer: Renderer): (event: BuildEvent) => void {
  return (event) => {
    if (event.type === "run-started") {
      for (const warning of event.context.warnings) {
        io.stderr.write(`warning: ${sanitizeLine(warning.path)}: ${warning.message}\n`);
      }
    }
    renderer.onEvent(event);
  };
}

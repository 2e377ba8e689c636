import type { Renderer, RendererContext } from "./create-renderer.js";
import { terminalWidth } from "./fit-to-width.js";
import { formatReport } from "./format-report.js";

/** Nothing while building; a line per target and the failures at the end. */
export function createQuietRenderer(context: RendererContext): Renderer {
  let finished = false;
  return {
    onEvent() {
      // Quiet means quiet: everything worth saying is in the report.
    },
    finish(report) {
      if (finished) return;
      finished = true;
      context.io.stdout.write(
        formatReport(report, {
          color: context.color,
          dockerfile: context.dockerfile,
          dockerfiles: context.dockerfiles,
          width: context.io.stdout.isTTY ? terminalWidth(context.io.stdout.columns) : undefined,
          detail: "short",
        }),
      );
    },
  };
}

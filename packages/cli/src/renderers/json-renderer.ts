import type { Renderer, RendererContext } from "./create-renderer.js";

/**
 * JSON lines on stdout: every event as it comes, then `{"type":"report", …}`; nothing else, so the
 * stream can be piped straight into `jq` or another program.
 */
export function createJsonRenderer(context: RendererContext): Renderer {
  let finished = false;
  return {
    onEvent(event) {
      if (finished) return;
      context.io.stdout.write(`${JSON.stringify(event)}\n`);
    },
    finish(report) {
      if (finished) return;
      finished = true;
      context.io.stdout.write(`${JSON.stringify({ type: "report", ...report })}\n`);
    },
  };
}

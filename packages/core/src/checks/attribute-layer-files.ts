import type { LayerReport } from "../report/build-report.js";
import type { ImageLayerFiles } from "./check-types.js";

/** Instructions that change only the image's config: their history entries have no layer. */
const CONFIG_ONLY = new Set([
  "ARG",
  "CMD",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
]);

/**
 * Names the stage and Dockerfile line of each scanned layer (oldest first) from the image's
 * attributed history (`LayerReport`s, oldest first). The history also lists config-only steps
 * (`ENV`, `USER`, the classic builder's `#(nop) CMD`), which made no layer; the others are matched
 * to the layers from the newest down, so a base image whose history says less than its layers
 * only loses its own attribution.
 */
export function attributeLayerFiles(
  layers: readonly { index: number; paths: readonly string[]; unreadable?: string }[],
  history: readonly Pick<LayerReport, "createdBy" | "origin" | "stage" | "line">[],
): ImageLayerFiles[] {
  const bearing = history.filter((entry) => !CONFIG_ONLY.has(keywordOf(entry.createdBy)));
  const result: ImageLayerFiles[] = [];
  for (let position = layers.length - 1, entry = bearing.length - 1; position >= 0; position -= 1) {
    const layer = layers[position];
    if (layer === undefined) continue;
    const made = bearing[entry];
    entry -= 1;
    const fromStage = made?.origin === "stage";
    result.push({
      index: layer.index,
      line: fromStage ? (made.line ?? undefined) : undefined,
      stage: fromStage ? (made.stage ?? undefined) : undefined,
      paths: layer.paths,
      ...(layer.unreadable === undefined ? {} : { unreadable: layer.unreadable }),
    });
  }
  return result.reverse();
}

/** `RUN`, `COPY`, `ENV`, … of a history entry, as BuildKit or the classic builder recorded it. */
function keywordOf(createdBy: string): string {
  const text = createdBy.replace(/^\/bin\/sh -c #\(nop\)\s*/, "NOP ").trim();
  if (text.startsWith("NOP ")) return text.slice(4).split(/\s/, 1)[0]?.toUpperCase() ?? "";
  // The classic builder's RUN is the bare command.
  if (text.startsWith("/bin/sh -c") || text.startsWith("|")) return "RUN";
  return text.split(/\s/, 1)[0]?.toUpperCase() ?? "";
}

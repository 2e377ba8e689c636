// Maps each entry of an image's history to the Dockerfile step that made it. The engine's history
// has no stage names (BuildKit records `COPY src dst # buildkit` without `--from`), so the entries
// are matched against the steps, newest first, along the chain of `FROM`s down to the base image.
import type { LayerReport } from "./build-report.js";

/** One step of a stage, as the attribution needs it. */
export interface LayerStep {
  /** The instruction's keyword, upper case: `RUN`, `COPY`, `ARG`, … */
  keyword: string;
  line: number;
  /** For `COPY --from=X`: `X` as written. */
  copiedFrom: string | null;
}

/** A stage of the chain an image was built along. */
export interface LayerStage {
  id: string;
  /** What its `FROM` names: an earlier stage (by id), an image, or nothing. */
  base:
    { kind: "stage"; stage: string } | { kind: "image"; reference: string } | { kind: "scratch" };
  /** Its steps in Dockerfile order (`FROM` left out). */
  steps: readonly LayerStep[];
}

/** One history entry, newest first, as the engine gives it. */
export interface HistoryEntry {
  createdBy: string;
  sizeBytes: number;
}

/**
 * Attributes each history entry (newest first, as `docker history` lists them) to a step of the
 * target's stage chain or to the base image; returns the entries oldest first. A step that recorded
 * no entry of its own (an `ONBUILD` trigger's host, a step the builder folds) is skipped by keyword.
 */
export function attributeLayers(
  history: readonly HistoryEntry[],
  finalStage: string,
  stages: readonly LayerStage[],
): LayerReport[] {
  const byId = new Map(stages.map((stage) => [stage.id, stage]));
  // The steps from the newest (the final stage's last) to the oldest (the root stage's first).
  const steps: { stage: string; step: LayerStep }[] = [];
  let baseImage: string | null = null;
  const seen = new Set<string>();
  for (let stage = byId.get(finalStage); stage !== undefined && !seen.has(stage.id);) {
    seen.add(stage.id);
    for (const step of [...stage.steps].reverse()) steps.push({ stage: stage.id, step });
    if (stage.base.kind === "stage") {
      stage = byId.get(stage.base.stage);
    } else {
      if (stage.base.kind === "image") baseImage = stage.base.reference;
      break;
    }
  }
  const layers: Omit<LayerReport, "index">[] = [];
  let next = 0;
  for (const entry of history) {
    const keyword = keywordOf(entry.createdBy);
    let match = next;
    while (match < steps.length && steps[match]?.step.keyword !== keyword) match += 1;
    const found = steps[match];
    const createdBy = describe(entry.createdBy);
    if (keyword !== null && found !== undefined) {
      next = match + 1;
      layers.push({
        sizeBytes: entry.sizeBytes,
        createdBy,
        origin: "stage",
        stage: found.stage,
        line: found.step.line,
        copiedFrom: found.step.copiedFrom,
        baseImage: null,
      });
    } else {
      // Past the chain's steps (or a step of no known kind): the base image's own history.
      next = steps.length;
      layers.push({
        sizeBytes: entry.sizeBytes,
        createdBy,
        origin: "base",
        stage: null,
        line: null,
        copiedFrom: null,
        baseImage,
      });
    }
  }
  return layers.reverse().map((layer, index) => ({ index, ...layer }));
}

/** The layers that weigh most, heaviest first (equal ones newest first); config-only steps left out. */
export function largestLayers(layers: readonly LayerReport[], count: number): LayerReport[] {
  return layers
    .filter((layer) => layer.sizeBytes > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes || b.index - a.index)
    .slice(0, count);
}

/** The Dockerfile keyword a history entry starts with; null for an imported layer or a foreign tool. */
function keywordOf(createdBy: string): string | null {
  // The classic builder wrote `/bin/sh -c #(nop)  CMD …` for config steps and `/bin/sh -c …` for RUN.
  const text = createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, "");
  if (text !== createdBy) return /^([A-Z]+)\s/.exec(text)?.[1] ?? null;
  if (createdBy.startsWith("/bin/sh -c ")) return "RUN";
  return /^([A-Z]+)(?:\s|$)/.exec(createdBy)?.[1] ?? null;
}

/** The entry's text without BuildKit's ` # buildkit` suffix and its `|N K=V` build-arg prefix on RUN. */
function describe(createdBy: string): string {
  return createdBy
    .replace(/ # buildkit$/, "")
    .replace(/^RUN \|\d+(?: \S+=\S*)* /, "RUN ")
    .trim();
}

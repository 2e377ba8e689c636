import { suggestClosest } from "../dockerfile/parse-flags.js";
import type { SourcePosition } from "../errors.js";
import type { StageGraph, UseKind } from "../stages/stage-graph.js";

/** A `FROM` or `--from` that names no stage but is one typo away from a stage's name. */
export interface StageTypo {
  /** The name as written, e.g. `buidler`. */
  reference: string;
  /** The stage it probably meant, e.g. `builder`. */
  suggestion: string;
  kind: UseKind;
  /** The stage that uses it. */
  stage: string;
  position: SourcePosition;
  /** One sentence for the user. */
  message: string;
}

const KEYWORDS: Readonly<Record<UseKind, string>> = {
  base: "FROM",
  copy: "COPY --from",
  mount: "RUN --mount from",
};

/**
 * BuildKit treats a `FROM` or `--from` that names no stage as an image to pull, so a misspelt stage
 * name fails late, as a registry error. This finds the references that look like stage names (no
 * registry, path, tag or digest) and are within BuildKit's suggestion distance of a stage.
 */
export function findStageTypos(graph: StageGraph): StageTypo[] {
  const names = [
    ...new Set(graph.stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]))),
  ];
  if (names.length === 0) return [];
  const typos: StageTypo[] = [];
  const seen = new Set<string>();
  for (const stage of graph.stages) {
    for (const use of stage.imageUses) {
      if (/[/:@.]/.test(use.reference)) continue;
      const suggestion = suggestClosest(use.reference, names, false);
      if (suggestion === undefined) continue;
      const key = `${use.reference}\u0000${use.position.line}`;
      if (seen.has(key)) continue;
      seen.add(key);
      typos.push({
        reference: use.reference,
        suggestion,
        kind: use.kind,
        stage: stage.id,
        position: use.position,
        message: `${KEYWORDS[use.kind]}=${use.reference} names no stage, so BuildKit will pull it as an image; did you mean "${suggestion}"?`,
      });
    }
  }
  return typos;
}

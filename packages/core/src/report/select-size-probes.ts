// Which stages a run measures besides its targets, so every target can be set against the stage it
// was built from without the user asking for that stage.

/** What the choice needs to know about a stage. */
export interface SizeSourceStage {
  id: string;
  /** The stages its `COPY --from` / `ADD --from` name, in order of use. */
  copiesFrom: readonly string[];
  /** The stage its `FROM` names; null for an image or `scratch`. */
  baseStage: string | null;
}

/**
 * The stage each target's image is compared with: the stages its final stage copies from, or else
 * its base stage. Returns the ones that are no target's own image (those need a size probe), each
 * once, in the order first needed.
 */
export function selectSizeProbes(
  targetStages: readonly string[],
  stages: readonly SizeSourceStage[],
): string[] {
  const byId = new Map(stages.map((stage) => [stage.id, stage]));
  const probes: string[] = [];
  for (const target of targetStages) {
    const stage = byId.get(target);
    if (stage === undefined) continue;
    const sources =
      stage.copiesFrom.length > 0
        ? stage.copiesFrom
        : stage.baseStage === null
          ? []
          : [stage.baseStage];
    for (const source of sources) {
      if (!targetStages.includes(source) && !probes.includes(source) && byId.has(source)) {
        probes.push(source);
      }
    }
  }
  return probes;
}

/** A stage and the stages it needs, as the stage graph gives them. */
export interface StageDependencies {
  id: string;
  dependsOn: readonly string[];
}

/** The heaviest chain of stages along dependency edges: first stage first. */
export interface StageChain {
  stages: string[];
  durationMs: number;
}

/**
 * The chain of stages, following `dependsOn` edges, whose durations add up to the most: the part of the
 * run no amount of parallelism could shorten. Only stages in `durations` take part; null when none do.
 */
export function findCriticalPath(
  graph: readonly StageDependencies[],
  durations: ReadonlyMap<string, number>,
): StageChain | null {
  const dependsOn = new Map<string, readonly string[]>();
  for (const stage of graph) dependsOn.set(stage.id, stage.dependsOn);

  // Candidates in graph order first, then stages the graph does not know (they have no edges).
  const order = [
    ...graph.map((stage) => stage.id).filter((id) => durations.has(id)),
    ...[...durations.keys()].filter((id) => !dependsOn.has(id)),
  ];
  const best = new Map<string, StageChain>();
  const visiting = new Set<string>();

  const heaviestEndingAt = (id: string): StageChain => {
    const known = best.get(id);
    if (known !== undefined) return known;
    visiting.add(id);
    let heaviestBefore: StageChain = { stages: [], durationMs: 0 };
    for (const dependency of dependsOn.get(id) ?? []) {
      // A cycle cannot happen in a Dockerfile BuildKit accepted; skipping the back edge keeps this total.
      if (!durations.has(dependency) || visiting.has(dependency)) continue;
      const chain = heaviestEndingAt(dependency);
      if (isHeavier(chain, heaviestBefore)) heaviestBefore = chain;
    }
    visiting.delete(id);
    const chain = {
      stages: [...heaviestBefore.stages, id],
      durationMs: heaviestBefore.durationMs + (durations.get(id) ?? 0),
    };
    best.set(id, chain);
    return chain;
  };

  let heaviest: StageChain | null = null;
  for (const id of order) {
    const chain = heaviestEndingAt(id);
    if (heaviest === null || isHeavier(chain, heaviest)) heaviest = chain;
  }
  return heaviest;
}

// On equal time the longer chain wins: it tells more about how the stages wait on each other.
function isHeavier(chain: StageChain, than: StageChain): boolean {
  return (
    chain.durationMs > than.durationMs ||
    (chain.durationMs === than.durationMs && chain.stages.length > than.stages.length)
  );
}

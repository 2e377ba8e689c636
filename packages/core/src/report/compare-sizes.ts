// A final image against the stage it was built from: a target of the run too, or a stage nobody
// asked for whose size a probe measured (an untagged build of it on the engine, see `runBuild`).
import type { SizeComparison, TargetReport } from "./build-report.js";
import type { StageDependencies } from "./find-critical-path.js";

/**
 * Fills in each target's `sizeComparison` in place; `stageSizes` are the probed sizes of stages that
 * are no target's image. Returns every stage size known (targets' final stages and probes).
 */
export function compareSizes(
  targets: TargetReport[],
  graph: readonly StageDependencies[],
  targetStages: Readonly<Record<string, readonly string[]>>,
  stageSizes: Readonly<Record<string, number>> = {},
): Map<string, number> {
  const sizeByStage = new Map<string, number>();
  for (const [stage, size] of Object.entries(stageSizes)) {
    if (size > 0) sizeByStage.set(stage, size);
  }
  for (const other of targets) {
    if (other.sizeBytes === null || other.sizeBytes <= 0) continue;
    sizeByStage.set(finalStageOf(other.target, graph, targetStages), other.sizeBytes);
  }
  for (const report of targets) {
    report.sizeComparison = compareSize(report, sizeByStage, graph, targetStages);
  }
  return sizeByStage;
}

/** The stage a target's image is: its own name when it names one of its stages, else its last stage. */
export function finalStageOf(
  target: string,
  graph: readonly StageDependencies[],
  targetStages: Readonly<Record<string, readonly string[]>>,
): string {
  const stages = targetStages[target];
  if (stages === undefined || stages.length === 0 || stages.includes(target)) return target;
  const needed = new Set<string>();
  for (const stage of graph) {
    if (stages.includes(stage.id)) for (const dependency of stage.dependsOn) needed.add(dependency);
  }
  return stages.findLast((stage) => !needed.has(stage)) ?? target;
}

/**
 * Finds the stage this target's image was built from among the stages of known size: the nearest
 * along `dependsOn` edges, the biggest of equally near ones.
 */
function compareSize(
  report: TargetReport,
  sizeByStage: ReadonlyMap<string, number>,
  graph: readonly StageDependencies[],
  targetStages: Readonly<Record<string, readonly string[]>>,
): SizeComparison | null {
  const toSize = report.sizeBytes;
  if (toSize === null) return null;
  const dependsOn = new Map(graph.map((stage) => [stage.id, stage.dependsOn]));
  const own = finalStageOf(report.target, graph, targetStages);
  const seen = new Set([own]);
  let level = [own];
  while (level.length > 0) {
    const next: string[] = [];
    let best: { stage: string; size: number } | null = null;
    for (const stage of level) {
      for (const dependency of dependsOn.get(stage) ?? []) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        next.push(dependency);
        const size = sizeByStage.get(dependency);
        if (size !== undefined && (best === null || size > best.size)) {
          best = { stage: dependency, size };
        }
      }
    }
    if (best !== null) {
      return {
        from: best.stage,
        fromSizeBytes: best.size,
        sizeBytes: toSize,
        changePercent: Math.round(((toSize - best.size) / best.size) * 1000) / 10,
      };
    }
    level = next;
  }
  return null;
}

import type { StageGraph } from "../stages/stage-graph.js";

/** What building one stage costs: its time from nothing, and the size of the result that would travel. */
export interface StageCost {
  /** Estimated build time with no cache, in milliseconds. */
  readonly durationMs: number;
  /** Estimated size of the stage's result (its layers, compressed), in bytes. */
  readonly sizeBytes: number;
  /** Where the numbers come from: an earlier run's report, or the per-instruction defaults. */
  readonly source: "report" | "default";
}

/** The parts of an earlier run's report that estimates read (a `BuildReport` has them). */
export interface EarlierReport {
  readonly stages: readonly {
    readonly stage: string;
    readonly durationMs: number;
    readonly stepsRun: number;
  }[];
  readonly targets: readonly { readonly target: string; readonly sizeBytes: number | null }[];
}

/** The per-instruction defaults, used for a stage no earlier report timed. */
export const DEFAULT_INSTRUCTION_COSTS = {
  /** Milliseconds and bytes a `RUN` step adds. */
  run: { durationMs: 5000, sizeBytes: 40_000_000 },
  /** `COPY` and `ADD`. */
  copy: { durationMs: 500, sizeBytes: 5_000_000 },
  /** Any other instruction (metadata only). */
  other: { durationMs: 20, sizeBytes: 0 },
  /** Every stage: resolving its base and exporting. */
  stage: { durationMs: 200, sizeBytes: 0 },
} as const;

/**
 * Estimates each stage's build time and result size: the median over earlier reports of the runs in
 * which its steps ran (not came from the cache), else the per-instruction defaults. Sizes come from
 * a report's image size when the stage was a target, else from the defaults.
 *
 * @example
 * const costs = estimateStageCosts(analysis.graph, [JSON.parse(readFileSync(".stagecraft/reports/last.json", "utf8"))]);
 * costs[0]?.durationMs;
 */
export function estimateStageCosts(
  graph: StageGraph,
  reports: readonly EarlierReport[] = [],
): StageCost[] {
  const timed = new Map<string, number[]>();
  const sized = new Map<string, number[]>();
  for (const report of reports) {
    for (const stage of report.stages) {
      // A stage whose steps all came from the cache says nothing about its cost.
      if (stage.stepsRun === 0 || stage.durationMs <= 0) continue;
      append(timed, stage.stage, stage.durationMs);
    }
    for (const target of report.targets) {
      if (target.sizeBytes !== null && target.sizeBytes > 0) {
        append(sized, target.target, target.sizeBytes);
      }
    }
  }
  return graph.stages.map((stage): StageCost => {
    const defaults = defaultCost(stage.instructions.map((instruction) => instruction.kind));
    const durations = timed.get(stage.id);
    const sizes = sized.get(stage.id);
    return {
      durationMs: durations === undefined ? defaults.durationMs : median(durations),
      sizeBytes: sizes === undefined ? defaults.sizeBytes : median(sizes),
      source: durations === undefined ? "default" : "report",
    };
  });
}

function defaultCost(kinds: readonly string[]): { durationMs: number; sizeBytes: number } {
  let durationMs: number = DEFAULT_INSTRUCTION_COSTS.stage.durationMs;
  let sizeBytes: number = DEFAULT_INSTRUCTION_COSTS.stage.sizeBytes;
  for (const kind of kinds) {
    const cost =
      kind === "run"
        ? DEFAULT_INSTRUCTION_COSTS.run
        : kind === "copy" || kind === "add"
          ? DEFAULT_INSTRUCTION_COSTS.copy
          : DEFAULT_INSTRUCTION_COSTS.other;
    durationMs += cost.durationMs;
    sizeBytes += cost.sizeBytes;
  }
  return { durationMs, sizeBytes };
}

function append(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

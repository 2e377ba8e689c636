/**
 * Which engines of a pool hold the cache of which stages, from earlier pool runs' reports (the
 * `--report` file of `build --engine …`, parsed, oldest first): a target where it was built with
 * success, a shared stage where it was built and pushed, and every stage whose steps an engine's run
 * ran or took from its cache (`runs[].report.stages`). For each stage the latest report that names
 * it wins; anything that is not a pool report is skipped. The result is the `cachedStages` of each
 * engine in `placeStages`' input.
 *
 * @example
 * gatherCacheAffinity([{ targets: [{ target: "api", engine: "b", status: "succeeded" }], shared: [] }]);
 * // { b: ["api"] }
 */
export function gatherCacheAffinity(reports: readonly unknown[]): Record<string, string[]> {
  const holders = new Map<string, ReadonlySet<string>>();
  for (const report of reports) {
    if (!isPoolReport(report)) continue;
    const here = new Map<string, Set<string>>();
    const hold = (stage: string, engine: string): void => {
      const set = here.get(stage);
      if (set === undefined) here.set(stage, new Set([engine]));
      else set.add(engine);
    };
    for (const entry of report.targets) {
      if (entry.status === "succeeded") hold(entry.target, entry.engine);
    }
    for (const entry of report.shared ?? []) {
      if (typeof entry.reference === "string") hold(entry.stage, entry.engine);
    }
    for (const run of report.runs ?? []) {
      for (const stage of stagesOf(run)) {
        if (stage.stepsRun + stage.stepsCached > 0) hold(stage.stage, run.engine);
      }
    }
    for (const [stage, engines] of here) holders.set(stage, engines);
  }
  const affinity: Record<string, string[]> = {};
  const stages = [...holders.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const stage of stages) {
    for (const engine of holders.get(stage) ?? []) (affinity[engine] ??= []).push(stage);
  }
  return affinity;
}

interface PoolReport {
  targets: { target: string; engine: string; status: string }[];
  shared?: { stage: string; engine: string; reference: unknown }[];
  runs?: { engine: string; report: unknown }[];
}

/** The stages of one engine's run report that say how many of their steps ran and were cached. */
function stagesOf(run: {
  report: unknown;
}): { stage: string; stepsRun: number; stepsCached: number }[] {
  const stages = (run.report as { stages?: unknown } | null)?.stages;
  if (!Array.isArray(stages)) return [];
  return stages.filter(
    (entry): entry is { stage: string; stepsRun: number; stepsCached: number } =>
      typeof entry === "object" &&
      entry !== null &&
      typeof (entry as Record<string, unknown>).stage === "string" &&
      typeof (entry as Record<string, unknown>).stepsRun === "number" &&
      typeof (entry as Record<string, unknown>).stepsCached === "number",
  );
}

/** A pool report: every target with its engine; shared stages and runs (if any) with theirs. */
function isPoolReport(value: unknown): value is PoolReport {
  if (typeof value !== "object" || value === null) return false;
  const { targets, shared, runs } = value as Record<string, unknown>;
  const named = (entry: unknown, key: string): boolean =>
    typeof entry === "object" &&
    entry !== null &&
    (key === "" || typeof (entry as Record<string, unknown>)[key] === "string") &&
    typeof (entry as Record<string, unknown>).engine === "string";
  const list = (items: unknown, key: string): boolean =>
    items === undefined || (Array.isArray(items) && items.every((entry) => named(entry, key)));
  return (
    Array.isArray(targets) && list(targets, "target") && list(shared, "stage") && list(runs, "")
  );
}

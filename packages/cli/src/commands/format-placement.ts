import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DockerfileAnalysis } from "@stagecraft/core";
import {
  estimateStageCosts,
  gatherCacheAffinity,
  placeStages,
  type EarlierReport,
  type Placement,
  type PoolEngine,
} from "@stagecraft/core/placement";
import type { PoolFlags } from "./read-pool-flags.js";

/**
 * Earlier runs' reports under `CONTEXT/.stagecraft/reports/*.json` (written with `--report`), for
 * the placement's estimates: one per file, a pool run's (`build --engine … --report`) being the
 * stages and targets of each engine's run together; a file that is neither is skipped.
 */
export function readEarlierReports(cwd: string, contextDir: string): EarlierReport[] {
  const dir = resolve(cwd, contextDir, ".stagecraft", "reports");
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
  return names.sort().flatMap((name) => {
    try {
      const report: unknown = JSON.parse(readFileSync(join(dir, name), "utf8"));
      if (isReport(report)) return [report];
      const runs = poolRunReports(report);
      return runs.length === 0
        ? []
        : [
            {
              stages: runs.flatMap((run) => run.stages),
              targets: runs.flatMap((run) => run.targets),
            },
          ];
    } catch {
      return [];
    }
  });
}

/**
 * Which engine holds which stages' cache, from the pool reports under `CONTEXT/.stagecraft/reports/`
 * (`build --engine … --report`), the newest file (by modification time) winning: each engine's
 * `cachedStages` for the placement.
 */
export function readCacheAffinity(
  cwd: string,
  contextDir: string,
): Map<string, Pick<PoolEngine, "cachedStages">> {
  const dir = resolve(cwd, contextDir, ".stagecraft", "reports");
  let files: { path: string; mtimeMs: number }[];
  try {
    files = readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({ path: join(dir, name), mtimeMs: statSync(join(dir, name)).mtimeMs }));
  } catch {
    return new Map();
  }
  const reports = files
    .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1))
    .flatMap((file) => {
      try {
        return [JSON.parse(readFileSync(file.path, "utf8")) as unknown];
      } catch {
        return [];
      }
    });
  return new Map(
    Object.entries(gatherCacheAffinity(reports)).map(([engine, stages]) => [
      engine,
      { cachedStages: stages },
    ]),
  );
}

/** The reports of a pool report's runs (`runs[].report`; null for a run that did not finish). */
function poolRunReports(value: unknown): EarlierReport[] {
  if (typeof value !== "object" || value === null) return [];
  const { runs } = value as Record<string, unknown>;
  if (!Array.isArray(runs)) return [];
  return runs.flatMap((run: unknown) => {
    if (typeof run !== "object" || run === null) return [];
    const { report } = run as Record<string, unknown>;
    return isReport(report) ? [report] : [];
  });
}

function isReport(value: unknown): value is EarlierReport {
  if (typeof value !== "object" || value === null) return false;
  const { stages, targets } = value as Record<string, unknown>;
  return Array.isArray(stages) && Array.isArray(targets);
}

/**
 * The placement of the analysed targets on the pool, with costs from earlier reports or defaults
 * and what each engine holds (`held`: e.g. `readCacheAffinity`).
 */
export function placeOnPool(
  analysis: DockerfileAnalysis,
  pool: PoolFlags,
  reports: readonly EarlierReport[],
  held: ReadonlyMap<string, Pick<PoolEngine, "images" | "cachedStages">> = new Map(),
): Placement {
  return placeStages({
    plan: analysis.plan,
    engines: pool.engines.map((engine) => ({
      name: engine.name,
      capacity: engine.capacity,
      ...held.get(engine.name),
    })),
    costs: estimateStageCosts(analysis.graph, reports),
  });
}

/** The placement as JSON (`plan --format json`'s `placement`). */
export function placementToJson(
  pool: PoolFlags,
  placement: Placement,
  reports: number,
): Record<string, unknown> {
  return {
    engines: pool.engines.map((engine) => ({
      name: engine.name,
      address: engine.address,
      capacity: engine.capacity,
      predictedBusyMs: Math.round(placement.busyMs[engine.name] ?? 0),
    })),
    registry: pool.registry?.reference ?? null,
    estimatesFrom:
      reports === 0 ? "defaults" : `${reports} earlier report${reports === 1 ? "" : "s"}`,
    targets: placement.targets,
    stages: placement.stages.map((stage) => ({
      stage: stage.id,
      engine: stage.engine,
      startMs: Math.round(stage.startMs),
      finishMs: Math.round(stage.finishMs),
    })),
    transfers: placement.transfers.map((transfer) => ({
      stage: transfer.id,
      from: transfer.from,
      to: transfer.to,
      how: "image pushed by digest, read as a named context",
      bytes: transfer.bytes,
      predictedMs: Math.round(transfer.ms),
    })),
    predictedMakespanMs: Math.round(placement.makespanMs),
    lowerBoundMs: Math.round(placement.bounds.lowerBoundMs),
  };
}

/** The placement as a person reads it. */
export function formatPlacementText(
  pool: PoolFlags,
  placement: Placement,
  reports: number,
): string {
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const lines: string[] = [];
  lines.push("");
  lines.push(
    `placement on ${pool.engines.length} engine${pool.engines.length === 1 ? "" : "s"}` +
      ` (estimates from ${reports === 0 ? "per-instruction defaults" : `${reports} earlier report${reports === 1 ? "" : "s"}`}):`,
  );
  for (const engine of pool.engines) {
    const stages = placement.stages
      .filter((stage) => stage.engine === engine.name)
      .map((stage) => stage.id);
    const targets = placement.targets
      .filter((target) => target.engine === engine.name)
      .map((target) => target.target);
    lines.push(
      `  ${engine.name} (${engine.address}, capacity ${engine.capacity}): ` +
        (targets.length === 0 ? "no target" : `targets ${targets.join(", ")}`) +
        `; builds ${stages.length === 0 ? "nothing" : stages.join(", ")}` +
        `; busy ${seconds(placement.busyMs[engine.name] ?? 0)}`,
    );
  }
  if (placement.transfers.length === 0) {
    lines.push("  shared: nothing travels between engines");
  } else {
    lines.push(`  shared through ${pool.registry?.reference ?? "(no registry)"}:`);
    for (const transfer of placement.transfers) {
      lines.push(
        `    ${transfer.id}: built once on ${transfer.from}, pushed by digest, read as a named context on ` +
          `${transfer.to.join(", ")} (${(transfer.bytes / 1e6).toFixed(0)} MB, ~${seconds(transfer.ms)} each)`,
      );
    }
  }
  lines.push(
    `  predicted: ${seconds(placement.makespanMs)} (lower bound ${seconds(placement.bounds.lowerBoundMs)})`,
  );
  return `${lines.join("\n")}\n`;
}

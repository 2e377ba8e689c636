import type { BuildReport } from "@stagecraft/core";

/**
 * What a target is blocked behind: the stages it needs that another target's build is building now,
 * e.g. `waiting for deps (building for test): base`; null when it waits for none.
 */
export function describeWaiting(report: BuildReport, target: string): string | null {
  const byOwner = new Map<string, string[]>();
  for (const stage of report.stages) {
    if (
      stage.target === null ||
      stage.target === target ||
      !stage.neededBy.includes(target) ||
      stage.status !== "incomplete" ||
      (stage.startedAt === null && stage.stepsRun + stage.stepsCached === 0)
    ) {
      continue;
    }
    const stages = byOwner.get(stage.target) ?? [];
    stages.push(stage.stage);
    byOwner.set(stage.target, stages);
  }
  if (byOwner.size === 0) return null;
  const parts = [...byOwner].map(
    ([owner, stages]) => `(building for ${owner}): ${stages.join(", ")}`,
  );
  return `waiting for deps ${parts.join("; ")}`;
}

// The repository's multi-stage Dockerfiles as placement problems: every seed Dockerfile (examples,
// recorded streams' Dockerfiles, parser cases) and the stage-graph cases that analyse, with two or
// more stages, every named stage that no other stage needs requested as a target (the default target
// when none is named), and synthetic costs drawn from a seeded generator so every run sees the same numbers.
import { readSeedDockerfiles } from "../dockerfile/seed-dockerfiles.test-support.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import type { TargetsPlan } from "../plan/plan-targets.js";
import { GRAPH_CASES } from "../plan/stage-graph-cases.test-support.js";
import type { StageCost } from "./estimate-stage-costs.js";
import type { Placement } from "./place-stages.js";
import { seededRandom } from "./seeded-random.js";

/** The generator the synthetic costs are made with. */
export const createRandom = seededRandom;

export interface PlacementCase {
  readonly name: string;
  readonly plan: TargetsPlan;
  /** A seed of this Dockerfile's own (a hash of its text): its costs do not depend on the others. */
  readonly seed: number;
}

/** FNV-1a of the text: a seed that stays the same whatever other files the corpus holds. */
function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  }
  return hash;
}

/** The corpus graphs, each with its sink stages as targets. */
export function readPlacementCorpus(): PlacementCase[] {
  const texts = [...readSeedDockerfiles(), ...GRAPH_CASES.map((entry) => entry.text)];
  const cases: PlacementCase[] = [];
  const seen = new Set<string>();
  texts.forEach((text, index) => {
    if (seen.has(text)) return;
    seen.add(text);
    let plan: TargetsPlan;
    try {
      const { graph } = analyzeDockerfile(text);
      if (graph.stages.length < 2) return;
      const needed = new Set(graph.stages.flatMap((stage) => stage.dependsOn));
      const sinks = graph.stages
        .filter((stage) => !needed.has(stage.index) && stage.name !== undefined)
        .map((stage) => stage.name ?? "");
      plan = analyzeDockerfile(text, { targets: sinks }).plan;
    } catch {
      return;
    }
    if (plan.stages.length < 2) return;
    cases.push({ name: `corpus #${index}`, plan, seed: seedOf(text) });
  });
  return cases;
}

/** Synthetic costs: 1–60 s a stage, 1–200 MB a result. */
export function syntheticCosts(plan: TargetsPlan, random: () => number): StageCost[] {
  return plan.graph.stages.map(() => ({
    durationMs: Math.round(1000 + random() * 59_000),
    sizeBytes: Math.round(1_000_000 + random() * 199_000_000),
    source: "default" as const,
  }));
}

/**
 * What is wrong with a placement, as sentences (none: valid): every planned stage placed once,
 * after its inputs (and their transfer when built elsewhere), no engine over its capacity, every
 * result read on another engine listed as a transfer to it (and no transfer nobody reads), and the
 * makespan the last finish.
 */
export function findPlacementProblems(
  placement: Placement,
  plan: TargetsPlan,
  moveMs: (stage: number) => number,
  capacityOf: (engine: string) => number,
): string[] {
  const problems: string[] = [];
  const epsilon = 1e-6;
  const byStage = new Map(placement.stages.map((entry) => [entry.stage, entry]));
  if (placement.stages.length !== plan.stages.length || byStage.size !== plan.stages.length) {
    problems.push(`${placement.stages.length} stages placed for ${plan.stages.length} planned`);
  }
  const planned = new Set(plan.stages);
  const needed = new Set<string>();
  for (const entry of placement.stages) {
    for (const dependency of plan.graph.stages[entry.stage]?.dependsOn ?? []) {
      const before = byStage.get(dependency);
      if (before === undefined || !planned.has(dependency)) continue;
      const away = before.engine !== entry.engine;
      if (away) needed.add(`${dependency}->${entry.engine}`);
      const ready = before.finishMs + (away ? moveMs(dependency) : 0);
      if (entry.startMs < ready - epsilon) {
        problems.push(
          `${entry.id} starts at ${entry.startMs} before ${before.id} is there (${ready})`,
        );
      }
    }
  }
  for (const name of placement.engines) {
    const mine = placement.stages.filter((entry) => entry.engine === name);
    for (const entry of mine) {
      const running = mine.filter(
        (other) =>
          other.startMs <= entry.startMs + epsilon && other.finishMs > entry.startMs + epsilon,
      ).length;
      if (running > capacityOf(name)) {
        problems.push(`${running} stages at once on ${name} at ${entry.startMs}`);
      }
    }
  }
  const listed = new Set(
    placement.transfers.flatMap((transfer) => {
      if (byStage.get(transfer.stage)?.engine !== transfer.from) {
        problems.push(`transfer of ${transfer.id} from ${transfer.from}, built elsewhere`);
      }
      return transfer.to.map((to) => `${transfer.stage}->${to}`);
    }),
  );
  for (const edge of needed) if (!listed.has(edge)) problems.push(`transfer ${edge} not listed`);
  for (const edge of listed) if (!needed.has(edge)) problems.push(`transfer ${edge} nobody reads`);
  const last = Math.max(0, ...placement.stages.map((entry) => entry.finishMs));
  if (Math.abs(last - placement.makespanMs) > epsilon) {
    problems.push(`makespan ${placement.makespanMs}, last finish ${last}`);
  }
  return problems;
}

/** A generated monorepo: `libs` base stages, `targets` targets each `FROM` one and copying from another. */
export function monorepoDockerfile(targets: number, libs: number, random: () => number): string {
  const lines: string[] = [];
  for (let index = 0; index < libs; index++) {
    lines.push(`FROM stagecraft/busybox:latest AS lib${index}`, `RUN make lib${index}`);
  }
  for (let index = 0; index < targets; index++) {
    const base = Math.floor(random() * libs);
    const copy = Math.floor(random() * libs);
    lines.push(
      `FROM lib${base} AS app${index}`,
      `COPY --from=lib${copy} /out /lib`,
      `RUN make app${index}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

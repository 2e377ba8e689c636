import type { StageBase } from "../stages/stage-graph.js";
import type { TargetsPlan } from "./plan-targets.js";

/** A stage's base in JSON: `{ stage: id }`, `{ image: ref }` or `{ scratch: true }`. */
export type StageBaseJson = { stage: string } | { image: string } | { scratch: true };

/** One stage in the JSON form (the schema is described in docs/plan-json.md). */
export interface StageJson {
  index: number;
  name: string | null;
  id: string;
  /** The 1-based line of its `FROM`. */
  line: number;
  /** The `FROM` base as written. */
  from: string;
  /** The `--platform` value as written; present only when given. */
  platform?: string;
  base: StageBaseJson;
  /** Ids of the stages it needs, each once, in order of first use (base first). */
  dependsOn: string[];
  /** External images it needs (base first), each once, as written after expansion. */
  externalImages: string[];
}

/** A plan as plain JSON: the stages, the default target and the stages to build. */
export interface PlanJson {
  stages: StageJson[];
  /** The id of the last stage. */
  defaultTarget: string;
  /** Ids of the stages to build for the planned targets, in file order. */
  reachable: string[];
}

/**
 * The JSON form of a plan, key for key the schema in docs/plan-json.md
 * (`stages`, `defaultTarget`, `reachable`).
 *
 * @example
 * JSON.stringify(serializePlan(planTargets(graph)));
 */
export function serializePlan(plan: TargetsPlan): PlanJson {
  const { graph } = plan;
  const idOf = (index: number): string => graph.stages[index]?.id ?? `stage-${index}`;
  const stages = graph.stages.map((stage): StageJson => {
    const json: StageJson = {
      index: stage.index,
      name: stage.name ?? null,
      id: stage.id,
      line: stage.position.line,
      from: stage.from,
      base: baseJson(stage.base, idOf),
      dependsOn: stage.dependsOn.map(idOf),
      externalImages: [...stage.externalImages],
    };
    if (stage.platform === undefined) return json;
    // Keep the schema's key order: `platform` sits between `from` and `base`.
    const { base, dependsOn, externalImages, ...head } = json;
    return { ...head, platform: stage.platform, base, dependsOn, externalImages };
  });
  return {
    stages,
    defaultTarget: idOf(graph.defaultTarget),
    reachable: plan.stages.map(idOf),
  };
}

function baseJson(base: StageBase, idOf: (index: number) => string): StageBaseJson {
  switch (base.kind) {
    case "stage":
      return { stage: idOf(base.index) };
    case "image":
      return { image: base.reference };
    case "scratch":
      return { scratch: true };
    default:
      return base satisfies never;
  }
}

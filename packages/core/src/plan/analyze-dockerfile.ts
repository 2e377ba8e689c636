import { DockerfileError } from "../errors.js";
import type { DockerfileAst } from "../dockerfile/ast.js";
import { parseDockerfile } from "../dockerfile/parse-dockerfile.js";
import { buildStageGraph, type StageGraphOptions } from "../stages/build-stage-graph.js";
import type { StageGraph } from "../stages/stage-graph.js";
import { findStageTypos, type StageTypo } from "./find-stage-typos.js";
import { planTargets, type TargetsPlan } from "./plan-targets.js";
import { serializePlan, type PlanJson } from "./serialize-plan.js";

/** Inputs of {@link analyzeDockerfile}: those of `docker build`, plus the file's name for errors. */
export interface AnalyzeDockerfileOptions extends StageGraphOptions {
  /** The Dockerfile's path as the user named it; set on every DockerfileError thrown. */
  readonly file?: string;
}

/** Everything the front end knows about a Dockerfile and a build request. */
export interface DockerfileAnalysis {
  /** The text and options it was made from (a build re-analyses for an engine of another platform). */
  readonly input: { readonly text: string; readonly options: AnalyzeDockerfileOptions };
  readonly ast: DockerfileAst;
  readonly graph: StageGraph;
  readonly plan: TargetsPlan;
  /** The plan in the JSON form of the stage-graph corpus. */
  readonly json: PlanJson;
  /**
   * `FROM`s and `--from`s of the planned stages that name no stage but are one typo away from one:
   * BuildKit would try to pull them as images.
   */
  readonly typos: readonly StageTypo[];
}

/**
 * Runs the whole front end: parse → typed instructions → stage graph → target plan.
 *
 * @example
 * const { plan, json } = analyzeDockerfile(text, { targets: ["test", "app"], buildArgs: { ENV: "prod" } });
 * json.reachable; // ids of the stages BuildKit will build
 * @throws DockerfileError for a Dockerfile BuildKit rejects (BuildKit's text, line and column).
 * @throws UnknownStageError for a target that names no stage.
 * @throws UsageError for a malformed platform option.
 */
export function analyzeDockerfile(
  text: string,
  options: AnalyzeDockerfileOptions = {},
): DockerfileAnalysis {
  try {
    // dockerfile2llb refuses a 0-byte file before parsing; the parser would say "file with no instructions".
    if (text.length === 0) {
      throw new DockerfileError(
        "DOCKERFILE_SYNTAX",
        "the Dockerfile cannot be empty",
        { line: 1, column: 1 },
        { hint: "Write at least a FROM instruction." },
      );
    }
    const ast = parseDockerfile(text);
    const graph = buildStageGraph(ast, options);
    const plan = planTargets(graph, options.targets ?? []);
    if (options.file !== undefined) {
      const reported = [
        ...graph.buildErrors,
        ...graph.stages.flatMap((stage) => [...stage.triggerErrors, ...stage.dispatchErrors]),
      ];
      for (const error of reported) error.file = options.file;
    }
    const planned = new Set(plan.stages.map((index) => graph.stages[index]?.id));
    return {
      input: { text, options },
      ast,
      graph,
      plan,
      json: serializePlan(plan),
      typos: findStageTypos(graph).filter((typo) => planned.has(typo.stage)),
    };
  } catch (error) {
    if (error instanceof DockerfileError && options.file !== undefined) error.file = options.file;
    throw error;
  }
}

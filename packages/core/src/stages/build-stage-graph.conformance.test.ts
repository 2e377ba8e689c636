import { readdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { parseDockerfile } from "../dockerfile/parse-dockerfile.js";
import { planTargets } from "../plan/plan-targets.js";
import { serializePlan } from "../plan/serialize-plan.js";
import { buildStageGraph } from "./build-stage-graph.js";

// stagecraft's edge cases, kept with BuildKit's vectors outside the repository (test/conformance-setup.ts).
const edgeDir = new URL("conformance/edge/", pathToFileURL(`${inject("sharedDir")}/`));

interface EdgeExpected {
  graph?: {
    stages: { id: string; base: unknown; dependsOn: string[]; externalImages: string[] }[];
    defaultTarget: string;
    reachable: string[];
    dispatchErrorsIfBuilt?: string[];
  };
  graphError?: string;
  parseError?: string;
  buildErrorWithDefaultArgs?: string;
}

const cases = readdirSync(edgeDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => ({
    name: entry.name,
    text: readFileSync(new URL(`${entry.name}/Dockerfile`, edgeDir), "utf8"),
    expected: JSON.parse(
      readFileSync(new URL(`${entry.name}/expected.json`, edgeDir), "utf8"),
    ) as EdgeExpected,
  }));

describe("buildStageGraph: conformance/edge (graph fields)", () => {
  it("finds all 41 cases", () => {
    expect(cases).toHaveLength(41);
  });

  it.each(cases)("$name", ({ text, expected }) => {
    const failure = expected.parseError ?? expected.graphError;
    if (failure !== undefined) {
      let thrown: unknown;
      try {
        buildStageGraph(parseDockerfile(text));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DockerfileError);
      expect((thrown as DockerfileError).message).toBe(failure);
      expect((thrown as DockerfileError).line).toBeGreaterThanOrEqual(1);
      return;
    }
    const graph = buildStageGraph(parseDockerfile(text));
    const plan = planTargets(graph);
    const json = serializePlan(plan);
    const wanted = expected.graph;
    expect(wanted).toBeDefined();
    if (wanted === undefined) return;
    // The edge schema lists only `--from` / mount images; the corpus schema adds the base image.
    expect({
      stages: graph.stages.map((stage) => ({
        id: stage.id,
        base: json.stages[stage.index]?.base,
        dependsOn: json.stages[stage.index]?.dependsOn,
        externalImages: [
          ...new Set(
            stage.imageUses.filter((use) => use.kind !== "base").map((use) => use.reference),
          ),
        ],
      })),
      defaultTarget: json.defaultTarget,
      reachable: json.reachable,
    }).toEqual({
      stages: wanted.stages,
      defaultTarget: wanted.defaultTarget,
      reachable: wanted.reachable,
    });
    const [target] = plan.targets;
    const dispatchErrors = (target?.reachable ?? []).flatMap((index) =>
      (graph.stages[index]?.dispatchErrors ?? []).map((error) => error.message),
    );
    expect(dispatchErrors).toEqual(wanted.dispatchErrorsIfBuilt ?? []);
    expect(target?.buildError?.message).toBe(
      expected.buildErrorWithDefaultArgs ?? wanted.dispatchErrorsIfBuilt?.[0],
    );
  });
});

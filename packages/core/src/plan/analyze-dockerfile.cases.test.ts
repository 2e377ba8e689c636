import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import { GRAPH_CASES } from "./stage-graph-cases.test-support.js";

describe("analyzeDockerfile on multi-stage Dockerfiles: the graph BuildKit builds", () => {
  it.each(GRAPH_CASES)("$name", ({ text, targets, graph, buildError, error }) => {
    const options = targets === undefined ? {} : { targets };
    if (error !== undefined) {
      let thrown: unknown;
      try {
        analyzeDockerfile(text, options);
      } catch (caught) {
        thrown = caught;
      }
      expect(thrown).toBeInstanceOf(DockerfileError);
      expect(thrown).toMatchObject(error);
      return;
    }
    const { json, plan } = analyzeDockerfile(text, options);
    expect({
      stages: json.stages.map(({ id, base, dependsOn, externalImages }) => ({
        id,
        base,
        dependsOn,
        externalImages,
      })),
      defaultTarget: json.defaultTarget,
      reachable: json.reachable,
    }).toEqual(graph);
    expect(plan.targets[0]?.buildError?.message).toBe(buildError);
  });
});

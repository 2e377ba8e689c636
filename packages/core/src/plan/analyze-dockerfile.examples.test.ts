// The repository's example projects through the whole front end, compared with the plan JSON written
// out by hand from BuildKit's rules (default target = the last stage, meta ARGs expanded in FROM,
// reachable stages in file order). Exact JSON, key order included.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import type { PlanJson, StageJson } from "./serialize-plan.js";

const examples = new URL("../../../../examples/", import.meta.url);
const dockerfileOf = (name: string): string =>
  readFileSync(new URL(`${name}/Dockerfile`, examples), "utf8");

/** A stage in the key order of the plan JSON. */
function stage(
  index: number,
  id: string,
  line: number,
  from: string,
  base: StageJson["base"],
  dependsOn: string[] = [],
): StageJson {
  const externalImages = "image" in base ? [base.image] : [];
  return { index, name: id, id, line, from, base, dependsOn, externalImages };
}

const busybox = { image: "stagecraft/busybox:latest" };
const debian = { image: "stagecraft/debian:bookworm" };

const expected: Record<string, PlanJson> = {
  demo: {
    stages: [
      stage(0, "base", 5, "${BASE_IMAGE}", busybox),
      stage(1, "test", 11, "base", { stage: "base" }, ["base"]),
      stage(2, "lint", 15, "base", { stage: "base" }, ["base"]),
      stage(3, "build", 19, "base", { stage: "base" }, ["base"]),
      stage(4, "app", 22, "${BASE_IMAGE}", busybox, ["build"]),
    ],
    defaultTarget: "app",
    reachable: ["base", "build", "app"],
  },
  "node-service": {
    stages: [
      stage(0, "node", 6, "${BASE_IMAGE}", debian),
      stage(1, "deps", 18, "node", { stage: "node" }, ["node"]),
      stage(2, "source", 26, "deps", { stage: "deps" }, ["deps"]),
      stage(3, "test", 31, "source", { stage: "source" }, ["source"]),
      stage(4, "lint", 34, "source", { stage: "source" }, ["source"]),
      stage(5, "build", 37, "source", { stage: "source" }, ["source"]),
      stage(6, "runtime", 40, "node", { stage: "node" }, ["node", "build"]),
    ],
    defaultTarget: "runtime",
    reachable: ["node", "deps", "source", "build", "runtime"],
  },
  "c-static": {
    stages: [
      stage(0, "toolchain", 6, "${BASE_IMAGE}", debian),
      stage(1, "build", 14, "toolchain", { stage: "toolchain" }, ["toolchain"]),
      stage(2, "test", 20, "build", { stage: "build" }, ["build"]),
      stage(3, "runtime", 23, "scratch", { scratch: true }, ["build"]),
    ],
    defaultTarget: "runtime",
    reachable: ["toolchain", "build", "runtime"],
  },
  fullstack: {
    stages: [
      stage(0, "node", 6, "${BASE_IMAGE}", debian),
      stage(1, "frontend", 14, "node", { stage: "node" }, ["node"]),
      stage(2, "backend", 19, "node", { stage: "node" }, ["node"]),
      stage(3, "app", 24, "node", { stage: "node" }, ["node", "backend", "frontend"]),
    ],
    defaultTarget: "app",
    reachable: ["node", "frontend", "backend", "app"],
  },
};

describe("analyzeDockerfile: the example projects", () => {
  it.each(Object.entries(expected))("%s", (name, plan) => {
    const analysis = analyzeDockerfile(dockerfileOf(name));
    expect(JSON.stringify(analysis.json)).toBe(JSON.stringify(plan));
    expect(analysis.plan.targets[0]?.buildError).toBeUndefined();
  });

  it("plans the README's targets of the demo: every stage, each once", () => {
    const { json, plan } = analyzeDockerfile(dockerfileOf("demo"), {
      targets: ["test", "lint", "app"],
    });
    expect(json.reachable).toEqual(["base", "test", "lint", "build", "app"]);
    expect(plan.shared.map((index) => json.stages[index]?.id)).toEqual(["base"]);
  });

  it("plans the quick start (npm run demo): lint beside build and test, the runtime from busybox", () => {
    const { json, plan } = analyzeDockerfile(dockerfileOf("quickstart"), {
      targets: ["test", "lint", "runtime"],
    });
    const id = (index: number) => json.stages[index]?.id;
    expect(json.stages.map((stage) => [stage.id, stage.base])).toEqual([
      ["toolchain", debian],
      ["source", { stage: "toolchain" }],
      ["build", { stage: "source" }],
      ["test", { stage: "build" }],
      ["lint", { stage: "source" }],
      ["runtime", busybox],
    ]);
    expect(plan.levels.map((level) => level.map(id))).toEqual([
      ["toolchain"],
      ["source"],
      ["build", "lint"],
      ["test", "runtime"],
    ]);
    expect(plan.shared.map(id)).toEqual(["toolchain", "source", "build"]);
  });

  it("takes the base image from a --build-arg for the meta ARG", () => {
    const { json } = analyzeDockerfile(dockerfileOf("demo"), {
      buildArgs: { BASE_IMAGE: "alpine:3.20" },
    });
    expect(json.stages.map((stage) => stage.base)).toEqual([
      { image: "alpine:3.20" },
      { stage: "base" },
      { stage: "base" },
      { stage: "base" },
      { image: "alpine:3.20" },
    ]);
  });
});

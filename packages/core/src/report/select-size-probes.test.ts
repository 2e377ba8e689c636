import { describe, expect, it } from "vitest";
import { selectSizeProbes, type SizeSourceStage } from "./select-size-probes.js";

const stages: SizeSourceStage[] = [
  { id: "node", copiesFrom: [], baseStage: null },
  { id: "deps", copiesFrom: [], baseStage: "node" },
  { id: "source", copiesFrom: [], baseStage: "deps" },
  { id: "test", copiesFrom: [], baseStage: "source" },
  { id: "build", copiesFrom: [], baseStage: "source" },
  { id: "runtime", copiesFrom: ["build"], baseStage: "node" },
];

describe("selectSizeProbes", () => {
  it("probes the stage a target copies from, not its base stage", () => {
    expect(selectSizeProbes(["runtime"], stages)).toEqual(["build"]);
  });

  it("probes the base stage of a target that copies nothing, once for several targets", () => {
    expect(selectSizeProbes(["test", "build", "runtime"], stages)).toEqual(["source"]);
  });

  it("probes nothing a target's own image already measures, or an image base", () => {
    expect(selectSizeProbes(["build", "runtime"], stages)).toEqual(["source"]);
    expect(selectSizeProbes(["node"], stages)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { findCriticalPath } from "./find-critical-path.js";

describe("findCriticalPath", () => {
  const diamond = [
    { id: "base", dependsOn: [] },
    { id: "left", dependsOn: ["base"] },
    { id: "right", dependsOn: ["base"] },
    { id: "app", dependsOn: ["left", "right"] },
  ];

  it("follows the heavier side of a diamond", () => {
    const durations = new Map([
      ["base", 1],
      ["left", 2],
      ["right", 5],
      ["app", 1],
    ]);
    expect(findCriticalPath(diamond, durations)).toEqual({
      stages: ["base", "right", "app"],
      durationMs: 7,
    });
  });

  it("ignores stages not built in this run, and keeps cached (0 ms) stages in the chain", () => {
    const durations = new Map([
      ["base", 0],
      ["left", 4],
      ["app", 1],
    ]);
    expect(findCriticalPath(diamond, durations)).toEqual({
      stages: ["base", "left", "app"],
      durationMs: 5,
    });
  });

  it("takes stages the graph does not know as chains of one, and survives a cycle", () => {
    const cyclic = [
      { id: "a", dependsOn: ["b"] },
      { id: "b", dependsOn: ["a"] },
    ];
    const durations = new Map([
      ["a", 1],
      ["b", 1],
      ["stage-3", 5],
    ]);
    expect(findCriticalPath(cyclic, durations)).toEqual({ stages: ["stage-3"], durationMs: 5 });
    expect(findCriticalPath(cyclic, new Map())).toBeNull();
  });
});

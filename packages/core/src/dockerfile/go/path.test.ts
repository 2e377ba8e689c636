import { describe, expect, it } from "vitest";
import { cleanGoPath } from "./path.js";

describe("cleanGoPath (Go's path.Clean)", () => {
  it.each([
    ["", "."],
    [".", "."],
    ["./", "."],
    ["/", "/"],
    ["//", "/"],
    ["a/", "a"],
    ["./a/./b/", "a/b"],
    ["a//b", "a/b"],
    ["a/b/..", "a"],
    ["a/../..", ".."],
    ["../a/../../b", "../../b"],
    ["/..", "/"],
    ["/../a/..", "/"],
    ["//a//b/./c/", "/a/b/c"],
    ["*", "*"],
    ["!a/../b", "b"],
  ])("cleans %j to %j", (path, clean) => {
    expect(cleanGoPath(path)).toBe(clean);
  });
});

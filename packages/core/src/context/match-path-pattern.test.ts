import { describe, expect, it } from "vitest";

import { BadPatternError, isValidPathPattern, matchPathPattern } from "./match-path-pattern.js";

describe("matchPathPattern (Go's filepath.Match)", () => {
  const cases: [pattern: string, name: string, matches: boolean][] = [
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "ab/c", false],
    ["a*/b", "abc/b", true],
    ["a*/b", "a/c/b", false],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
    ["a*b?c*x", "abxbbxdbxebxczzx", true],
    ["a*b?c*x", "abxbbxdbxebxczzy", false],
    ["ab[b-d]", "abc", true],
    ["ab[^c]", "abc", false],
    ["ab[^e-g]", "abc", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "ab", false],
    ["a?b", "a☺b", true],
    ["a???b", "a☺b", false],
    ["[a-ζ]*", "α", true],
    ["a?b", "a/b", false],
    ["[\\]a]", "]", true],
    ["[x\\-]", "-", true],
    ["*x", "xxx", true],
    // A byte that is not UTF-8 is one character, as Go reads it.
    ["bad?.txt", "bad\udcff.txt", true],
  ];
  for (const [pattern, name, matches] of cases) {
    it(`${pattern} ${matches ? "matches" : "does not match"} ${name}`, () => {
      expect(matchPathPattern(pattern, name)).toBe(matches);
    });
  }

  it("rejects what Go rejects, even after the name failed to match", () => {
    for (const pattern of ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc"]) {
      expect(() => matchPathPattern(pattern, "a"), pattern).toThrow(BadPatternError);
    }
    expect(() => matchPathPattern("a[", "zzz")).toThrow("syntax error in pattern");
    expect(() => matchPathPattern("x*[", "y")).toThrow(BadPatternError);
  });

  it("tells valid patterns from malformed ones", () => {
    expect(isValidPathPattern("a\\\\")).toBe(true);
    expect(isValidPathPattern("[ab]")).toBe(true);
    expect(isValidPathPattern("c++ (copy).txt")).toBe(true);
    expect(isValidPathPattern("a\\")).toBe(false);
    expect(isValidPathPattern("[unclosed")).toBe(false);
  });
});

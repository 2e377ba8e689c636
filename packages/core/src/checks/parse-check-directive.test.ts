import { describe, expect, it } from "vitest";
import {
  CheckDirectiveError,
  isRuleEnabled,
  mergeCheckComments,
  parseCheckOptions,
  readCheckDirective,
} from "./parse-check-directive.js";

describe("parseCheckOptions (BuildKit's ParseLintOptions)", () => {
  it("reads skip, experimental and error, trimming as BuildKit does", () => {
    expect(parseCheckOptions(" skip = A, B ; error = True ")).toEqual({
      skipAll: false,
      skip: ["A", "B"],
      experimentalAll: false,
      experimental: [],
      errorOnWarning: true,
    });
    expect(parseCheckOptions("skip=all;experimental=all").skipAll).toBe(true);
    expect(parseCheckOptions("").skip).toEqual([]);
  });

  it("keeps the third part whole, so a fourth option is part of it", () => {
    expect(() => parseCheckOptions("skip=A;skip=B;error=true;x")).toThrow(
      'failed to parse check option "error=true;x": strconv.ParseBool: parsing "true;x": invalid syntax',
    );
  });

  it("refuses what BuildKit refuses, in its words", () => {
    expect(() => parseCheckOptions("skip")).toThrow(
      new CheckDirectiveError('invalid check option "skip"'),
    );
    expect(() => parseCheckOptions("skipp=A")).toThrow('invalid check option "skipp"');
    expect(() => parseCheckOptions("error=yes")).toThrow(
      'strconv.ParseBool: parsing "yes": invalid syntax',
    );
  });
});

describe("readCheckDirective (BuildKit's ParseDirective)", () => {
  it("finds it among the leading directives, cut at the first space", () => {
    expect(
      readCheckDirective("# syntax=docker/dockerfile:1\n#check = skip=A error=true\nFROM x\n"),
    ).toEqual({ value: "skip=A", line: 2 });
  });

  it("skips a byte-order mark and a #! line, and stops at the first other line", () => {
    expect(readCheckDirective("\uFEFF#!/usr/bin/env docker\n# check=error=true\n")).toEqual({
      value: "error=true",
      line: 2,
    });
    expect(readCheckDirective("FROM x\n# check=error=true\n")).toBeUndefined();
    expect(readCheckDirective("# a comment\n# check=error=true\n")).toBeUndefined();
  });
});

describe("mergeCheckComments (BuildKit's WithMergedConfigFromComments)", () => {
  const base = parseCheckOptions("skip=A;error=true");

  it("adds the first check= comment's skips, never its error=", () => {
    const merged = mergeCheckComments(base, [
      "some words",
      "check=skip=B;error=false",
      "check=skip=C",
    ]);
    expect(merged.skip).toEqual(["A", "B"]);
    expect(merged.errorOnWarning).toBe(true);
    expect(isRuleEnabled(merged, "B", false)).toBe(false);
    expect(isRuleEnabled(merged, "C", false)).toBe(true);
  });

  it("ignores an invalid check= comment", () => {
    expect(mergeCheckComments(base, ["check=bogus"])).toBe(base);
  });

  it("enables experimental rules only by name or all", () => {
    expect(isRuleEnabled(base, "X", true)).toBe(false);
    expect(isRuleEnabled(mergeCheckComments(base, ["check=experimental=X"]), "X", true)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";

import { createPatternMatcher, InvalidPatternError } from "./create-pattern-matcher.js";

/** Matches a path through its parents one by one, as a walk does. */
function walkMatch(patterns: string[], path: string): boolean {
  const matcher = createPatternMatcher(patterns);
  const parts = path.split("/");
  let result = matcher.match(parts[0] ?? "");
  for (let index = 1; index < parts.length; index++) {
    result = matcher.match(parts.slice(0, index + 1).join("/"), result);
  }
  return result.matched;
}

describe("createPatternMatcher (moby/patternmatcher)", () => {
  // What moby/patternmatcher's MatchesOrParentMatches answers for one pattern.
  const single: [pattern: string, path: string, matches: boolean][] = [
    ["**", "file", true],
    ["**/", "file", true],
    ["**", "dir/file", true],
    ["**/**", "dir/file", true],
    ["dir/**", "dir/file", true],
    ["dir/**", "dir/dir2/file", true],
    ["**/dir", "dir", true],
    ["**/dir", "dir/file", true],
    ["**/dir2/*", "dir/dir2/file", true],
    ["**/dir2/**", "dir/dir2/dir3/file", true],
    ["**file", "file", true],
    ["**file", "dir/dir/file", true],
    ["**/file*.txt", "dir/dir/file.txt", true],
    ["**/**/*.txt2", "dir/dir/file.txt", false],
    ["**/*.txt", "file.txt", true],
    ["a**/*.txt", "a/dir/dir/file.txt", true],
    ["a/*.txt", "a/dir/file.txt", false],
    ["a/*.txt**", "a/file.txt", true],
    ["a[b-d]e", "ace", true],
    ["a[^b-d]e", "aze", true],
    [".*", ".foo", true],
    [".*", "foo", false],
    ["abc.def", "abcZdef", false],
    ["abc?def", "abcZdef", true],
    ["a\\\\", "a\\", true],
    ["**/foo/bar", "dir/dir2/foo/bar", true],
    ["abc/**", "abc", false],
    ["abc/**", "abc/def/ghi", true],
    ["**/.foo", "bar.foo", false],
    ["a(b)c/def", "a(b)c/def", true],
    ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
    ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
    ["c++.txt", "c++.txt", true],
    ["c++.txt", "cc.txt", false],
    ["foo (copy).txt", "foo copy.txt", false],
    ["a|b", "a", false],
    // A suffix pattern compares as a string: "**.log" is any path ending in ".log".
    ["**.log", "dir/debug.log", true],
    // A pattern ending in "**" without a slash is a string prefix.
    ["abc**", "abcdef/x", true],
    // "^" is a regular-expression anchor to Go once the pattern is a regular expression.
    ["^*.log", "x.log", true],
    ["^foo", "foo", false],
    ["^foo", "^foo", true],
    // Go's regular expressions read "\d" as a digit class.
    ["v\\d", "v1", true],
    ["v\\d", "vd", false],
    // A name that is not UTF-8 is matched byte for byte.
    ["bad\udcff.txt", "bad\udcff.txt", true],
    ["bad\udcff.txt", "bad\udcfe.txt", false],
  ];
  for (const [pattern, path, matches] of single) {
    it(`${pattern} ${matches ? "matches" : "does not match"} ${path}`, () => {
      expect(createPatternMatcher([pattern]).match(path).matched).toBe(matches);
      expect(walkMatch([pattern], path)).toBe(matches);
    });
  }

  it("lets the last pattern that matches win, exceptions included", () => {
    expect(walkMatch(["**", "!util/docker/web"], "util/docker/web/foo")).toBe(false);
    expect(
      walkMatch(["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo"),
    ).toBe(true);
    expect(walkMatch(["**", "!dist/*.whl"], "dist/x.whl")).toBe(false);
    expect(walkMatch(["docs", "!docs/README.md"], "docs/README.md")).toBe(false);
    expect(walkMatch(["*.go", "!fileutils.go"], "fileutils.go")).toBe(false);
    expect(walkMatch(["!fileutils.go", "*.go"], "fileutils.go")).toBe(true);
  });

  it("carries a parent's matches to its children", () => {
    expect(walkMatch(["*", "!**/*.log"], "a/x.log")).toBe(false);
    expect(walkMatch(["*", "!**/*.log"], "a/x.txt")).toBe(true);
    expect(walkMatch(["a/**", "!a/keep"], "a/keep/k.txt")).toBe(false);
    expect(walkMatch(["a/**", "!a/keep"], "a/other.txt")).toBe(true);
  });

  it("trims and cleans patterns, and knows whether any is an exception", () => {
    const matcher = createPatternMatcher(["  docs/  ", "", "!./keep"]);
    expect(matcher.patterns.map((pattern) => [pattern.text, pattern.exclusion])).toEqual([
      ["docs", false],
      ["./keep", true],
    ]);
    expect(matcher.hasExclusions).toBe(true);
    expect(createPatternMatcher(["a"]).hasExclusions).toBe(false);
  });

  it("rejects what moby/patternmatcher rejects, in its words", () => {
    expect(() => createPatternMatcher(["!"])).toThrow('illegal exclusion pattern: "!"');
    for (const pattern of ["a\\", "[unclosed", "[]a]", "![z"]) {
      expect(() => createPatternMatcher([pattern]), pattern).toThrow(InvalidPatternError);
      expect(() => createPatternMatcher([pattern]), pattern).toThrow("syntax error in pattern");
    }
  });

  it("refuses the few Go regular-expression escapes it cannot read, naming them", () => {
    expect(() => createPatternMatcher(["a\\pL"])).toThrow(
      "\\p in a pattern is a regular expression to Go, which stagecraft does not read",
    );
    expect(() => createPatternMatcher(["[[:alpha:]]"])).toThrow(InvalidPatternError);
  });
});

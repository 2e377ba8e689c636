import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { expandWord, expandWords } from "./expand-words.js";

// BuildKit's own expansion vectors (frontend/dockerfile/shell), outside the repository
// (test/conformance-setup.ts).
const shellDir = new URL("conformance/shell/", pathToFileURL(`${inject("sharedDir")}/`));

interface EnvVarCase {
  line: number;
  platform: string;
  input: string;
  expected: string;
}

/** envVarTest: `PLATFORM|input|expected`, fields trimmed; `#` lines and blank lines skipped. */
function readEnvVarCases(): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  readFileSync(new URL("envVarTest", shellDir), "utf8")
    .split("\n")
    .forEach((raw, index) => {
      if (raw.startsWith("#") || raw.trim() === "") return;
      const fields = raw.trim().split("|");
      expect(fields).toHaveLength(3);
      const [platform = "", input = "", expected = ""] = fields.map((field) => field.trim());
      cases.push({ line: index + 1, platform, input, expected });
    });
  return cases;
}

interface WordsCase {
  line: number;
  input: string;
  env: Map<string, string>;
  expected: string[];
}

/** wordsTest: `ENV k=v` lines accumulate; `input | expected` with expected split on commas. */
function readWordsCases(): WordsCase[] {
  const cases: WordsCase[] = [];
  const env = new Map<string, string>();
  readFileSync(new URL("wordsTest", shellDir), "utf8")
    .split("\n")
    .forEach((raw, index) => {
      if (raw.startsWith("#") || raw === "") return;
      if (raw.startsWith("ENV ")) {
        const assignment = raw.slice(3).replace(/^ +/, "");
        const equals = assignment.indexOf("=");
        env.set(assignment.slice(0, equals), assignment.slice(equals + 1));
        return;
      }
      const fields = raw.split("|");
      expect(fields).toHaveLength(2);
      cases.push({
        line: index + 1,
        input: (fields[0] ?? "").trim(),
        env: new Map(env),
        expected: (fields[1] ?? "").replace(/^ +/, "").split(","),
      });
    });
  return cases;
}

const envVarEnv = new Map([
  ["PWD", "/home"],
  ["SHELL", "bash"],
  ["KOREAN", "한국어"],
  ["NULL", ""],
]);

describe("expandWord: BuildKit envVarTest (unix and all-platform lines)", () => {
  const cases = readEnvVarCases().filter((c) => c.platform === "A" || c.platform === "U");

  it("reads the vectors", () => {
    expect(cases.length).toBeGreaterThan(200);
  });

  it.each(cases)("line $line: $input", ({ input, expected }) => {
    if (expected === "error") {
      expect(() => expandWord(input, envVarEnv)).toThrow(DockerfileError);
    } else {
      expect(expandWord(input, envVarEnv)).toBe(expected);
    }
  });
});

describe("expandWords: BuildKit wordsTest", () => {
  const cases = readWordsCases();

  it("reads the vectors", () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)("line $line: $input", ({ input, env, expected }) => {
    let result: string[];
    try {
      result = expandWords(input, env);
    } catch (error) {
      expect(error).toBeInstanceOf(DockerfileError);
      result = ["error"];
    }
    expect(result).toEqual(expected);
  });
});

import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { DockerfileError } from "../errors.js";
import type { DockerfileAst } from "./ast.js";
import { dumpDockerfile } from "./dump-dockerfile.js";
import { parseDockerfile } from "./parse-dockerfile.js";

// BuildKit's parser vectors and stagecraft's edge cases, outside the repository (test/conformance-setup.ts).
const conformance = new URL("conformance/", pathToFileURL(`${inject("sharedDir")}/`));

function caseNames(folder: string): string[] {
  return readdirSync(new URL(folder, conformance), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

function readText(path: string): string {
  return readFileSync(new URL(path, conformance), "utf8");
}

function readJson(path: string): unknown {
  return JSON.parse(readText(path));
}

function parseError(text: string): DockerfileError {
  try {
    parseDockerfile(text);
  } catch (error) {
    if (error instanceof DockerfileError) return error;
    throw error;
  }
  throw new Error("expected the Dockerfile to fail to parse");
}

describe("BuildKit parser testfiles: the dump equals `result` byte for byte", () => {
  const names = caseNames("parser/");

  it("has all 33 upstream cases", () => {
    expect(names).toHaveLength(33);
  });

  it.each(names)("%s", (name) => {
    const ast = parseDockerfile(readText(`parser/${name}/Dockerfile`));
    expect(dumpDockerfile(ast)).toBe(readText(`parser/${name}/result`));
  });
});

describe("BuildKit parser testfiles-negative: BuildKit's error text", () => {
  const expected = readJson("parser-negative/expected-errors.json") as Record<string, string>;
  const names = caseNames("parser-negative/");

  it("has an expected error for every case", () => {
    expect(names).toHaveLength(4);
    expect(
      Object.keys(expected)
        .filter((key) => !key.startsWith("_"))
        .sort(),
    ).toEqual(names);
  });

  it.each(names)("%s", (name) => {
    const error = parseError(readText(`parser-negative/${name}/Dockerfile`));
    expect(error.message).toBe(expected[name]);
    expect(error.code).toBe("DOCKERFILE_SYNTAX");
    expect(error.line).toBeGreaterThanOrEqual(1);
  });
});

describe("BuildKit testfile-line: instruction line ranges", () => {
  it("matches TestParseIncludesLineNumbers", () => {
    const expected = readJson("parser-lines/testfile-line/expected.json") as {
      root: [number, number];
      children: [number, number][];
    };
    const ast = parseDockerfile(readText("parser-lines/testfile-line/Dockerfile"));
    expect([ast.range.start.line, ast.range.end.line]).toEqual(expected.root);
    expect(ast.children.map((child) => [child.range.start.line, child.range.end.line])).toEqual(
      expected.children,
    );
  });
});

interface EdgeExpectation {
  escapeToken?: string;
  directives?: { name: string; value: string }[];
  dump?: string;
  lines?: [number, number][];
  heredocs?: { name: string; expand: boolean; chomp: boolean; fd: number; content: string }[][];
  warnings?: string[];
  parseError?: string;
}

/** The parser-level fields of an edge case, in the shape of its expected.json. */
function parserFields(ast: DockerfileAst): Required<Omit<EdgeExpectation, "parseError">> {
  return {
    escapeToken: ast.escapeToken,
    directives: ast.directives.map(({ name, value }) => ({ name, value })),
    dump: dumpDockerfile(ast),
    lines: ast.children.map((child) => [child.range.start.line, child.range.end.line]),
    heredocs: ast.children.map((child) =>
      child.heredocs.map(({ name, expand, chomp, fd, content }) => ({
        name,
        expand,
        chomp,
        fd,
        content,
      })),
    ),
    warnings: ast.warnings.map((warning) => warning.message),
  };
}

describe("stagecraft edge cases: parser-level fields", () => {
  const names = caseNames("edge/");

  it("has the 41 cases", () => {
    expect(names).toHaveLength(41);
  });

  it.each(names)("%s", (name) => {
    const expected = readJson(`edge/${name}/expected.json`) as EdgeExpectation;
    const text = readText(`edge/${name}/Dockerfile`);
    if (expected.parseError !== undefined) {
      expect(parseError(text).message).toBe(expected.parseError);
      return;
    }
    const actual = parserFields(parseDockerfile(text));
    expect(actual).toEqual({
      escapeToken: expected.escapeToken,
      directives: expected.directives,
      dump: expected.dump,
      lines: expected.lines,
      heredocs: expected.heredocs,
      warnings: expected.warnings ?? [],
    });
  });
});

interface CorpusEntry {
  file: string;
  escapeToken: string;
  stages: { line: number; from: string; platform?: string }[];
}

describe("real-world corpus: escape token and the FROM lines of every stage", () => {
  const corpus = readJson("../corpus/dockerfiles/expected.json") as CorpusEntry[];

  it("has the 17 files", () => {
    expect(corpus).toHaveLength(17);
  });

  it.each(corpus.map((entry) => [entry.file, entry] as const))("%s", (file, entry) => {
    const ast = parseDockerfile(readText(`../corpus/dockerfiles/${file}`));
    expect(ast.escapeToken).toBe(entry.escapeToken);
    const froms = ast.children.filter((child) => child.keyword === "from");
    expect(
      froms.map((from) => ({
        line: from.range.start.line,
        from: from.args[0],
        platform: from.flags
          .find((flag) => flag.startsWith("--platform="))
          ?.slice("--platform=".length),
      })),
    ).toEqual(entry.stages.map(({ line, from, platform }) => ({ line, from, platform })));
  });
});

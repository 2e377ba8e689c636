import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { dumpDockerfile } from "./dump-dockerfile.js";
import { parseDockerfile } from "./parse-dockerfile.js";
import { PARSER_CASES, PARSER_ERRORS } from "./parser-cases.test-support.js";

describe("parseDockerfile on whole Dockerfiles: the dump BuildKit's parser gives", () => {
  it.each(PARSER_CASES)("$name", ({ text, dump, lines }) => {
    const ast = parseDockerfile(text);
    expect(dumpDockerfile(ast)).toBe(`${dump.join("\n")}\n`);
    if (lines !== undefined) {
      expect(ast.children.map((child) => [child.range.start.line, child.range.end.line])).toEqual(
        lines,
      );
    }
  });
});

describe("parseDockerfile on whole Dockerfiles: BuildKit's error texts", () => {
  it.each(PARSER_ERRORS)("$name", ({ text, message, line }) => {
    let thrown: unknown;
    try {
      parseDockerfile(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DockerfileError);
    expect(thrown).toMatchObject({ code: "DOCKERFILE_SYNTAX", message, line });
  });
});

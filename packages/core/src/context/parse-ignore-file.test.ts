import { describe, expect, it } from "vitest";

import { parseIgnoreFile } from "./parse-ignore-file.js";

describe("parseIgnoreFile", () => {
  it("drops comments, blank lines and surrounding spaces", () => {
    expect(parseIgnoreFile("# comment\n\n  node_modules  \n\t*.log\n")).toEqual([
      "node_modules",
      "*.log",
    ]);
  });

  it("treats only a # in the first column as a comment", () => {
    expect(parseIgnoreFile("#comment\n  #not-a-comment\n")).toEqual(["#not-a-comment"]);
  });

  it("strips a UTF-8 BOM on the first line and a CR at line ends", () => {
    expect(parseIgnoreFile("\uFEFFa.txt\r\nb.txt\r\n")).toEqual(["a.txt", "b.txt"]);
  });

  it("cleans patterns like filepath.Clean and drops a leading slash", () => {
    expect(parseIgnoreFile("/build/\n./src//gen/../out\nsub/.\n/\n")).toEqual([
      "build",
      "src/out",
      "sub",
      "/",
    ]);
  });

  it("keeps ! exceptions, trimming the space after the !", () => {
    expect(parseIgnoreFile("!  /keep/me/\n!\n")).toEqual(["!keep/me", "!"]);
  });
});

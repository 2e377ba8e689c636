import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkDockerfile } from "./check-dockerfile.js";

// The corpus is other projects' Dockerfiles: it stays in the shared directory, found through
// STAGECRAFT_SHARED_DIR or, by default, the directory `shared` beside the repository root.
const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const sharedDir = process.env.STAGECRAFT_SHARED_DIR ?? resolve(repositoryRoot, "..", "shared");
const corpusDir = join(sharedDir, "corpus", "dockerfiles");

interface ExpectedFile {
  file: string;
  review?: string;
  shippedStages: string[];
  findings: {
    rule: string;
    severity: string;
    line: number;
    column: number;
    message: string;
    review: string;
  }[];
}

const expected = (
  JSON.parse(
    readFileSync(new URL("__fixtures__/corpus-findings.json", import.meta.url), "utf8"),
  ) as {
    files: ExpectedFile[];
  }
).files;

function corpusFiles(): string[] {
  if (!existsSync(corpusDir)) {
    throw new Error(
      `the Dockerfile corpus is not at ${corpusDir}: set STAGECRAFT_SHARED_DIR to the shared directory (the one holding corpus/dockerfiles/)`,
    );
  }
  return readdirSync(corpusDir)
    .filter((name) => name.endsWith(".Dockerfile"))
    .sort();
}

describe("checkDockerfile on the real-world corpus: the reviewed findings, no more, no fewer", () => {
  const files = corpusFiles();

  it("has a reviewed entry for every corpus file, and a review for every finding", () => {
    expect(expected.map((entry) => entry.file)).toEqual(files);
    for (const entry of expected) {
      for (const finding of entry.findings)
        expect(finding.review, `${entry.file}:${finding.line}`).not.toBe("");
    }
  });

  it.each(expected)("$file", (entry) => {
    const report = checkDockerfile(readFileSync(join(corpusDir, entry.file), "utf8"), {
      file: entry.file,
    });
    expect(report.shippedStages).toEqual(entry.shippedStages);
    expect(
      report.findings.map((finding) => ({
        rule: finding.rule,
        severity: finding.severity,
        line: finding.location.line,
        column: finding.location.column,
        message: finding.message,
      })),
    ).toEqual(entry.findings.map(({ review: _review, ...finding }) => finding));
  });
});

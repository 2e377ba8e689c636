import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import type { PlanJson } from "./serialize-plan.js";

// Real-world Dockerfiles under their projects' licences, outside the repository (test/conformance-setup.ts).
const corpusDir = new URL("corpus/dockerfiles/", pathToFileURL(`${inject("sharedDir")}/`));

interface CorpusEntry extends PlanJson {
  file: string;
  escapeToken: string;
  errorWithDefaultArgs?: string;
  buildErrorWithDefaultArgs?: string;
  assumedBuildArgs?: Record<string, string>;
}

const entries = JSON.parse(
  readFileSync(new URL("expected.json", corpusDir), "utf8"),
) as CorpusEntry[];

describe("analyzeDockerfile: the real-world corpus (corpus/dockerfiles)", () => {
  it("finds all 17 files", () => {
    expect(entries).toHaveLength(17);
  });

  it.each(entries)("$file", (entry) => {
    const text = readFileSync(new URL(entry.file, corpusDir), "utf8");
    const options =
      entry.assumedBuildArgs === undefined ? {} : { buildArgs: entry.assumedBuildArgs };
    if (entry.errorWithDefaultArgs !== undefined) {
      expect(() => analyzeDockerfile(text, options)).toThrow(entry.errorWithDefaultArgs);
      return;
    }
    const analysis = analyzeDockerfile(text, options);
    // Exact JSON, key order included.
    expect(JSON.stringify(analysis.json)).toBe(
      JSON.stringify({
        stages: entry.stages,
        defaultTarget: entry.defaultTarget,
        reachable: entry.reachable,
      }),
    );
    expect(analysis.ast.escapeToken).toBe(entry.escapeToken);
    expect(analysis.plan.targets[0]?.buildError?.message).toBe(entry.buildErrorWithDefaultArgs);
  });
});

import { describe, expect, it } from "vitest";
import { formatMarkdownSummary } from "./format-markdown-summary.js";
import { successfulRun } from "./run-fixtures.test-support.js";
import { sharedStages } from "./shared-stages.test-support.js";

describe("formatMarkdownSummary of a pool run", () => {
  it("lists each shared stage with its push and each reader's pull, as the pool's lines do", () => {
    const { report } = successfulRun();
    const summary = formatMarkdownSummary(report, {
      dockerfile: "Dockerfile",
      shared: sharedStages(),
    });
    const lines = summary.split("\n");
    expect(lines).toContain("| Shared stage | Built on | Build | Pushed | Read by |");
    expect(lines).toContain(
      "| deps | one | 4.2 s | 4.0 MB in 0.8 s as `127.0.0.1:5000/ci/deps@sha256:00` | " +
        "two (pulled 4.1 MB in 0.3 s), three, four (had its layers, 0.2 s) |",
    );
    expect(lines).toContain(
      "| lint | two |  | not shared (push refused: <denied>), built where needed |  |",
    );
    expect(lines).toContain(
      "**Moving shared stages:** pushed 4.0 MB in 0.8 s, pulled 4.1 MB in 0.6 s (2 pulls)",
    );
    // After the targets' table, before the details.
    const table = lines.indexOf("| Shared stage | Built on | Build | Pushed | Read by |");
    expect(table).toBeGreaterThan(lines.findIndex((line) => line.startsWith("| ✅ |")));
    expect(table).toBeLessThan(lines.findIndex((line) => line.startsWith("<details>")));
  });

  it("escapes a pipe in what the run reported inside the table", () => {
    const [deps] = sharedStages();
    const summary = formatMarkdownSummary(successfulRun().report, {
      dockerfile: "Dockerfile",
      shared: [{ ...deps!, reference: undefined, error: "a | b" }],
    });
    expect(summary).toContain("not shared (a \\| b), built where needed");
  });

  it("has no shared stages section for a one-engine run", () => {
    const { report } = successfulRun();
    const plain = formatMarkdownSummary(report, { dockerfile: "Dockerfile" });
    expect(plain).not.toContain("Shared stage");
    expect(plain).not.toContain("Moving shared stages");
    expect(formatMarkdownSummary(report, { dockerfile: "Dockerfile", shared: [] })).toBe(plain);
  });
});

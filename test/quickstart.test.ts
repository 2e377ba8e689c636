// The demo (`npm run demo`) builds examples/quickstart as its README says: test and lint beside the
// runtime, a big builder and a small runtime, and the HTML report; the runtime image then works.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "@stagecraft/core";
import { runStagecraft } from "./support/cli.js";
import { TEST_LABEL, removeImages } from "./support/engine.js";

const quickstart = fileURLToPath(new URL("../examples/quickstart", import.meta.url));
const tag = `stagecraft-test/wordfreq:${randomUUID().slice(0, 8)}`;
const out = mkdtempSync(join(tmpdir(), "stagecraft-quickstart-"));

afterAll(async () => {
  rmSync(out, { recursive: true, force: true });
  await removeImages([tag]);
});

describe("the demo: examples/quickstart", () => {
  it("builds test, lint and a small runtime from a big builder, and writes the HTML report", async () => {
    const html = join(out, "run.html");
    const json = join(out, "run.json");
    const build = (report: string) =>
      runStagecraft([
        "build",
        quickstart,
        "--target",
        "test,lint,runtime",
        "-t",
        `runtime=${tag}`,
        "--label",
        TEST_LABEL,
        "--progress",
        "plain",
        "--report",
        report,
      ]);
    // The first run may compile (apt and gcc on a bare engine: minutes); the second is cached.
    const first = await build(html);
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(html, "utf8")).toMatch(/^<!doctype html>/i);
    const again = await build(json);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8")) as BuildReport;
    expect(report.targets.map((target) => [target.target, target.status])).toEqual([
      ["test", "succeeded"],
      ["lint", "succeeded"],
      ["runtime", "succeeded"],
    ]);
    expect(report.totals.stepsRun).toBe(0);
    // builder → runtime: the runtime is a few MB, the build stage hundreds.
    expect(again.stdout).toMatch(/size: runtime [\d.]+ MB ← build [\d.]+ MB \(−9\d%\)/);
    const runtime = report.targets.find((target) => target.target === "runtime");
    expect(runtime?.sizeComparison).toMatchObject({ from: "build" });
    expect(runtime?.sizeComparison?.changePercent).toBeLessThan(-90);

    // The README's "try it": words counted by the binary built in the builder stage.
    const counted = execFileSync(
      "docker",
      ["run", "--rm", "--label", TEST_LABEL, "--entrypoint", "sh", tag, "-c"].concat([
        "echo to be or not to be | wordfreq 3",
      ]),
      { encoding: "utf8" },
    );
    expect(counted).toBe("2 be\n2 to\n1 not\n");
  }, 600_000);
});

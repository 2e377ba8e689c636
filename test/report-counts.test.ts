// The same build twice gives the same counts: five targets sharing stages, a cold run, then two
// warm runs whose reports (and live stage lines) must say the same, step for step.
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "@stagecraft/core";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, TEST_LABEL, makeProject, removeImages } from "./support/engine.js";

const TARGETS = ["test", "lint", "build", "app", "docs"];
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

/** What two runs of one build must agree on: every count, per target, per stage, in total. */
function counts(report: BuildReport): unknown {
  return {
    totals: report.totals,
    targets: report.targets.map((t) => [
      t.target,
      t.status,
      t.stepsRun,
      t.stepsShared,
      t.stepsCached,
    ]),
    stages: report.stages.map((s) => [s.stage, s.status, s.steps, s.stepsRun, s.stepsCached]),
    steps: report.steps.map((s) => [s.name, s.status]),
  };
}

describe("five targets built twice", () => {
  it("give the same counts on both warm runs, and the live lines agree with the report", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce && sleep 1`,
        `WORKDIR /app`,
        `FROM base AS deps`,
        `COPY package.txt ./`,
        `RUN cat package.txt > deps && sleep 1`,
        `FROM deps AS source`,
        `COPY src/ src/`,
        `FROM source AS test`,
        `RUN cat src/* deps > tested`,
        `FROM source AS lint`,
        `RUN wc -l src/* > linted`,
        `FROM source AS build`,
        `RUN cat src/* > out`,
        `FROM base AS docs`,
        `RUN echo docs ${nonce} > docs.txt`,
        `FROM ${BUSYBOX} AS app`,
        `COPY --from=build /app/out /out`,
        `COPY --from=docs /app/docs.txt /docs.txt`,
      ].join("\n"),
      "package.txt": `deps ${nonce}\n`,
      // Content-addressed: a COPY of files an earlier run made alike would be cached.
      "src/main.txt": `main ${nonce}\n`,
    });
    const tags = TARGETS.map((target) => `stagecraft-test/counts-${target}:${nonce.slice(0, 8)}`);
    made.push(...tags);
    const build = async (...extra: string[]): Promise<{ report: BuildReport; stdout: string }> => {
      const reportFile = join(tmpdir(), `stagecraft-counts-${nonce}.json`);
      const run = await runStagecraft(
        [
          "build",
          ".",
          "--target",
          TARGETS.join(","),
          ...TARGETS.flatMap((target, index) => ["-t", `${target}=${tags[index]}`]),
          "--label",
          TEST_LABEL,
          "--progress",
          "plain",
          "--report",
          reportFile,
          ...extra,
        ],
        { cwd: project.dir },
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(readFileSync(reportFile, "utf8")) as BuildReport;
      rmSync(reportFile);
      return { report, stdout: run.stdout };
    };
    try {
      const cold = await build();
      // Cold: everything ran, once; what several targets need is shared, not cached.
      expect(cold.report.totals.stepsCached).toBe(0);
      expect(cold.report.totals.stepsRun).toBe(cold.report.steps.length);
      expect(cold.report.totals.stepsShared).toBeGreaterThan(0);

      const first = await build();
      const second = await build();
      expect(counts(second.report)).toEqual(counts(first.report));
      expect(first.report.totals.stepsRun).toBe(0);
      expect(first.report.totals.stepsCached).toBe(cold.report.steps.length);
      for (const target of first.report.targets) {
        expect(target.stepsRun + target.stepsShared, target.target).toBe(0);
      }

      // The cold run's live "stage done in T (N run, M cached)" lines say what its report says:
      // the counts, and the time to the precision it is printed at (ms below 1 s, else 0.1 s).
      const live = [
        ...cold.stdout.matchAll(
          /› (\S+)\s+stage done in (\d+(?:\.\d)?) (ms|s) \((\d+) run, (\d+) cached\)/g,
        ),
      ];
      expect(live.length).toBeGreaterThan(0);
      for (const [, stage, amount, unit, run, cached] of live) {
        const reported = cold.report.stages.find((entry) => entry.stage === stage);
        expect([stage, Number(run), Number(cached)]).toEqual([
          stage,
          reported?.stepsRun,
          reported?.stepsCached,
        ]);
        const shownMs = Number(amount) * (unit === "s" ? 1000 : 1);
        expect(
          Math.abs(shownMs - (reported?.durationMs ?? Infinity)),
          `${stage}: live ${amount} ${unit}, report ${reported?.durationMs} ms`,
        ).toBeLessThanOrEqual(unit === "s" ? 50 : 0.5);
      }

      // --no-cache over a warm cache: nothing is cached; what targets share is shared, not cached.
      const uncached = await build("--no-cache");
      expect(uncached.report.totals.stepsCached).toBe(0);
      expect(uncached.report.totals.stepsRun).toBe(uncached.report.steps.length);
      expect(uncached.report.totals.stepsShared).toBe(cold.report.totals.stepsShared);
      for (const target of uncached.report.targets) {
        expect([target.target, target.stepsCached, target.cachedPercent]).toEqual([
          target.target,
          0,
          0,
        ]);
      }
    } finally {
      project.remove();
    }
  });
});

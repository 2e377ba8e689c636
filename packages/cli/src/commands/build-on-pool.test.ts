import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildReport } from "@stagecraft/core";
import type { PoolOutcome } from "@stagecraft/core/pool";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { runCli } from "../run-cli.js";
import { successfulRun } from "../renderers/run-fixtures.test-support.js";
import { sharedStages } from "../renderers/shared-stages.test-support.js";
import { formatPoolLines, formatPoolReportFile, poolReportJson } from "./build-on-pool.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const PIN =
  "127.0.0.1:5000/ci/stagecraft-bases/stagecraft/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const outcome = (pins: PoolOutcome["pins"]): PoolOutcome => ({
  status: "succeeded",
  targets: [
    { name: "a", status: "succeeded", tags: [], engine: "one" },
    { name: "b", status: "succeeded", tags: [], engine: "two" },
  ],
  runs: [],
  moved: [],
  shared: [],
  busyMs: { one: 1500, two: 2500 },
  pins,
});

describe("formatPoolLines", () => {
  it("says once for the pool which bases were pinned, from which engine, and which were not", () => {
    const text = formatPoolLines(
      outcome({
        mirror: "127.0.0.1:5000/ci/stagecraft-bases",
        pinned: [
          { reference: "stagecraft/busybox:latest", pinned: PIN, engine: "two" },
          { reference: "debian:12", pinned: PIN, engine: "one", found: "layers" },
        ],
        unpinned: [{ reference: "scratch", reason: "scratch is no image" }],
      }),
    );
    expect(text.split("\n")).toEqual([
      `base stagecraft/busybox:latest pinned once for the pool: pushed from two as ${PIN}`,
      `base debian:12 pinned once for the pool: found in the mirror by one (same layers) as ${PIN}`,
      "base scratch not pinned: scratch is no image",
      "a  succeeded on one",
      "b  succeeded on two",
      "engine one busy 1.5 s",
      "engine two busy 2.5 s",
      "",
    ]);
  });

  it("says what moving each shared stage took: its push, and each reader's pull", () => {
    const reference = "127.0.0.1:5000/ci/deps@sha256:00";
    const text = formatPoolLines({
      ...outcome(undefined),
      shared: [
        {
          stage: "deps",
          engine: "one",
          to: ["two", "three"],
          reference,
          buildMs: 4200,
          pushMs: 800,
          bytes: 4_000_000,
          // three's builds never said (an engine whose stream carries no statuses).
          readers: [
            { engine: "two", pullMs: 350, bytes: 4_100_000 },
            { engine: "four", pullMs: 240, bytes: 0 },
          ],
          error: undefined,
          report: undefined,
        },
      ],
    });
    expect(text).toContain(
      `shared deps: built once on one in 4.2 s, pushed 4.0 MB in 0.8 s as ${reference}, read by ` +
        "two (pulled 4.1 MB in 0.3 s), three, four (had its layers, 0.2 s)\n",
    );
    expect(text).toContain(
      "moving shared stages: pushed 4.0 MB in 0.8 s, pulled 4.1 MB in 0.6 s (2 pulls)\n",
    );
  });

  it("has no pin lines when the pool did not pin", () => {
    expect(formatPoolLines(outcome(undefined))).not.toContain("base ");
  });
});

describe("formatPoolReportFile", () => {
  const pooled = (): PoolOutcome => ({ ...outcome(undefined), shared: sharedStages() });

  it("writes a page with the shared stages' pulls for .html, as the one-engine build does", async () => {
    const { report } = successfulRun();
    const html = await formatPoolReportFile("/r/run.HTML", report, pooled(), ["a", "b"]);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<title>stagecraft build a, b</title>");
    expect(html).toContain(
      '<li data-reader="two" data-pull-ms="350" data-bytes="4100000">two (pulled 4.1 MB in 0.3 s)</li>',
    );
  });

  it("writes the pool's JSON otherwise, for the next placement", async () => {
    const text = await formatPoolReportFile("/r/run.json", successfulRun().report, pooled(), []);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(poolReportJson(pooled()))));
  });
});

describe("poolReportJson", () => {
  const FANOUT = [
    "FROM stagecraft/busybox:latest AS deps",
    "RUN make deps",
    ...["a", "b"].flatMap((name) => [`FROM deps AS ${name}`, `RUN make ${name}`]),
    "",
  ].join("\n");
  const stage = (name: string, durationMs: number, stepsRun: number) => ({
    stage: name,
    durationMs,
    stepsRun,
    stepsCached: 0,
  });
  /** A run's report, reduced to what the estimates read. */
  const report = (stages: ReturnType<typeof stage>[]) =>
    ({ stages, targets: [] }) as unknown as BuildReport;

  it("writes a shared stage's own build among the runs: the next plan estimates it at its time", async () => {
    // deps was built once on one (42 s) and read by two's target as a named context.
    const pooled: PoolOutcome = {
      ...outcome(undefined),
      runs: [
        {
          engine: "one",
          targets: ["a"],
          outcome: { report: report([stage("a", 3000, 1)]) } as never,
          error: undefined,
          busyMs: 3000,
        },
        {
          engine: "two",
          targets: ["b"],
          outcome: { report: report([stage("deps", 0, 0), stage("b", 4000, 1)]) } as never,
          error: undefined,
          busyMs: 4000,
        },
      ],
      shared: [
        {
          stage: "deps",
          engine: "one",
          to: ["two"],
          reference: "127.0.0.1:5000/sc/deps@sha256:00",
          buildMs: 42_500,
          pushMs: 800,
          bytes: 4_000_000,
          readers: [{ engine: "two", pullMs: 300, bytes: 4_000_000 }],
          error: undefined,
          report: report([stage("deps", 42_000, 1)]),
        },
      ],
    };
    const json = poolReportJson(pooled) as { runs: unknown[]; shared: object[] };
    expect(json.runs).toHaveLength(3);
    expect(json.runs[2]).toMatchObject({ engine: "one", targets: [], shared: "deps" });
    // The report is in runs[], not repeated in shared[].
    expect(json.shared[0]).not.toHaveProperty("report");

    const dir = mkdtempSync(join(tmpdir(), "stagecraft-pool-report-"));
    dirs.push(dir);
    writeFileSync(join(dir, "Dockerfile"), FANOUT);
    mkdirSync(join(dir, ".stagecraft", "reports"), { recursive: true });
    writeFileSync(join(dir, ".stagecraft", "reports", "pool.json"), JSON.stringify(json));
    const io = { ...createMemoryIo(), cwd: dir };
    const code = await runCli(
      [
        "plan",
        "--target",
        "a,b",
        "--format",
        "json",
        "--no-engine",
        // Other engines than the report's: no stage counts as held in an engine's cache.
        "--engine",
        "x=unix:///run/x.sock",
        "--engine",
        "y=unix:///run/y.sock",
        "--registry",
        "127.0.0.1:5000/sc",
      ],
      io,
    );
    expect(code).toBe(0);
    const { placement } = JSON.parse(io.stdout.text()) as {
      placement: { stages: { stage: string; startMs: number; finishMs: number }[] };
    };
    const deps = placement.stages.find((entry) => entry.stage === "deps");
    expect((deps?.finishMs ?? 0) - (deps?.startMs ?? 0)).toBe(42_000);
  });
});

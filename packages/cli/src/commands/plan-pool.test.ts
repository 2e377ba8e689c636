import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../run-cli.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function project(dockerfile: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-plan-pool-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  const io = createMemoryIo();
  return { ...io, cwd: dir, env: { ...io.env, ...env } } as ReturnType<typeof createMemoryIo>;
}

const FANOUT = [
  "FROM stagecraft/busybox:latest AS deps",
  "RUN make deps",
  "FROM deps AS a",
  "RUN make a",
  "FROM deps AS b",
  "RUN make b",
  "FROM deps AS c",
  "RUN make c",
  "",
].join("\n");
const POOL = [
  "--engine",
  "main=unix:///var/run/docker.sock",
  "--engine",
  "p1=unix:///run/p1.sock",
  "--registry",
  "127.0.0.1:5000/sc",
];

describe("stagecraft plan --engine", () => {
  it("shows which engine builds what and how the shared stage travels, in JSON", async () => {
    const io = project(FANOUT);
    expect(await runCli(["plan", "--target", "a,b,c", "--format", "json", ...POOL], io)).toBe(0);
    const { placement } = JSON.parse(io.stdout.text()) as { placement: Record<string, unknown> };
    expect(placement).toMatchObject({
      engines: [
        { name: "main", address: "unix:///var/run/docker.sock", capacity: 1 },
        { name: "p1", address: "unix:///run/p1.sock", capacity: 1 },
      ],
      registry: "127.0.0.1:5000/sc",
      estimatesFrom: "defaults",
      transfers: [
        {
          stage: "deps",
          from: "main",
          to: ["p1"],
          how: "image pushed by digest, read as a named context",
        },
      ],
    });
    const targets = placement.targets as { target: string; engine: string }[];
    expect(new Set(targets.map((target) => target.engine))).toEqual(new Set(["main", "p1"]));
  });

  it("prints the placement after the plan, and takes estimates from earlier reports", async () => {
    const io = project(FANOUT);
    mkdirSync(join(io.cwd, ".stagecraft", "reports"), { recursive: true });
    // deps was quick and a, b, c slow last time: worth spreading.
    writeFileSync(
      join(io.cwd, ".stagecraft", "reports", "last.json"),
      JSON.stringify({
        stages: [
          { stage: "deps", durationMs: 1000, stepsRun: 1 },
          { stage: "a", durationMs: 60_000, stepsRun: 1 },
          { stage: "b", durationMs: 60_000, stepsRun: 1 },
          { stage: "c", durationMs: 60_000, stepsRun: 1 },
        ],
        targets: [],
      }),
    );
    writeFileSync(join(io.cwd, ".stagecraft", "reports", "junk.json"), "not json");
    expect(await runCli(["plan", "--target", "a,b,c", ...POOL], io)).toBe(0);
    const text = io.stdout.text();
    expect(text).toContain("placement on 2 engines (estimates from 1 earlier report):");
    expect(text).toMatch(/main \(unix:\/\/\/var\/run\/docker\.sock, capacity 1\): targets /);
    expect(text).toContain(
      "deps: built once on main, pushed by digest, read as a named context on p1",
    );
  });

  it("takes estimates from an earlier pool run's report, from each engine's run", async () => {
    const io = project(FANOUT);
    mkdirSync(join(io.cwd, ".stagecraft", "reports"), { recursive: true });
    const stage = (name: string, durationMs: number) => ({
      stage: name,
      durationMs,
      stepsRun: 1,
      stepsCached: 0,
    });
    // The --report file of `build --engine …`: no stages of its own, each engine's run has them.
    // Its engines are not in today's pool, so no stage counts as held in an engine's cache.
    writeFileSync(
      join(io.cwd, ".stagecraft", "reports", "pool.json"),
      JSON.stringify({
        status: "succeeded",
        targets: [
          { target: "a", engine: "old1", status: "succeeded", imageId: null, error: null },
          { target: "b", engine: "old2", status: "succeeded", imageId: null, error: null },
          { target: "c", engine: "old2", status: "succeeded", imageId: null, error: null },
        ],
        shared: [],
        moved: [],
        busyMs: {},
        pins: null,
        runs: [
          {
            engine: "old1",
            targets: ["a"],
            busyMs: 61_000,
            report: {
              stages: [stage("deps", 1000), stage("a", 60_000)],
              targets: [{ target: "a", sizeBytes: 7_000_000 }],
            },
            error: null,
          },
          {
            engine: "old2",
            targets: ["b", "c"],
            busyMs: 90_000,
            report: {
              stages: [stage("b", 30_000), stage("c", 90_000)],
              targets: [
                { target: "b", sizeBytes: 8_000_000 },
                { target: "c", sizeBytes: 9_000_000 },
              ],
            },
            error: null,
          },
          // A run that ended in an engine error has no report.
          { engine: "old3", targets: [], busyMs: 0, report: null, error: "gone" },
        ],
      }),
    );
    expect(await runCli(["plan", "--target", "a,b,c", "--format", "json", ...POOL], io)).toBe(0);
    const { placement } = JSON.parse(io.stdout.text()) as {
      placement: {
        estimatesFrom: string;
        stages: { stage: string; startMs: number; finishMs: number }[];
      };
    };
    expect(placement.estimatesFrom).toBe("1 earlier report");
    const durations = Object.fromEntries(
      placement.stages.map((entry) => [entry.stage, entry.finishMs - entry.startMs]),
    );
    expect(durations).toEqual({ deps: 1000, a: 60_000, b: 30_000, c: 90_000 });
  });

  it("places each target where an earlier pool run left its cache (cache affinity)", async () => {
    const placed = async (report?: unknown): Promise<string[][]> => {
      const io = project(FANOUT);
      if (report !== undefined) {
        mkdirSync(join(io.cwd, ".stagecraft", "reports"), { recursive: true });
        writeFileSync(join(io.cwd, ".stagecraft", "reports", "pool.json"), JSON.stringify(report));
      }
      // Room for every target on either engine: only the cache tells them apart.
      const roomy = [
        "--engine",
        "main=unix:///var/run/docker.sock,capacity=3",
        "--engine",
        "p1=unix:///run/p1.sock,capacity=3",
        "--registry",
        "127.0.0.1:5000/sc",
      ];
      expect(await runCli(["plan", "--target", "a,b,c", "--format", "json", ...roomy], io)).toBe(0);
      const { placement } = JSON.parse(io.stdout.text()) as {
        placement: { targets: { target: string; engine: string }[] };
      };
      return placement.targets.map((entry) => [entry.target, entry.engine]);
    };
    // The --report file of `build --engine …`: where each target was built last time.
    const last = (engines: Record<string, string>) => ({
      status: "succeeded",
      targets: Object.entries(engines).map(([target, engine]) => ({
        target,
        engine,
        status: "succeeded",
        imageId: null,
      })),
      shared: [],
      moved: [],
      busyMs: {},
      pins: null,
      // Each engine's run built deps and its targets there.
      runs: [...new Set(Object.values(engines))].map((engine) => ({
        engine,
        targets: Object.keys(engines).filter((target) => engines[target] === engine),
        report: {
          stages: ["deps", ...Object.keys(engines).filter((t) => engines[t] === engine)].map(
            (stage) => ({ stage, durationMs: 5000, stepsRun: 1, stepsCached: 0 }),
          ),
        },
      })),
    });
    const fresh = await placed();
    // Each target on the other engine than a fresh plan puts it: affinity must move it back.
    const swapped = Object.fromEntries(
      fresh.map(([target, engine]) => [target ?? "", engine === "main" ? "p1" : "main"]),
    );
    expect(await placed(last(swapped))).toEqual(Object.entries(swapped));
  });

  it("reads STAGECRAFT_ENGINES; one engine needs no registry", async () => {
    const io = project(FANOUT, { STAGECRAFT_ENGINES: "solo=unix:///run/solo.sock,capacity=2" });
    expect(await runCli(["plan", "--target", "a,b"], io)).toBe(0);
    expect(io.stdout.text()).toContain("shared: nothing travels between engines");
  });

  it("exits 2 naming the flag for bad syntax and for a pool without a registry", async () => {
    const bad = project(FANOUT);
    expect(await runCli(["plan", "--engine", "nope"], bad)).toBe(2);
    expect(bad.stderr.text()).toContain('--engine "nope" is not NAME=ADDRESS');
    const noRegistry = project(FANOUT);
    expect(await runCli(["plan", ...POOL.slice(0, 4)], noRegistry)).toBe(2);
    expect(noRegistry.stderr.text()).toContain("needs a registry");
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeEngine } from "@stagecraft/core/testing";
import { runCli } from "../run-cli.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function project(
  dockerfile: string,
  env: Record<string, string> = {},
  poolEngines?: Record<string, FakeEngine>,
) {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-plan-pool-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  const io = createMemoryIo(poolEngines === undefined ? {} : { poolEngines });
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

  describe("engine checks on each engine", () => {
    interface Checks {
      checks: { engine: string; rule: string; severity: string }[];
      engines: {
        name: string;
        builds: string[];
        skipped: string | null;
        checks: { engine: string; rule: string; severity: string; reference: string | null }[];
      }[];
    }
    const engines = (images: Record<string, string[]>): Record<string, FakeEngine> =>
      Object.fromEntries(
        Object.entries(images).map(([name, refs]) => {
          const engine = new FakeEngine();
          if (refs.length > 0) engine.addImage(refs);
          return [name, engine];
        }),
      );
    const plan = async (
      dockerfile: string,
      images: Record<string, string[]>,
      flags: string[] = [],
    ) => {
      const io = project(dockerfile, {}, engines(images));
      const code = await runCli(
        ["plan", "--target", "a,b,c", "--format", "json", "--no-pull", ...flags, ...POOL],
        io,
      );
      const json = JSON.parse(io.stdout.text()) as {
        engineChecks: Checks;
        placement: { targets: { target: string; engine: string }[] };
      };
      return { code, ...json };
    };

    it("asks each engine about what it builds, names it in each finding, and exits 2", async () => {
      const dockerfile = `# syntax=stagecraft/frontend:1\n${FANOUT}`;
      const { code, engineChecks, placement } = await plan(dockerfile, {
        main: ["stagecraft/busybox:latest", "stagecraft/frontend:1"],
        p1: ["stagecraft/busybox:latest"],
      });
      expect(code).toBe(2);
      expect(engineChecks.engines.map((entry) => entry.name)).toEqual(["main", "p1"]);
      const [main, p1] = engineChecks.engines;
      expect(main?.checks).toEqual([]);
      expect(p1?.checks).toMatchObject([
        { engine: "p1", rule: "SyntaxFrontendImage", severity: "error" },
      ]);
      // Each engine's builds: its targets, and deps where it is built once for the others.
      for (const entry of engineChecks.engines) {
        const mine = placement.targets.filter((t) => t.engine === entry.name).map((t) => t.target);
        expect(entry.builds).toEqual(entry.name === "main" ? [...mine, "deps"] : mine);
      }
      expect(engineChecks.checks).toEqual(p1?.checks);
    });

    it("prints the findings per engine, each naming it", async () => {
      const io = project(
        `# syntax=stagecraft/frontend:1\n${FANOUT}`,
        {},
        engines({ main: ["stagecraft/busybox:latest", "stagecraft/frontend:1"], p1: [] }),
      );
      expect(await runCli(["plan", "--target", "a,b,c", "--no-pull", ...POOL], io)).toBe(2);
      const text = io.stdout.text();
      expect(text).toMatch(
        /^engine checks on main \(.*\), building .*deps: it has what they need$/m,
      );
      expect(text).toMatch(/^engine checks on p1 \(.*\), building [abc, ]+:$/m);
      expect(text).toMatch(
        /^ {2}error SyntaxFrontendImage {2}Dockerfile:1: on p1: # syntax=stagecraft\/frontend:1 /m,
      );
    });

    it("a base one engine has reaches the others pinned; --no-pin-bases needs it on each", async () => {
      // Every target FROM an image only main has.
      const own = ["a", "b", "c"]
        .flatMap((name) => [`FROM stagecraft/main-only:1 AS ${name}`, `RUN make ${name}`])
        .join("\n");
      const images = { main: ["stagecraft/main-only:1"], p1: [] };
      const pinned = await plan(own, images);
      expect(pinned.code).toBe(0);
      expect(pinned.engineChecks.checks).toEqual([]);
      const unpinned = await plan(own, images, ["--no-pin-bases"]);
      expect(unpinned.code).toBe(2);
      const onP1 = unpinned.placement.targets.filter((t) => t.engine === "p1");
      expect(onP1.length).toBeGreaterThan(0);
      expect(unpinned.engineChecks.engines[0]?.checks).toEqual([]);
      expect(unpinned.engineChecks.engines[1]?.checks).toMatchObject([
        { engine: "p1", rule: "ImageNotInEngine", reference: "stagecraft/main-only:1" },
      ]);
    });

    it("an engine that reads a shared stage needs none of that stage's bases", async () => {
      // deps is built on main (which has its base) and read by p1's targets as a named context.
      const { code, engineChecks } = await plan(
        FANOUT.replace("stagecraft/busybox:latest", "stagecraft/main-only:1"),
        { main: ["stagecraft/main-only:1"], p1: [] },
        ["--no-pin-bases"],
      );
      expect(code).toBe(0);
      expect(engineChecks.engines[1]).toMatchObject({ name: "p1", checks: [] });
      expect(engineChecks.engines[1]?.builds.length).toBeGreaterThan(0);
    });

    it("asks the registry of an engine that lacks a base it builds from; unreachable exits 2", async () => {
      const pool = engines({ main: [], p1: [] });
      pool.p1?.setRegistryAnswer("stagecraft/busybox:latest", {
        kind: "unreachable",
        message: "dial tcp: lookup registry-1.docker.io: no such host",
      });
      const io = project(FANOUT, {}, pool);
      const code = await runCli(
        ["plan", "--target", "a,b,c", "--format", "json", "--no-pin-bases", ...POOL],
        io,
      );
      const { engineChecks } = JSON.parse(io.stdout.text()) as { engineChecks: Checks };
      // main builds deps and reaches its registry: a warning; p1 builds only from deps, so its
      // unreachable registry does not matter.
      expect(code).toBe(0);
      expect(pool.main?.distributionAsked).toEqual(["stagecraft/busybox:latest"]);
      expect(engineChecks.engines[0]?.checks).toMatchObject([
        { engine: "main", rule: "ImageNotInEngine", severity: "warning" },
      ]);
      expect(pool.p1?.distributionAsked).toEqual([]);
      expect(engineChecks.engines[1]?.checks).toEqual([]);
      // With deps on p1 too (p1 alone), p1's unreachable registry is its error.
      const alone = project(FANOUT, {}, pool);
      const solo = ["--engine", "p1=unix:///run/p1.sock"];
      expect(await runCli(["plan", "--target", "a,b,c", ...solo], alone)).toBe(2);
      expect(alone.stdout.text()).toMatch(
        /^ {2}error ImageNotInEngine {2}Dockerfile:1: on p1: FROM stagecraft\/busybox:latest is not in the engine: the engine cannot reach its registry \(docker\.io\).*no such host$/m,
      );
    });

    it("an engine that does not answer is skipped, and says so", async () => {
      const io = project(FANOUT, {}, {});
      // No engine under either name: each is then asked at its address, where nothing answers.
      const gone = [
        "--engine",
        "main=unix:///nonexistent/a.sock",
        "--engine",
        "p1=unix:///nonexistent/b.sock",
        "--registry",
        "127.0.0.1:5000/sc",
      ];
      expect(await runCli(["plan", "--target", "a,b,c", "--format", "json", ...gone], io)).toBe(0);
      const { engineChecks } = JSON.parse(io.stdout.text()) as { engineChecks: Checks };
      for (const entry of engineChecks.engines) {
        expect(entry.skipped).toMatch(/^no engine answered/);
      }
    });
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
    expect(bad.stderr.text()).toContain("Give one engine as ADDRESS (unix://, tcp://, ssh://");
    const noRegistry = project(FANOUT);
    expect(await runCli(["plan", ...POOL.slice(0, 4)], noRegistry)).toBe(2);
    expect(noRegistry.stderr.text()).toContain("needs a registry");
  });
});

// One build over three real engines (the main one, pool1 and pool2 from docker/start-engine.sh) with
// the loopback registry between them: six targets that share one stage, the stage built once and read
// by the others by digest; then the same build with one engine cut off mid-run (a proxy in front of
// pool2 that hangs up and goes away: pool2's dockerd itself, and the main engine, are never touched).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerEngine, analyzeDockerfile, type BuildEvent } from "@stagecraft/core";
import { placeStages } from "@stagecraft/core/placement";
import { runPool, type PoolMember, type PoolOutcome } from "@stagecraft/core/pool";
import { readFileSync } from "node:fs";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, TEST_LABELS, docker, makeProject, runInImage } from "./support/engine.js";
import {
  deleteRepositoryTags,
  poolEngines,
  registryAddress,
  removeLabelled,
  type ExtraEngine,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const PREFIX = `stagecraft-it/pool-${id}`;
// The CLI case's own mirror: a base another case pinned under PREFIX would be found there, not pushed.
const CLI_PREFIX = `${PREFIX}-cli`;
const TARGETS = ["t1", "t2", "t3", "t4", "t5", "t6"];
/** A base image made on this machine, not in any registry: another one on each engine. */
const OWN_BASE_REPOSITORY = `stagecraft-it/pool-${id}-base`;

/** A stage every target needs, whose step writes a value no other run of it would write. */
const dockerfile = (seconds: number): string =>
  [
    `FROM ${BUSYBOX} AS shared`,
    "ARG RUN_ID",
    'RUN echo "shared $RUN_ID $(cat /proc/sys/kernel/random/uuid)" > /shared.txt',
    ...TARGETS.flatMap((target) => [
      `FROM shared AS ${target}`,
      `RUN sleep ${seconds} && echo ${target} > /target.txt`,
    ]),
    "",
  ].join("\n");

let registry: string;
let extra: ExtraEngine[];
const servers: Server[] = [];
const projects: (() => void)[] = [];

beforeAll(async () => {
  registry = await registryAddress();
  extra = await poolEngines();
});

afterAll(async () => {
  for (const server of servers) server.close();
  for (const remove of projects) remove();
  for (const prefix of [PREFIX, CLI_PREFIX]) {
    await deleteRepositoryTags(registry, `${prefix}/shared`).catch(() => undefined);
    await deleteRepositoryTags(registry, `${prefix}/stagecraft-bases/stagecraft/busybox`).catch(
      () => undefined,
    );
  }
  await deleteRepositoryTags(registry, `${PREFIX}/stagecraft-bases/${OWN_BASE_REPOSITORY}`).catch(
    () => undefined,
  );
  await Promise.all(
    [docker, ...extra.map((engine) => engine.docker)].map((on) => removeLabelled(on)),
  );
});

/** The Docker client of a pool member, to run what it built. */
function clientOf(name: string) {
  if (name === "main") return docker;
  const engine = extra.find((candidate) => `p${candidate.name.slice(-1)}` === name);
  if (engine === undefined) throw new Error(`no engine ${name}`);
  return engine.docker;
}

/** The pool: the main engine and the two extra ones, two builds at once each, Control API. */
function pool(hosts: Partial<Record<string, string>> = {}): PoolMember[] {
  const member = (name: string, host: string): PoolMember => ({
    name,
    capacity: 2,
    engine: new DockerEngine({ builder: "control", env: { DOCKER_HOST: hosts[name] ?? host } }),
  });
  const [pool1, pool2] = extra;
  if (pool1 === undefined || pool2 === undefined) throw new Error("two pool engines expected");
  return [
    member("main", "unix:///var/run/docker.sock"),
    member("p1", pool1.host),
    member("p2", pool2.host),
  ];
}

/**
 * The build over the pool, placed by the planner with costs that make the targets worth spreading
 * (each 10 s, the shared stage 2 s, 1 MB results).
 */
async function build(
  seconds: number,
  members: PoolMember[],
  onEvent: (event: BuildEvent, engine: string) => void = () => undefined,
) {
  const text = dockerfile(seconds);
  const project = makeProject({ Dockerfile: text });
  projects.push(project.remove);
  const runId = randomUUID();
  const analysis = analyzeDockerfile(text, { targets: TARGETS, buildArgs: { RUN_ID: runId } });
  const placement = placeStages({
    plan: analysis.plan,
    engines: members.map((member) => ({ name: member.name, capacity: member.capacity })),
    costs: analysis.graph.stages.map((stage) => ({
      durationMs: stage.id === "shared" ? 2000 : 10_000,
      sizeBytes: 1_000_000,
      source: "default" as const,
    })),
  });
  const events: { event: BuildEvent; engine: string }[] = [];
  const outcome = await runPool({
    analysis,
    context: { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") },
    labels: TEST_LABELS,
    pool: members,
    placement,
    registry: `${registry}/${PREFIX}`,
    onEvent: (event, engine) => {
      events.push({ event, engine });
      onEvent(event, engine);
    },
  });
  return { outcome, placement, events, runId };
}

/** Each target's image, run on the engine that built it: the shared line, then its own name. */
async function expectImagesCorrect(outcome: PoolOutcome, runId: string): Promise<string> {
  const lines = await Promise.all(
    outcome.targets.map(async (target) => {
      expect(target.status, `${target.name} on ${target.engine}`).toBe("succeeded");
      const text = await runInImage(
        target.imageId ?? "",
        ["cat", "/shared.txt", "/target.txt"],
        clientOf(target.engine),
      );
      const [shared, own] = text.trim().split("\n");
      expect(own).toBe(target.name);
      expect(shared).toMatch(new RegExp(`^shared ${runId} [0-9a-f-]{36}$`));
      return shared ?? "";
    }),
  );
  // One value in all six images: the shared step ran once, everywhere else its result was read.
  expect(new Set(lines).size).toBe(1);
  return lines[0] ?? "";
}

/** The engines on which the shared stage's RUN step ran (not from cache). */
function enginesThatRanShared(events: readonly { event: BuildEvent; engine: string }[]): string[] {
  const engines = events.flatMap(({ event }) =>
    event.type === "step-finished" &&
    event.step.stage === "shared" &&
    event.step.instruction.startsWith("RUN")
      ? [event.engine ?? "?"]
      : [],
  );
  return [...new Set(engines)];
}

describe("a build over a pool of three engines", () => {
  it("builds six targets over three engines; the shared stage runs once and travels by digest", async () => {
    const { outcome, placement, events, runId } = await build(1, pool());
    // The planner spread the targets over the three engines and shares the stage they all need.
    expect(new Set(placement.targets.map((entry) => entry.engine)).size).toBe(3);
    expect(placement.transfers.map((transfer) => transfer.id)).toEqual(["shared"]);
    expect(outcome.status).toBe("succeeded");
    expect(outcome.moved).toEqual([]);

    const [shared] = outcome.shared;
    expect(outcome.shared).toHaveLength(1);
    expect(shared?.error).toBeUndefined();
    expect(shared?.reference).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:\\d+/${PREFIX}/shared@sha256:[0-9a-f]{64}$`),
    );
    expect(shared?.bytes).toBeGreaterThan(0);
    expect(enginesThatRanShared(events)).toEqual([shared?.engine]);
    // The other engines read it as a named context (BuildKit's `[context shared] REF` step, once
    // per engine: the targets there share it) and ran none of its steps.
    const readers = new Set(
      outcome.targets.map((target) => target.engine).filter((engine) => engine !== shared?.engine),
    );
    expect(readers.size).toBe(2);
    const readBy = new Set(
      events.flatMap(({ event }) =>
        (event.type === "step-started" || event.type === "step-cached") &&
        event.step.name === `[context shared] ${shared?.reference ?? ""}`
          ? [event.engine]
          : [],
      ),
    );
    expect(readBy).toEqual(readers);
    // Each reader's fetch of it, from BuildKit's timestamps: time, and the layer the step wrote.
    expect(new Set(shared?.readers.map((reader) => reader.engine))).toEqual(readers);
    for (const reader of shared?.readers ?? []) {
      expect(reader.pullMs, reader.engine).toBeGreaterThan(0);
      expect(reader.bytes, reader.engine).toBeGreaterThan(0);
    }
    // Every event about a target names the engine of its run.
    for (const { event, engine } of events)
      if ("target" in event) expect(event.engine).toBe(engine);
    await expectImagesCorrect(outcome, runId);
    for (const engine of ["main", "p1", "p2"]) expect(outcome.busyMs[engine]).toBeGreaterThan(0);

    // The base was pinned once for the pool, from the first engine that has it (main), and every
    // run of every engine was given that one registry digest.
    expect(outcome.pins?.pinned).toEqual([
      {
        reference: BUSYBOX,
        engine: "main",
        pinned: expect.stringMatching(
          new RegExp(
            `^127\\.0\\.0\\.1:\\d+/${PREFIX}/stagecraft-bases/stagecraft/busybox@sha256:[0-9a-f]{64}$`,
          ),
        ) as string,
      },
    ]);
    const pinned = outcome.pins?.pinned[0]?.pinned ?? "";
    const pinsByEngine = new Map<string, string[]>();
    for (const { event, engine } of events) {
      if (event.type !== "run-started") continue;
      pinsByEngine.set(engine, event.cache?.pinned?.map((pin) => pin.pinned) ?? []);
    }
    expect([...pinsByEngine.keys()].sort()).toEqual(["main", "p1", "p2"]);
    for (const list of pinsByEngine.values()) expect(list).toEqual([pinned]);
    // Where the shared stage was built, BuildKit read the base from the mirror by that digest.
    const baseRead = events.filter(
      ({ event, engine }) =>
        engine === shared?.engine &&
        (event.type === "step-started" || event.type === "step-cached") &&
        event.step.name === `[context stagecraft/busybox] ${pinned}`,
    );
    expect(baseRead.length).toBeGreaterThan(0);
  });

  it("stagecraft build --engine ×3 --registry: the live lines and the report name the engines", async () => {
    const [pool1, pool2] = extra;
    const project = makeProject({ Dockerfile: dockerfile(0) });
    projects.push(project.remove);
    const runId = randomUUID();
    const report = join(project.dir, "pool.json");
    const run = await runStagecraft([
      "build",
      project.dir,
      ...TARGETS.flatMap((target) => ["--target", target]),
      "--build-arg",
      `RUN_ID=${runId}`,
      "--label",
      "org.stagecraft.test=1",
      "--progress",
      "plain",
      "--engine",
      "main=unix:///var/run/docker.sock",
      "--engine",
      `p1=${pool1?.host ?? ""}`,
      "--engine",
      `p2=${pool2?.host ?? ""}`,
      "--registry",
      `${registry}/${CLI_PREFIX}`,
      "--report",
      report,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const json = JSON.parse(readFileSync(report, "utf8")) as {
      targets: { target: string; engine: string; status: string; imageId: string }[];
      shared: {
        stage: string;
        engine: string;
        to: string[];
        reference: string;
        bytes: number;
        readers: { engine: string; pullMs: number; bytes: number }[];
      }[];
      runs: { engine: string; targets: string[]; shared?: string; report: unknown }[];
      busyMs: Record<string, number>;
      pins: { pinned: { reference: string; engine: string; pinned: string }[] } | null;
    };
    const [shared] = json.shared;
    expect(json.shared).toHaveLength(1);
    expect(shared?.reference).toContain(`/${CLI_PREFIX}/shared@sha256:`);
    const engines = new Set(json.targets.map((target) => target.engine));
    expect(engines.size).toBeGreaterThan(1);
    // Every engine with a target but the sharing one read it, and the file says what that took;
    // the shared stage's own build is among the runs, for the next placement's estimates.
    const readers = [...engines].filter((engine) => engine !== shared?.engine).sort();
    expect(shared?.readers.map((reader) => reader.engine).sort()).toEqual(readers);
    for (const reader of shared?.readers ?? []) expect(reader.pullMs).toBeGreaterThan(0);
    expect(
      json.runs.filter((entry) => entry.shared === "shared").map((entry) => entry.engine),
    ).toEqual([shared?.engine]);
    // Plain lines start with the engine that builds the target; the pool lines follow the report.
    for (const target of json.targets) {
      expect(target.status).toBe("succeeded");
      expect(run.stdout).toContain(`${target.engine} │ ${target.target} › ${target.target}  RUN`);
      expect(run.stdout).toContain(`${target.target}  succeeded on ${target.engine}\n`);
    }
    expect(run.stdout).toMatch(
      new RegExp(
        `shared shared: built once on ${shared?.engine ?? ""} in [\\d.]+ s, pushed [\\d.]+ MB in [\\d.]+ s as ${(shared?.reference ?? "").replaceAll(".", "\\.")}, read by `,
      ),
    );
    for (const engine of readers) {
      expect(run.stdout).toMatch(
        new RegExp(`${engine} \\((pulled [\\d.]+ MB in|had its layers,) [\\d.]+ s\\)`),
      );
    }
    expect(run.stdout).toMatch(
      new RegExp(
        `^moving shared stages: pushed [\\d.]+ MB in [\\d.]+ s, pulled [\\d.]+ MB in [\\d.]+ s \\(${readers.length} pulls?\\)$`,
        "m",
      ),
    );
    for (const engine of ["main", "p1", "p2"]) {
      expect(run.stdout).toMatch(new RegExp(`engine ${engine} busy [\\d.]+ s`));
    }
    // The shared stage's build is no target of the run: the report counts the requested ones.
    expect(run.stdout).toContain(`${TARGETS.length} targets in `);
    expect(run.stdout).not.toMatch(/^\S+ shared +\S+ +no steps/m);
    // The base pinned once for the pool: one line, and the same in the report file.
    const pinLines = run.stdout.split("\n").filter((line) => line.startsWith("base "));
    expect(pinLines).toHaveLength(1);
    expect(pinLines[0]).toMatch(
      new RegExp(
        `^base ${BUSYBOX} pinned once for the pool: pushed from main as 127\\.0\\.0\\.1:\\d+/${CLI_PREFIX}/stagecraft-bases/stagecraft/busybox@sha256:[0-9a-f]{64}$`,
      ),
    );
    expect(json.pins?.pinned.map((pin) => [pin.reference, pin.engine])).toEqual([
      [BUSYBOX, "main"],
    ]);
    const lines = await Promise.all(
      json.targets.map((target) =>
        runInImage(target.imageId, ["cat", "/shared.txt"], clientOf(target.engine)),
      ),
    );
    expect(new Set(lines).size).toBe(1);
    expect(lines[0]).toContain(`shared ${runId} `);

    // Again, the shared stage run anew: the page and the job summary say the readers' pulls too.
    const page = join(project.dir, "pool.html");
    const summary = join(project.dir, "summary.md");
    const again = await runStagecraft(
      [
        "build",
        project.dir,
        ...TARGETS.flatMap((target) => ["--target", target]),
        "--build-arg",
        `RUN_ID=${randomUUID()}`,
        "--label",
        "org.stagecraft.test=1",
        "--progress",
        "auto",
        "--engine",
        "main=unix:///var/run/docker.sock",
        "--engine",
        `p1=${pool1?.host ?? ""}`,
        "--engine",
        `p2=${pool2?.host ?? ""}`,
        "--registry",
        `${registry}/${CLI_PREFIX}`,
        "--report",
        page,
      ],
      { env: { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary } },
    );
    expect(again.code, again.stderr).toBe(0);
    const html = readFileSync(page, "utf8");
    expect(html).toContain('<tr data-shared="shared">');
    const pulls = [
      ...html.matchAll(/<li data-reader="(\w+)" data-pull-ms="(\d+)" data-bytes="(\d+)">/g),
    ];
    expect(pulls.length).toBeGreaterThan(0);
    for (const [, engine, pullMs] of pulls) {
      expect(["main", "p1", "p2"]).toContain(engine);
      expect(Number(pullMs)).toBeGreaterThan(0);
    }
    expect(html).toMatch(/<p class="moves">moving shared stages: pushed [\d.]+ MB in [\d.]+ s, /);
    const markdown = readFileSync(summary, "utf8");
    expect(markdown).toMatch(
      /^\| shared \| (main|p1|p2) \| [\d.]+ s \| [\d.]+ MB in [\d.]+ s as `.+` \| .*\((pulled [\d.]+ MB in|had its layers,) [\d.]+ s\).* \|$/m,
    );
    expect(markdown).toMatch(/^\*\*Moving shared stages:\*\* pushed [\d.]+ MB in /m);
  });

  it("stagecraft build --check --engine ×2: each image's files are checked on its engine", async () => {
    const [pool1] = extra;
    // A compiler only the image's files show: no package manager installed it.
    const fakeGcc = (text: string): string =>
      `RUN mkdir -p /usr/local/bin && echo ${text} > /usr/local/bin/gcc && chmod +x /usr/local/bin/gcc`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS a`,
        fakeGcc(`a-${id}`),
        "USER 1",
        `FROM ${BUSYBOX} AS b`,
        fakeGcc(`b-${id}`),
        "USER 1",
        "",
      ].join("\n"),
    });
    projects.push(project.remove);
    const report = join(project.dir, "pool.json");
    const run = await runStagecraft([
      "build",
      project.dir,
      "--target",
      "a,b",
      "--check",
      "--fail-on",
      "never",
      "--label",
      "org.stagecraft.test=1",
      "--progress",
      "plain",
      "--engine",
      "main=unix:///var/run/docker.sock",
      "--engine",
      `p1=${pool1?.host ?? ""}`,
      "--registry",
      `${registry}/${PREFIX}`,
      "--report",
      report,
    ]);
    expect(run.code).toBe(0);
    const json = JSON.parse(readFileSync(report, "utf8")) as {
      targets: { target: string; engine: string; status: string }[];
    };
    expect(json.targets.map((target) => target.status)).toEqual(["succeeded", "succeeded"]);
    // One target on each engine, so each scan had to ask the engine that built it.
    expect(new Set(json.targets.map((target) => target.engine)).size).toBe(2);
    const found = run.stderr
      .split("\n")
      .filter((line) => line.includes("ShippedBuildTools") && line.includes("gcc"));
    expect(found).toHaveLength(2);
    expect(found.join("\n")).toMatch(/Dockerfile:2:\d+: .*\/usr\/local\/bin\/gcc/);
    expect(found.join("\n")).toMatch(/Dockerfile:5:\d+: .*\/usr\/local\/bin\/gcc/);
    expect(run.stderr).not.toContain("were not checked");
  });

  it("an engine cut off mid-run: its targets move to the others and the build completes", async () => {
    const [, pool2] = extra;
    if (pool2 === undefined) throw new Error("pool2 expected");
    const proxy = await cuttableProxy(pool2.socketPath);
    let cutAt: string | undefined;
    const { outcome, placement, runId } = await build(
      4,
      pool({ p2: `unix://${proxy.socket}` }),
      (event, engine) => {
        // Once a target's own slow step runs on p2, p2 goes away.
        if (
          cutAt === undefined &&
          engine === "p2" &&
          event.type === "step-started" &&
          event.step.instruction.startsWith("RUN sleep")
        ) {
          cutAt = event.target;
          proxy.cut();
        }
      },
    );
    const onP2 = placement.targets.filter((entry) => entry.engine === "p2").map((e) => e.target);
    expect(onP2.length).toBeGreaterThan(0);
    expect(cutAt, "p2 was cut while its step ran").toBeDefined();
    expect(outcome.status).toBe("succeeded");
    // What moved: p2's targets, to the engines left, and why.
    expect(outcome.moved.map((entry) => entry.target).sort()).toEqual([...onP2].sort());
    for (const entry of outcome.moved) {
      expect(entry.from).toBe("p2");
      expect(["main", "p1"]).toContain(entry.to);
      expect(entry.reason).toMatch(/engine|connect/i);
    }
    expect(outcome.targets.every((target) => target.engine !== "p2")).toBe(true);
    await expectImagesCorrect(outcome, runId);
  });
});

describe("bases pinned once for the pool", () => {
  it("every engine builds FROM the one engine's image by digest, even an engine without it", async () => {
    const base = `${OWN_BASE_REPOSITORY}:latest`;
    const [pool1] = extra;
    // The tag names other content on main and on p1 (as on two machines once a base is rebuilt);
    // p2 does not have it at all, and nothing can be pulled.
    for (const [host, engine] of [
      [undefined, "main"],
      [pool1?.host, "p1"],
    ] as const) {
      execFileSync("docker", ["build", "-q", "--label", "org.stagecraft.test=1", "-t", base, "-"], {
        input: `FROM ${BUSYBOX}\nRUN echo ${engine}-${id} > /made-on\n`,
        env: {
          ...process.env,
          ...(host === undefined ? {} : { DOCKER_HOST: host }),
          DOCKER_BUILDKIT: "1",
        },
        stdio: ["pipe", "ignore", "inherit"],
      });
    }
    const text = ["t1", "t2", "t3"]
      .flatMap((target) => [`FROM ${base} AS ${target}`, `RUN cp /made-on /seen`])
      .join("\n");
    const project = makeProject({ Dockerfile: `${text}\n` });
    projects.push(project.remove);
    const outcome = await runPool({
      analysis: analyzeDockerfile(text, { targets: ["t1", "t2", "t3"] }),
      context: { dir: project.dir, dockerfile: join(project.dir, "Dockerfile") },
      labels: TEST_LABELS,
      pool: pool(),
      placement: {
        targets: [
          { target: "t1", engine: "main" },
          { target: "t2", engine: "p1" },
          { target: "t3", engine: "p2" },
        ],
      },
      registry: `${registry}/${PREFIX}`,
    });
    expect(outcome.pins?.pinned.map((pin) => [pin.reference, pin.engine])).toEqual([
      [base, "main"],
    ]);
    expect(outcome.status).toBe("succeeded");
    // One base everywhere: main's, read from the mirror by its digest.
    for (const target of outcome.targets) {
      const seen = await runInImage(
        target.imageId ?? "",
        ["cat", "/seen"],
        clientOf(target.engine),
      );
      expect(`${target.name} on ${target.engine}: ${seen.trim()}`).toBe(
        `${target.name} on ${target.engine}: main-${id}`,
      );
    }
  });
});

describe("plan and build check each engine of the pool before sending", () => {
  it("a base on one engine only: pinned, it reaches the other; unpinned, plan names the engine and exits 2", async () => {
    const [pool1] = extra;
    const base = `${OWN_BASE_REPOSITORY}-main-only:latest`;
    execFileSync("docker", ["build", "-q", "--label", "org.stagecraft.test=1", "-t", base, "-"], {
      input: `FROM ${BUSYBOX}\nRUN echo main > /made-on\n`,
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
      stdio: ["pipe", "ignore", "inherit"],
    });
    const text = ["t1", "t2"]
      .flatMap((target) => [`FROM ${base} AS ${target}`, `RUN cp /made-on /seen`])
      .join("\n");
    const project = makeProject({ Dockerfile: `${text}\n` });
    projects.push(project.remove);
    const engines = [
      "--engine",
      "main=unix:///var/run/docker.sock",
      "--engine",
      `p1=${pool1?.host ?? ""}`,
      "--registry",
      `${registry}/${PREFIX}`,
    ];
    const plan = async (...flags: string[]) => {
      const run = await runStagecraft([
        "plan",
        project.dir,
        "--target",
        "t1,t2",
        "--format",
        "json",
        "--no-pull",
        ...flags,
        ...engines,
      ]);
      const json = JSON.parse(run.stdout) as {
        engineChecks: {
          checks: { engine: string; rule: string; reference: string }[];
          engines: { name: string; builds: string[]; checks: { engine: string }[] }[];
        };
      };
      return { code: run.code, ...json.engineChecks };
    };
    // Pinned (the default with a registry): main's image travels to p1 by digest.
    const pinned = await plan();
    expect(pinned.code).toBe(0);
    expect(pinned.checks).toEqual([]);
    // Unpinned, p1 builds FROM an image it does not have, and nothing can be pulled.
    const unpinned = await plan("--no-pin-bases");
    expect(unpinned.code).toBe(2);
    const p1 = unpinned.engines.find((entry) => entry.name === "p1");
    expect(p1?.builds.length).toBeGreaterThan(0);
    expect(unpinned.checks.length).toBeGreaterThan(0);
    for (const check of unpinned.checks) {
      expect(check).toMatchObject({ engine: "p1", rule: "ImageNotInEngine", reference: base });
    }
    expect(unpinned.engines.find((entry) => entry.name === "main")?.checks).toEqual([]);

    // build asks the same before it sends anything: what every engine refuses stops it (exit 2).
    const hostOnly = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS t1\nRUN --network=host true\n`,
    });
    projects.push(hostOnly.remove);
    const build = await runStagecraft([
      "build",
      hostOnly.dir,
      "--target",
      "t1",
      "--progress",
      "plain",
      ...engines,
    ]);
    expect(build.code).toBe(2);
    expect(build.stderr).toMatch(/^error: Dockerfile:2: on (main|p1): RUN --network=host /m);
    expect(build.stderr).toContain("would refuse this build; nothing was sent");
  });

  it("a base whose registry no engine reaches: build names each engine and exits 2 before sending", async () => {
    const [pool1] = extra;
    // Port 1 on the loopback: the engines are refused at once ("connect: connection refused").
    const base = "127.0.0.1:1/stagecraft-unreachable:1";
    const project = makeProject({
      Dockerfile: ["t1", "t2"].flatMap((t) => [`FROM ${base} AS ${t}`, "RUN true"]).join("\n"),
    });
    projects.push(project.remove);
    const build = await runStagecraft([
      "build",
      project.dir,
      "--target",
      "t1,t2",
      "--progress",
      "plain",
      "--engine",
      "main=unix:///var/run/docker.sock",
      "--engine",
      `p1=${pool1?.host ?? ""}`,
      "--registry",
      `${registry}/${PREFIX}`,
    ]);
    expect(build.code).toBe(2);
    for (const name of ["main", "p1"]) {
      expect(build.stderr).toMatch(
        new RegExp(
          `^error: Dockerfile:\\d: on ${name}: FROM ${base} is not in the engine: the engine cannot reach its registry \\(127\\.0\\.0\\.1:1\\).*connection refused`,
          "m",
        ),
      );
    }
    expect(build.stderr).toContain("would refuse this build; nothing was sent");
  });
});

/** A proxy to an engine's socket that, once cut, drops every connection and stops listening. */
async function cuttableProxy(target: string): Promise<{ socket: string; cut: () => void }> {
  const socket = join(tmpdir(), `stagecraft-pool-${id}.sock`);
  const pairs: Socket[] = [];
  const server = createServer((client) => {
    const upstream = createConnection(target);
    pairs.push(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    cut: () => {
      server.close();
      rmSync(socket, { force: true });
      for (const end of pairs) end.destroy();
    },
  };
}

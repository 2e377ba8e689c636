import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeEngine } from "@stagecraft/core/testing";
import { runCli } from "../run-cli.js";
import { LOG_LEVELS } from "../create-logger.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A project directory with a Dockerfile; the Io's cwd is set to it. */
function project(dockerfile: string) {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-cli-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  return { ...createMemoryIo(), cwd: dir } as ReturnType<typeof createMemoryIo>;
}

const DEMO = [
  "FROM alpine AS base", // 1
  "RUN make deps", // 2
  "FROM base AS test", // 3
  "RUN make test", // 4
  "FROM base AS build", // 5
  "RUN make", // 6
  "FROM scratch AS app", // 7
  "COPY --from=build /out/app /app", // 8
  "FROM base AS docs", // 9
].join("\n");

describe("stagecraft plan", () => {
  it("prints the plan schema (and more) as JSON", async () => {
    // The real-world corpus runs through the same command in plan.conformance.test.ts.
    const io = project(
      [
        "ARG GO=1.22", // 1
        "FROM --platform=$BUILDPLATFORM golang:${GO} AS build", // 2
        "RUN go build -o /out/app .", // 3
        "FROM alpine", // 4
        "RUN make docs", // 5
        "FROM scratch", // 6
        "COPY --from=build /out/app /app", // 7
        "COPY --from=busybox:1.36 /bin/busybox /bin/", // 8
      ].join("\n"),
    );
    expect(await runCli(["plan", "--format", "json"], io)).toBe(0);
    const plan = JSON.parse(io.stdout.text()) as Record<string, unknown>;
    expect(plan.stages).toEqual([
      {
        index: 0,
        name: "build",
        id: "build",
        line: 2,
        from: "golang:${GO}",
        platform: "$BUILDPLATFORM",
        base: { image: "golang:1.22" },
        dependsOn: [],
        externalImages: ["golang:1.22"],
      },
      {
        index: 1,
        name: null,
        id: "stage-1",
        line: 4,
        from: "alpine",
        base: { image: "alpine" },
        dependsOn: [],
        externalImages: ["alpine"],
      },
      {
        index: 2,
        name: null,
        id: "stage-2",
        line: 6,
        from: "scratch",
        base: { scratch: true },
        dependsOn: ["build"],
        externalImages: ["busybox:1.36"],
      },
    ]);
    expect(plan.defaultTarget).toBe("stage-2");
    expect(plan.reachable).toEqual(["build", "stage-2"]);
  });

  it("plans several targets: shared stages, levels, images, unbuilt stages", async () => {
    const io = project(DEMO);
    expect(await runCli(["plan", "--target", "test,app", "--format", "json"], io)).toBe(0);
    const plan = JSON.parse(io.stdout.text()) as Record<string, unknown>;
    expect(plan).toMatchObject({
      targets: [
        { target: "test", reachable: ["base", "test"] },
        { target: "app", reachable: ["base", "build", "app"] },
      ],
      reachable: ["base", "test", "build", "app"],
      shared: ["base"],
      levels: [["base"], ["test", "build"], ["app"]],
      externalImages: ["alpine"],
      unreachable: ["docs"],
    });
    const textIo = project(DEMO);
    expect(await runCli(["plan", "--target", "test", "--target", "app"], textIo)).toBe(0);
    const text = textIo.stdout.text();
    expect(text).toContain("test  builds base, test");
    // Targets of different lengths: one column for what each builds.
    const wideIo = project(DEMO);
    expect(await runCli(["plan", "--target", "app,docs,test"], wideIo)).toBe(0);
    expect(wideIo.stdout.text()).toContain(
      "  app   builds base, build, app\n  docs  builds base, docs\n  test  builds base, test\n",
    );
    expect(text).toContain("not built: docs");
    expect(text).toContain("images: alpine");
  });

  it("exits 2 when a requested target will fail, and prints the plan that says why", async () => {
    const io = project(
      "FROM alpine AS early\nCOPY --from=late /x /x\nFROM alpine AS late\nFROM early\n",
    );
    expect(await runCli(["plan"], io)).toBe(2);
    expect(io.stdout.text()).toContain(
      'will fail: Dockerfile:2: cannot copy from stage "late", it needs to be defined before current stage "early"',
    );
    const fine = project(
      "FROM alpine AS early\nCOPY --from=late /x /x\nFROM alpine AS late\nFROM alpine AS app\n",
    );
    expect(await runCli(["plan", "--target", "app"], fine)).toBe(0);
  });

  it("checks the engine: missing images warn, and are errors (exit 2) with --no-pull", async () => {
    const text = "FROM alpine AS base\nCOPY --from=busybox:1.36 /bin/sh /\nFROM base AS app\n";
    const engine = new FakeEngine();
    engine.addImage(["alpine"]);
    const io = { ...project(text), engine };
    expect(await runCli(["plan", "--target", "app"], io)).toBe(0);
    expect(io.stdout.text()).toContain(
      "engine checks (fake://):\n  warning ImageNotInEngine  Dockerfile:2: COPY --from busybox:1.36 is not in the engine",
    );
    expect(io.stdout.text()).toContain(
      "    fix: docker pull busybox:1.36 where a registry is reachable",
    );
    const offline = { ...project(text), engine };
    expect(await runCli(["plan", "--no-pull", "--format", "json"], offline)).toBe(2);
    const json = JSON.parse(offline.stdout.text()) as { engineChecks: unknown };
    expect(json.engineChecks).toMatchObject({
      engine: "fake://",
      skipped: null,
      checks: [{ rule: "ImageNotInEngine", severity: "error", stage: "base", line: 2 }],
    });
    engine.addImage(["busybox:1.36"]);
    const ready = { ...project(text), engine };
    expect(await runCli(["plan", "--no-pull"], ready)).toBe(0);
    expect(ready.stdout.text()).toContain(
      "engine checks (fake://): the engine has what the build needs",
    );
  });

  it("exits 2 when a missing image's registry is out of the engine's reach, and --no-engine asks nothing", async () => {
    const text = "FROM alpine AS base\nCOPY --from=busybox:1.36 /bin/sh /\nFROM base AS app\n";
    const engine = new FakeEngine();
    engine.addImage(["alpine"]);
    engine.setRegistryAnswer("busybox:1.36", {
      kind: "unreachable",
      message:
        'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on …: no such host',
    });
    const io = { ...project(text), engine };
    expect(await runCli(["plan", "--target", "app"], io)).toBe(2);
    expect(io.stdout.text()).toContain(
      "  error ImageNotInEngine  Dockerfile:2: COPY --from busybox:1.36 is not in the engine: the engine cannot reach its registry (docker.io), so the build fails before any step runs: Get ",
    );
    expect(engine.distributionAsked).toEqual(["busybox:1.36"]);
    engine.distributionAsked.length = 0;
    expect(await runCli(["plan", "--no-engine"], { ...project(text), engine })).toBe(0);
    expect(engine.distributionAsked).toEqual([]);
  });

  it("refuses RUN --network=host unless planned with --network host; --no-engine asks nothing", async () => {
    const text = "FROM alpine\nRUN --network=host true\n";
    const engine = new FakeEngine();
    engine.addImage(["alpine"]);
    expect(await runCli(["plan"], { ...project(text), engine })).toBe(2);
    expect(await runCli(["plan", "--network", "host"], { ...project(text), engine })).toBe(0);
    const skipped = { ...project(text), engine };
    engine.inspected.length = 0;
    expect(await runCli(["plan", "--no-engine"], skipped)).toBe(0);
    expect(engine.inspected).toEqual([]);
    expect(engine.distributionAsked).toEqual([]);
    expect(skipped.stdout.text()).toContain("engine checks: skipped (--no-engine)");
  });

  it("plans offline when no engine answers, and says the checks were skipped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-cli-"));
    dirs.push(dir);
    const io = { ...project("FROM alpine\n"), engine: undefined };
    const env = { DOCKER_HOST: `unix://${join(dir, "no-engine.sock")}` };
    expect(await runCli(["plan"], { ...io, env })).toBe(0);
    expect(io.stdout.text()).toMatch(
      /engine checks: skipped \(no engine answered at .*no-engine\.sock/,
    );
  });

  it("says which stages exist when a target is mistyped, with the closest name", async () => {
    const io = project(DEMO);
    expect(await runCli(["plan", "--target", "tset"], io)).toBe(2);
    expect(io.stderr.text()).toBe(
      'stagecraft: target stage "tset" could not be found\n' +
        'hint: Did you mean "test"? --target takes a stage of this Dockerfile: base, test, build, app, docs.\n',
    );
  });

  it("reports a Dockerfile error as FILE:LINE:COL, and as a JSON error object", async () => {
    const io = project("FROM alpine\nRUNN make\n");
    expect(await runCli(["plan"], io)).toBe(2);
    expect(io.stderr.text()).toMatch(
      /^Dockerfile:2:1: dockerfile parse error on line 2: unknown instruction: RUNN/,
    );
    const json = project("FROM alpine\nRUNN make\n");
    expect(await runCli(["plan", "--format", "json"], json)).toBe(2);
    expect(JSON.parse(json.stdout.text())).toMatchObject({
      error: { code: "DOCKERFILE_UNKNOWN_INSTRUCTION", line: 2, file: "Dockerfile" },
    });
  });

  it("names a missing Dockerfile and says what to do", async () => {
    const io = project("FROM alpine\n");
    expect(await runCli(["plan", "-f", "nope/Dockerfile"], io)).toBe(2);
    expect(io.stderr.text()).toContain("cannot find the Dockerfile nope/Dockerfile");
    expect(io.stderr.text()).toContain("hint: Check the path given to -f");
  });

  it("names a build context that is a file or missing as such, not the files inside it", async () => {
    const cases: [string[], string][] = [
      [["build", "Dockerfile"], "build context Dockerfile is a file, not a directory"],
      // With -f the Dockerfile reads; .stagecraft/config.json inside the "context" did not.
      [["build", "Dockerfile", "-f", "Dockerfile"], "build context Dockerfile is a file"],
      [["plan", "Dockerfile"], "build context Dockerfile is a file, not a directory"],
      [["check", "nope"], "build context nope does not exist"],
      [["build", "nope", "-f", "Dockerfile"], "build context nope does not exist"],
    ];
    for (const [argv, message] of cases) {
      const io = project("FROM alpine\n");
      expect(await runCli(argv, io), argv.join(" ")).toBe(2);
      expect(io.stderr.text(), argv.join(" ")).toContain(`stagecraft: ${message}`);
      expect(io.stderr.text(), argv.join(" ")).toContain("hint: Pass the directory that holds");
    }
  });

  it("rejects unknown options with a pointer to --help", async () => {
    const io = project(DEMO);
    expect(await runCli(["plan", "--tagret", "x"], io)).toBe(2);
    expect(io.stderr.text()).toContain("Unknown option '--tagret'");
    expect(io.stderr.text()).toContain("hint: Run `stagecraft plan --help` for the options.");
  });
});

describe("stagecraft graph", () => {
  it("draws targets, unbuilt stages, images and edge kinds in mermaid", async () => {
    const io = project(`${DEMO}\nFROM alpine AS tools\nRUN --mount=from=build,target=/b ls /b\n`);
    expect(await runCli(["graph", "--target", "app"], io)).toBe(0);
    const mermaid = io.stdout.text();
    expect(mermaid).toMatchInlineSnapshot(`
      "flowchart LR
        n0["base :1"]
        n1["test :3"]
        n2["build :5"]
        n3[["app :7"]]
        n4["docs :9"]
        n5["tools :10"]
        n6[("alpine")]
        n6 --> n0
        n0 --> n1
        n0 --> n2
        n2 -. COPY --from .-> n3
        n0 --> n4
        n2 -. mount .-> n5
        n6 --> n5
        classDef target stroke-width:3px;
        classDef unreachable fill:#eee,stroke:#bbb,color:#999;
        classDef image fill:#eef6ff,stroke:#6aa0d8;
        class n3 target;
        class n6 image;
        class n1,n4,n5 unreachable;
      "
    `);
  });

  it("writes dot and json", async () => {
    const dot = project(DEMO);
    expect(await runCli(["graph", "--format", "dot"], dot)).toBe(0);
    expect(dot.stdout.text()).toContain(
      '"stage:build#2" -> "stage:app#3" [style=dashed, label="COPY --from"];',
    );
    const json = project(DEMO);
    expect(await runCli(["graph", "--format", "json"], json)).toBe(0);
    const graph = JSON.parse(json.stdout.text()) as {
      nodes: { label: string; target: boolean; reachable: boolean }[];
    };
    expect(graph.nodes.find((node) => node.label === "docs")).toMatchObject({
      target: true,
      reachable: true,
    });
    expect(graph.nodes.find((node) => node.label === "base")).toMatchObject({
      target: false,
      reachable: true,
    });
    expect(graph.nodes.find((node) => node.label === "test")).toMatchObject({
      target: false,
      reachable: false,
    });
  });
});

describe("stagecraft build (before the engine is reached)", () => {
  it("asks which target a tag is for when several are built", async () => {
    const io = project(DEMO);
    expect(await runCli(["build", "--target", "test,app", "-t", "me/app:1"], io)).toBe(2);
    expect(io.stderr.text()).toContain("-t me/app:1: with several targets, say which one it tags");
    expect(io.stderr.text()).toContain("hint: Write -t TARGET=me/app:1");
  });

  it("rejects a tag for a target that is not being built", async () => {
    const io = project(DEMO);
    expect(await runCli(["build", "--target", "test,app", "-t", "docs=me/docs:1"], io)).toBe(2);
    expect(io.stderr.text()).toContain('"docs" is not one of the targets being built');
  });

  it("validates --network, --add-host, --concurrency and --build-arg", async () => {
    const cases: [string[], string][] = [
      [["--network", "bridge"], "--network must be one of default, host, none"],
      [["--add-host", "nocolon"], '--add-host "nocolon" is not HOST:IP'],
      [["--concurrency", "0"], "--concurrency must be a positive whole number"],
      [["--build-arg", "=x"], '--build-arg "=x" has no name before "="'],
      [["--progress", "fancy"], "--progress must be one of auto, tty, plain, json, quiet"],
      [["--size-budget", "app"], '--size-budget "app" is not TARGET=SIZE'],
      [["--size-budget", "app=12 bananas"], '--size-budget "app=12 bananas" is not TARGET=SIZE'],
      [["--size-budget", "app=0MB"], '--size-budget "app=0MB" is not TARGET=SIZE'],
      [["--size-budget", "test=5MB"], '--size-budget test=…: "test" is not one of the targets'],
    ];
    for (const [args, message] of cases) {
      const io = project(DEMO);
      expect(await runCli(["build", ...args], io), args.join(" ")).toBe(2);
      expect(io.stderr.text()).toContain(message);
    }
  });

  it("refuses a Dockerfile with no stage before sending it (Docker 26.1's daemon panics on one)", async () => {
    const io = project("ARG VERSION=1\n");
    expect(await runCli(["build"], io)).toBe(2);
    expect(io.stderr.text()).toMatch(/^Dockerfile:\d+:\d+: dockerfile contains no stages to build/);
  });

  it("prints help that names every option", async () => {
    const io = project(DEMO);
    expect(await runCli(["build", "--help"], io)).toBe(0);
    for (const option of [
      "--target",
      "--tag",
      "--build-arg",
      "--label",
      "--platform",
      "--no-cache",
      "--pull",
      "--network",
      "--add-host",
      "--cache-from",
      "--concurrency",
      "--keep-going",
      "--progress",
      "--report",
      "--metadata-file",
      "--size-budget",
    ]) {
      expect(io.stdout.text()).toContain(option);
    }
  });
});

describe("--help", () => {
  // bake picks its progress mode with chooseProgressMode too: github under GitHub Actions.
  it("says every --log-level value the parser takes, and where --progress auto goes", async () => {
    for (const command of ["build", "bake"]) {
      const io = project(DEMO);
      expect(await runCli([command, "--help"], io)).toBe(0);
      const help = io.stdout.text().replace(/\s+/g, " ");
      const levels = /--log-level LEVEL (.*?)--log-file/.exec(help)?.[1] ?? "";
      for (const level of LOG_LEVELS) expect(levels, `${command}: ${level}`).toContain(level);
      expect(help, command).toContain("github under GitHub Actions");
    }
  });
});

describe("Dockerfile errors", () => {
  it("never echo the file's control bytes (an OSC title, a clear-screen) to the terminal", async () => {
    const io = project("FROM scratch\nCOPY --chown=\u001b]0;pwned\u0007 a b\nRUN\u001b[2J\n");
    expect(await runCli(["plan"], io)).toBe(2);
    const stderr = io.stderr.text();
    expect(stderr).toContain("Dockerfile:3:1: dockerfile parse error on line 3");
    const controls: number[] = [];
    for (let index = 0; index < stderr.length; index++) {
      const code = stderr.charCodeAt(index);
      if ((code < 0x20 && code !== 0x0a) || code === 0x7f) controls.push(code);
    }
    expect(controls).toEqual([]);
  });
});

describe("stagecraft", () => {
  it("lists the commands, and exits 2 on an unknown one", async () => {
    const io = createMemoryIo();
    expect(await runCli(["frobnicate"], io)).toBe(2);
    expect(io.stderr.text()).toContain('unknown command "frobnicate"');
    const help = createMemoryIo();
    expect(await runCli(["--help"], help)).toBe(0);
    expect(help.stdout.text()).toContain("build [CONTEXT]");
    expect(help.stdout.text()).toContain("graph [CONTEXT]");
    // One column for the commands, one for what they do.
    const rows = help.stdout
      .text()
      .split("\n")
      .filter((line) => /^ {2}[a-z]+ /.test(line));
    expect(rows).toHaveLength(7);
    for (const row of rows) expect(row.search(/ {2}[a-z]+ [a-z]/), row).toBe(23);
  });
});

describe("stage-name typos", () => {
  it("warns when a --from looks like a misspelt stage (BuildKit would pull it as an image)", async () => {
    const io = project(
      "FROM alpine AS builder\nRUN make\nFROM alpine\nCOPY --from=buidler /out /out\n",
    );
    expect(await runCli(["plan"], io)).toBe(0);
    expect(io.stdout.text()).toContain(
      'Dockerfile:4: COPY --from=buidler names no stage, so BuildKit will pull it as an image; did you mean "builder"?',
    );
  });
});

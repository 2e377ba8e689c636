import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { runCli } from "../run-cli.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A project directory with a Dockerfile (and more files); the Io's cwd is set to it. */
function project(
  dockerfile: string,
  files: Record<string, string> = {},
  env: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-check-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  // No engine in unit tests: a socket that does not exist answers at once.
  const io = createMemoryIo({
    env: { DOCKER_HOST: `unix://${join(dir, "no-engine.sock")}`, ...env },
  });
  return { ...io, cwd: dir } as typeof io;
}

const BAD = [
  "FROM alpine:3.22 AS build", // 1
  "RUN apk add --no-cache gcc musl-dev", // 2
  "FROM alpine:3.22 AS app", // 3
  "ARG API_TOKEN", // 4
  "COPY --from=build / /", // 5
  "CMD run", // 6
].join("\n");

describe("stagecraft check", () => {
  it("prints compiler-style findings, the summary, and exits 0 when only warnings", async () => {
    const io = project(BAD);
    expect(await runCli(["check"], io)).toBe(0);
    const lines = io.stdout.text().trimEnd().split("\n");
    expect(lines).toContain(
      'Dockerfile:4:1: warning SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "API_TOKEN") (fix: Pass the secret with RUN --mount=type=secret,id=… (and build --secret id=…); ARG and ENV values stay in the image.)',
    );
    expect(lines.filter((line) => line.includes(" ShippedBuildTools: "))).toHaveLength(1);
    expect(lines.at(-1)).toBe(
      "Dockerfile: 0 errors, 3 warnings, 1 note; ships app, builds build, app",
    );
    expect(io.stderr.text()).toContain(
      "note: base images not inspected (no engine answered at unix://",
    );
  });

  it("exits 1 on an error-level finding, and on a warning with --fail-on warning; never with --fail-on never", async () => {
    const secret = `FROM scratch\nUSER 1000\nENV GITHUB_TOKEN=ghp_${"x1Y2".repeat(9)}\n`;
    expect(await runCli(["check"], project(secret))).toBe(1);
    expect(await runCli(["check", "--fail-on", "never"], project(secret))).toBe(0);
    expect(await runCli(["check", "--fail-on", "warning"], project(BAD))).toBe(1);
    expect(
      await runCli(["check", "--fail-on", "warning"], project("FROM scratch\nUSER 1000\n")),
    ).toBe(0);
    const io = project(BAD);
    expect(await runCli(["check", "--fail-on", "sometimes"], io)).toBe(2);
    expect(io.stderr.text()).toContain("--fail-on must be one of error, warning, never");
  });

  it("names a few of many stages UndefinedVar did not check in text; JSON lists them all", async () => {
    const dockerfile = Array.from({ length: 30 }, (_, i) => `FROM alpine:3.22 AS s${i}\n`).join("");
    const io = project(dockerfile);
    expect(await runCli(["check", "--offline"], io)).toBe(0);
    expect(io.stderr.text()).toContain(
      "note: UndefinedVar not checked in 30 stages (s0, s1, s2, ...): the environment of their base image is unknown\n",
    );
    const json = project(dockerfile);
    expect(await runCli(["check", "--offline", "--format", "json"], json)).toBe(0);
    const report = JSON.parse(json.stdout.text()) as { unknownEnvStages: string[] };
    expect(report.unknownEnvStages).toEqual(Array.from({ length: 30 }, (_, i) => `s${i}`));
  });

  it("honours # check=error=true and skip=", async () => {
    expect(await runCli(["check"], project(`# check=error=true\n${BAD}`))).toBe(1);
    const io = project(`# check=skip=all\n${BAD}`);
    expect(await runCli(["check"], io)).toBe(0);
    expect(io.stdout.text()).toBe("Dockerfile: no findings; ships app, builds build, app\n");
  });

  it("checks only what the requested targets build and ship", async () => {
    const io = project(BAD);
    expect(await runCli(["check", "--target", "build", "--format", "json"], io)).toBe(0);
    const report = JSON.parse(io.stdout.text()) as {
      shippedStages: string[];
      findings: { rule: string }[];
    };
    expect(report.shippedStages).toEqual(["build"]);
    expect(report.findings.map((finding) => finding.rule)).toEqual([
      "StageRootUser",
      "ShippedBuildTools",
    ]);
  });

  it("reports the context's heavy directories without a .dockerignore", async () => {
    const io = project("FROM scratch\nUSER 1\nCOPY . /app\n", {
      ".git/HEAD": "ref: refs/heads/main\n",
      "src/main.c": "",
    });
    expect(await runCli(["check", "--format", "json"], io)).toBe(0);
    const report = JSON.parse(io.stdout.text()) as {
      findings: { rule: string; message: string; line: number }[];
    };
    expect(report.findings).toEqual([
      expect.objectContaining({
        rule: "ContextNotIgnored",
        line: 3,
        message:
          'the build context holds .git (version control, 21 B, 1 file) and there is no .dockerignore; COPY . at line 3 copies it into stage "stage-0"',
      }),
    ]);
    const ignored = project("FROM scratch\nUSER 1\nCOPY . /app\n", {
      ".git/HEAD": "x",
      ".dockerignore": ".git\n",
    });
    expect(await runCli(["check", "--format", "json"], ignored)).toBe(0);
    expect((JSON.parse(ignored.stdout.text()) as { findings: unknown[] }).findings).toEqual([]);
  });

  it("writes SARIF 2.1.0 with the rules and located results", async () => {
    const io = project(BAD);
    await runCli(["check", "--format", "sarif"], io);
    const sarif = JSON.parse(io.stdout.text()) as {
      version: string;
      runs: {
        tool: {
          driver: {
            name: string;
            rules: {
              id: string;
              help: { text: string };
              defaultConfiguration: { level: string };
            }[];
          };
        };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    expect(sarif.version).toBe("2.1.0");
    const [run] = sarif.runs;
    expect(run?.tool.driver.name).toBe("stagecraft");
    const rules = run?.tool.driver.rules ?? [];
    expect(rules.find((rule) => rule.id === "StageRootUser")?.help.text).toContain("USER");
    const secret = run?.results.find((result) => result.ruleId === "SecretsUsedInArgOrEnv");
    expect(secret).toMatchObject({
      level: "warning",
      locations: [
        { physicalLocation: { artifactLocation: { uri: "Dockerfile" }, region: { startLine: 4 } } },
      ],
    });
    expect(rules[secret?.ruleIndex ?? -1]?.id).toBe("SecretsUsedInArgOrEnv");
    expect(run?.results.some((result) => result.level === "note")).toBe(true);
  });

  it("prints GitHub annotations under GitHub Actions", async () => {
    const io = project(BAD, {}, { GITHUB_ACTIONS: "true" });
    await runCli(["check"], io);
    expect(io.stdout.text()).toContain(
      '::warning file=Dockerfile,line=4,col=1,endLine=4,title=SecretsUsedInArgOrEnv::Do not use ARG or ENV instructions for sensitive data (ARG "API_TOKEN")',
    );
    expect(io.stdout.text()).toMatch(/^::notice file=Dockerfile,line=3,.*title=StageRootUser::/m);
  });

  it("exits 2 on a Dockerfile error or a bad # check= directive, naming the line", async () => {
    const io = project("FROM alpine\nRUNN make\n");
    expect(await runCli(["check"], io)).toBe(2);
    expect(io.stderr.text()).toMatch(
      /^Dockerfile:2:1: dockerfile parse error on line 2: unknown instruction: RUNN/,
    );
    const directive = project("# check=skip\nFROM scratch\n");
    expect(await runCli(["check", "--format", "json"], directive)).toBe(2);
    expect(JSON.parse(directive.stdout.text())).toMatchObject({
      error: {
        message: 'failed to parse check options: invalid check option "skip"',
        line: 1,
        file: "Dockerfile",
      },
    });
  });

  it("lists the rules and shows its help; the CLI's help names it", async () => {
    const io = project(BAD);
    expect(await runCli(["check", "--list-rules"], io)).toBe(0);
    expect(io.stdout.text()).toMatch(
      /^UndefinedVar\s+buildkit\s+warning\s+Variables should be defined/m,
    );
    expect(io.stdout.text()).toMatch(/^StageRootUser\s+stagecraft/m);
    const help = project(BAD);
    expect(await runCli(["--help"], help)).toBe(0);
    expect(help.stdout.text()).toContain("check [CONTEXT]");
  });
});

describe("stagecraft build --check", () => {
  it("stops before anything is sent when the checks fail", async () => {
    const io = project(`FROM scratch\nUSER 1\nENV GITHUB_TOKEN=ghp_${"x1Y2".repeat(9)}\n`);
    expect(await runCli(["build", "--check"], io)).toBe(1);
    expect(io.stderr.text()).toContain("error SecretValueInArgOrEnv");
    expect(io.stderr.text()).toContain("stagecraft: --check found errors; nothing was built");
  });

  it("refuses --fail-on without --check", async () => {
    const io = project("FROM scratch\n");
    expect(await runCli(["build", "--fail-on", "warning"], io)).toBe(2);
    expect(io.stderr.text()).toContain("--fail-on works with --check");
  });

  it("goes on to the build when they pass (here: to the missing engine)", async () => {
    const io = project("FROM scratch\nUSER 1\nCOPY Dockerfile /\n");
    const code = await runCli(["build", "--check", "--progress", "plain"], io);
    expect(io.stderr.text()).toContain("Dockerfile: no findings");
    expect(io.stderr.text()).not.toContain("nothing was built");
    expect(code).toBe(1);
    expect(io.stderr.text()).toMatch(/cannot|unreachable|no engine|ENOENT|connect/i);
  });
});

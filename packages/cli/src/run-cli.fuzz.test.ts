// A bad-input fuzz of the command line: random sets of valid flags around one invalid flag or value
// for build, plan, check and bake. Each must exit 2, name the flag on stderr and never reach the
// engine: DOCKER_HOST points at a socket of this test that records every connection.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io, Output } from "./io.js";
import { runCli } from "./run-cli.js";

const DOCKERFILE = [
  "FROM scratch AS base",
  "COPY Dockerfile /",
  "FROM base AS app",
  "COPY Dockerfile /app",
  "FROM base AS test",
  "COPY Dockerfile /test",
  "",
].join("\n");
const BAKE_FILE = JSON.stringify({
  group: { default: { targets: ["app"] } },
  target: { app: { context: ".", target: "app" }, test: { context: ".", target: "test" } },
});

let dir = "";
let server: Server;
const connections: Socket[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "stagecraft-fuzz-"));
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  writeFileSync(join(dir, "docker-bake.json"), BAKE_FILE);
  server = createServer((socket) => {
    connections.push(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(join(dir, "engine.sock"), resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function output(): Output & { text: string } {
  return {
    isTTY: false,
    text: "",
    write(text) {
      this.text += text;
    },
  };
}

async function run(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const stdout = output();
  const stderr = output();
  const io: Io = {
    stdout,
    stderr,
    cwd: dir,
    signal: new AbortController().signal,
    env: {
      DOCKER_HOST: `unix://${join(dir, "engine.sock")}`,
      HOME: dir,
      DOCKER_CONFIG: dir,
      PATH: process.env.PATH,
    },
  };
  const code = await runCli(argv, io);
  return { code, stderr: stderr.text, stdout: stdout.text };
}

/** One invalid flag: the arguments, and the flag the message must name. */
interface Bad {
  args: string[];
  names: string;
}

const bad = (names: string, values: readonly string[], flag = names): fc.Arbitrary<Bad> =>
  fc.constantFrom(...values).map((value) => ({ args: [flag, value], names }));

/** Text that is not one of `choices`. */
const notOneOf = (choices: readonly string[]): fc.Arbitrary<string> =>
  fc.string({ minLength: 0, maxLength: 8 }).filter((text) => !choices.includes(text));

const notPositive = fc.oneof(
  fc.constantFrom("0", "-1", "1.5", "abc", "", "1e", " ", "0x"),
  fc.integer({ max: 0 }).map(String),
);
const notDuration = fc.constantFrom("abc", "0", "-5s", "", "5x", "1h-", "s");

const missingValue = (flag: string): fc.Arbitrary<Bad> =>
  fc.constant({ args: [flag], names: flag });
const unknownFlag: fc.Arbitrary<Bad> = fc
  .stringMatching(/^[a-z][a-z-]{2,12}$/)
  .map((name) => ({ args: [`--zz-${name}`], names: `--zz-${name}` }));

const BUILD_BAD: fc.Arbitrary<Bad>[] = [
  notPositive.map((value) => ({ args: ["--concurrency", value], names: "--concurrency" })),
  notOneOf(["auto", "tty", "plain", "json", "quiet"]).map((value) => ({
    args: ["--progress", value],
    names: "--progress",
  })),
  notOneOf(["default", "host", "none"]).map((value) => ({
    args: ["--network", value],
    names: "--network",
  })),
  notOneOf(["auto", "tar", "session"]).map((value) => ({
    args: ["--context-transfer", value],
    names: "--context-transfer",
  })),
  notDuration.map((value) => ({ args: ["--timeout", value], names: "--timeout" })),
  notDuration.map((value) => ({ args: ["--stall-notice", value], names: "--stall-notice" })),
  bad("--size-budget", ["app", "=5MB", "app=abc", "app=0", "nope=5MB"]),
  bad("-t", ["App:1", "a b", "", "app=", "app=UPPER", "x:1@sha256:abc", "nope=x:1"]),
  bad("--add-host", ["nohost", "a b:1", ":1"]),
  bad("--build-context", ["noequals", "=x", "a="]),
  bad("--label", ["=x", "novalue"]),
  bad("--build-arg", ["=x"]),
  bad("--cache-from", ["type=bogus", "type=local", "type=registry"]),
  bad("--cache-to", ["type=bogus", "type=local", "type=registry"]),
  bad("--output", ["type=bogus,dest=x", "type=tar", "type=tar,dest=-", "type=local"]),
  bad("--report", ["/proc/x", "/nonexistent/dir/r.json", "."]),
  bad("--metadata-file", ["/proc/x", "/nonexistent/dir/m.json", "."]),
  notOneOf(["error", "warn", "info", "debug"]).map((value) => ({
    args: ["--log-level", value],
    names: "--log-level",
  })),
  bad("--engine", ["noequals", "a=", "=unix:///x"]),
  bad("--target", ["nope", "app,nope"]),
  bad("--platform", ["nope", "linux/amd64/v9/x", "linux/", "/amd64"]),
  bad("--build-context", ["lib=/nonexistent", "lib=Dockerfile"]),
  bad("--log-file", ["/proc/x"]),
  bad("--secret", ["id=", "bogus", "id=x,src=/nonexistent", "src=x"]),
  bad("--ssh", ["x=/nonexistent.sock", "=x"]),
  bad("--engines-file", ["/nonexistent"]),
  bad("--registry", ["::bad", "UPPER/x"]),
  bad("-f", ["nope/Dockerfile"]),
  fc.constant({ args: ["--fail-on", "warning"], names: "--fail-on" }),
  missingValue("--concurrency"),
  missingValue("--target"),
  unknownFlag,
];

/** Flags that are valid on their own and together. */
const BUILD_GOOD: fc.Arbitrary<string[]>[] = [
  fc.constant(["--no-cache"]),
  fc.constant(["--pull"]),
  fc.constant(["--keep-going"]),
  fc.constantFrom("plain", "quiet", "json").map((mode) => ["--progress", mode]),
  fc.integer({ min: 1, max: 8 }).map((n) => ["--concurrency", String(n)]),
  fc.constantFrom("host", "none", "default").map((mode) => ["--network", mode]),
  fc.constant(["--label", "org.example=1"]),
  fc.constant(["--build-arg", "X=1"]),
  fc.constant(["--timeout", "90s"]),
  fc.constant(["--platform", "linux/amd64"]),
  fc.constant(["--context-transfer", "tar"]),
];

const PLAN_BAD: fc.Arbitrary<Bad>[] = [
  notOneOf(["text", "json"]).map((value) => ({ args: ["--format", value], names: "--format" })),
  bad("--target", ["nope", "app,nope"]),
  bad("--build-arg", ["=x"]),
  bad("--engine", ["noequals", "a="]),
  missingValue("--format"),
  unknownFlag,
];
const CHECK_BAD: fc.Arbitrary<Bad>[] = [
  notOneOf(["text", "json", "sarif", "github"]).map((value) => ({
    args: ["--format", value],
    names: "--format",
  })),
  notOneOf(["error", "warning", "never"]).map((value) => ({
    args: ["--fail-on", value],
    names: "--fail-on",
  })),
  bad("--target", ["nope"]),
  missingValue("--fail-on"),
  unknownFlag,
];
const FRONT_END_GOOD: fc.Arbitrary<string[]>[] = [
  fc.constant(["--build-arg", "X=1"]),
  fc.constantFrom("app", "test").map((target) => ["--target", target]),
  fc.constant(["--platform", "linux/amd64"]),
];
const BAKE_BAD: fc.Arbitrary<Bad>[] = [
  notPositive.map((value) => ({ args: ["--concurrency", value], names: "--concurrency" })),
  notOneOf(["plain", "quiet", "json"]).map((value) => ({
    args: ["--progress", value],
    names: "--progress",
  })),
  bad("--report", ["/proc/x", "/nonexistent/dir/r.json"]),
  bad("--metadata-file", ["/proc/x", "/nonexistent/dir/m.json"]),
  notOneOf(["error", "warn", "info", "debug"]).map((value) => ({
    args: ["--log-level", value],
    names: "--log-level",
  })),
  bad("--log-file", ["/proc/x"]),
  missingValue("--concurrency"),
  unknownFlag,
];
const BAKE_GOOD: fc.Arbitrary<string[]>[] = [
  fc.constant(["--no-cache"]),
  fc.constant(["--pull"]),
  fc.constant(["--keep-going"]),
  fc.constant(["--print"]),
  fc.constantFrom("app", "test").map((target) => [target]),
];

/** Some valid flags, in random order, with the bad one at a random place (last when it lacks a value). */
function commandLine(
  command: string,
  good: readonly fc.Arbitrary<string[]>[],
  bads: readonly fc.Arbitrary<Bad>[],
): fc.Arbitrary<{ argv: string[]; names: string }> {
  return fc
    .tuple(
      fc.subarray([...good]).chain((chosen) => fc.tuple(...chosen.map((one) => one))),
      fc.oneof(...bads),
      fc.nat(),
    )
    .map(([chosen, wrong, at]) => {
      // The last value of a flag wins (as with docker): a valid one after the bad one would hide it.
      const goods = chosen.filter((flag) => flag[0] !== wrong.args[0]);
      const argv = goods.flat();
      // A flag without its value must come last, or it would take the next argument as its value.
      const place = wrong.args.length === 1 && !wrong.names.startsWith("--zz-") ? argv.length : at;
      const index = Math.min(place, goods.length);
      const before = goods.slice(0, index).flat();
      const after = goods.slice(index).flat();
      return { argv: [command, ...before, ...wrong.args, ...after], names: wrong.names };
    });
}

async function expectRefused(argv: string[], names: string): Promise<void> {
  const before = connections.length;
  const result = await run(argv);
  const shown = JSON.stringify(argv);
  expect(result.code, `${shown}\n${result.stderr}`).toBe(2);
  expect(result.stderr, shown).toContain(names);
  expect(result.stderr, shown).not.toContain("this is a bug");
  expect(connections.length - before, `${shown} reached the engine`).toBe(0);
}

describe("bad input on the command line", () => {
  it("a valid command line does reach the recording engine (the check below can fail)", async () => {
    const before = connections.length;
    const result = await run(["build", "--progress", "quiet"]);
    expect(result.code).toBe(1);
    expect(connections.length).toBeGreaterThan(before);
  });

  it("build: exit 2, the flag named, no request to the engine", async () => {
    await fc.assert(
      fc.asyncProperty(commandLine("build", BUILD_GOOD, BUILD_BAD), async ({ argv, names }) => {
        await expectRefused(argv, names);
      }),
      { numRuns: 300 },
    );
  });

  it("plan and check: exit 2, the flag named, no request to the engine", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          commandLine("plan", FRONT_END_GOOD, PLAN_BAD),
          commandLine("check", FRONT_END_GOOD, CHECK_BAD),
        ),
        async ({ argv, names }) => {
          await expectRefused(argv, names);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("bake: exit 2, the flag named, no request to the engine (with --print too)", async () => {
    await fc.assert(
      fc.asyncProperty(commandLine("bake", BAKE_GOOD, BAKE_BAD), async ({ argv, names }) => {
        await expectRefused(argv, names);
      }),
      { numRuns: 150 },
    );
  });
});

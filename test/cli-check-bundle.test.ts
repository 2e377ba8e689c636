import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "./support/cli.js";
import { BUSYBOX, makeProject } from "./support/engine.js";

// `stagecraft check` runs a bundle of its own (stagecraft-check.cjs, see scripts/bundle.mjs); the
// main bundle, which every other command runs, holds the same check. These hold the two to the same
// output, and the check bundle to what it is for: no network code unless it asks the engine.
const bin = dirname(CLI);
const projects: { remove: () => void }[] = [];
afterAll(() => {
  for (const project of projects) project.remove();
});

function project(files: Record<string, string>): string {
  const made = makeProject(files);
  projects.push(made);
  return made.dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const env = { ...process.env, NO_COLOR: "1", GITHUB_ACTIONS: "" };

/** `stagecraft ARGS` through the bin, as users run it. */
function runBin(args: readonly string[]): Run {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `stagecraft ARGS` run by the main bundle, as the launcher runs it for the other commands. */
function runMainBundle(args: readonly string[]): Run {
  const bundle = join(bin, "stagecraft-bundle.cjs");
  const script = `
    const { createRequire, wrap } = require("node:module");
    const { readFileSync } = require("node:fs");
    const { Script } = require("node:vm");
    const file = ${JSON.stringify(bundle)};
    const run = new Script(wrap(readFileSync(file, "latin1")), { filename: file }).runInThisContext();
    const bundleModule = { exports: {} };
    run(bundleModule.exports, createRequire(file), bundleModule, file, ${JSON.stringify(bin)});
  `;
  // process.argv as the bin has it: [node, script, ...args].
  const run = spawnSync(process.execPath, ["-e", script, bundle, ...args], {
    encoding: "utf8",
    env,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A multi-stage Dockerfile with something for most rules to find, `stages` stages long. */
function manyStages(stages: number): string {
  const lines = ["ARG BASE=alpine:3.22", `FROM ${BUSYBOX} AS stage0`, "RUN echo $HOME"];
  for (let i = 1; i < stages; i++) {
    lines.push(
      `FROM ${i % 3 === 0 ? "$BASE" : `stage${i - 1}`} as stage${i}`,
      `ARG API_TOKEN_${i}`,
      `ENV NPM_TOKEN=npm_${"aB3d".repeat(9)}`,
      "COPY . /src",
      "RUN npm ci && apk add gcc",
      `COPY --from=stage${Math.max(0, i - 2)} / /`,
      "RUN --mount=type=cache,target=/root/.npm npm run build",
      "CMD echo done",
      "CMD echo really",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Node's own modules a process loaded, by name (`process.moduleLoadList`). */
function loadedModules(args: readonly string[]): string[] {
  const dir = project({});
  const list = join(dir, "modules.txt");
  const hook = join(dir, "hook.cjs");
  writeFileSync(
    hook,
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")));\n`,
  );
  // Output to a file: Node makes a pipe on stdout a net.Socket, whatever the process runs.
  const output = openSync(join(dir, "output.txt"), "w");
  try {
    spawnSync(process.execPath, ["-r", hook, CLI, ...args], {
      env,
      stdio: ["ignore", output, output],
    });
  } finally {
    closeSync(output);
  }
  return readFileSync(list, "utf8")
    .split("\n")
    .flatMap((line) =>
      line.startsWith("NativeModule ") ? [line.slice("NativeModule ".length)] : [],
    );
}

const NETWORK = ["http", "https", "net", "tls", "_http_client", "crypto", "zlib", "child_process"];

describe("the check bundle", () => {
  it("prints what the main bundle prints, exit code included", () => {
    const big = project({ Dockerfile: manyStages(60), "package.json": "{}\n" });
    const small = project({
      Dockerfile: `FROM ${BUSYBOX} AS build\nRUN echo hi > /out\nFROM ${BUSYBOX}\nCOPY --from=build / /\n`,
    });
    const broken = project({ Dockerfile: "FROM scratch\nCOPY --chmod=x a b\nFROBNICATE\n" });
    const cases: string[][] = [
      ["check", big],
      ["check", big, "--offline"],
      ["check", big, "--format", "json", "--target", "stage40,stage7"],
      ["check", big, "--format", "sarif", "--fail-on", "warning"],
      ["check", small],
      ["check", small, "--format", "json"],
      ["check", join(small, "..", "none-such")],
      ["check", broken],
      ["check", small, "--fail-on", "often"],
      ["check", small, "--target", "nope"],
      ["check", small, "--list-rules"],
    ];
    for (const args of cases) {
      const fromCheck = runBin(args);
      expect({ args, ...fromCheck }).toEqual({ args, ...runMainBundle(args) });
    }
    // The cases are not all alike: findings, failures and usage errors.
    expect(cases.map((args) => runBin(args).code)).toEqual([1, 1, 1, 1, 0, 0, 2, 2, 2, 2, 0]);
  });

  it("loads no network code for check --offline, and what the engine needs when it asks it", () => {
    const dir = project({ Dockerfile: manyStages(4) });
    const offline = loadedModules(["check", dir, "--offline"]);
    expect(offline).toContain("fs");
    expect(offline.filter((name) => NETWORK.includes(name))).toEqual([]);
    expect(loadedModules(["check", dir])).toEqual(expect.arrayContaining(["http", "net"]));
  });
});

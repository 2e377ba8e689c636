// .ci/setup, which `npm run demo` and `npm run check` start with: a re-run with nothing changed skips
// the install and the build (so the demo's cached re-run stays under a second), and a change to
// what either reads redoes it. Run on a copy of the script in a scratch tree whose pnpm and docker
// scripts only log what they were asked, so the test measures the script's decisions, not pnpm's.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const repository = join(import.meta.dirname, "..");
const root = mkdtempSync(join(tmpdir(), "stagecraft-setup-"));
const log = join(root, "calls.log");

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(path: string, text: string, mode?: number): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
  if (mode !== undefined) chmodSync(join(root, path), mode);
}

const pnpmVersion = (
  JSON.parse(readFileSync(join(repository, "package.json"), "utf8")) as { packageManager: string }
).packageManager.split("@")[1];

// The scratch project: the script itself, the files it reads, and stand-ins that log their calls.
mkdirSync(join(root, "tree", ".ci"), { recursive: true });
copyFileSync(join(repository, ".ci", "setup"), join(root, "tree", ".ci", "setup"));
write("tree/package.json", JSON.stringify({ packageManager: `pnpm@${pnpmVersion}` }));
write("tree/pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
write("tree/pnpm-workspace.yaml", "packages: [packages/*]\n");
write("tree/tsconfig.base.json", "{}\n");
for (const name of ["core", "cli"]) {
  write(`tree/packages/${name}/package.json`, "{}\n");
  write(`tree/packages/${name}/tsconfig.json`, "{}\n");
  write(`tree/packages/${name}/src/index.ts`, "export {};\n");
}
write("tree/packages/cli/scripts/bundle.mjs", "\n");
write("tree/docker/ensure-engine.sh", `echo ensure-engine >> "${log}"\n`);
write("tree/docker/seed-images.sh", `echo "seed-images $*" >> "${log}"\n`);
// A pnpm whose version is read from the package.json beside it, as npm installs it.
write("bin/lib/pnpm/package.json", JSON.stringify({ version: pnpmVersion }, null, 2));
write(
  "bin/lib/pnpm/bin/pnpm",
  `#!/bin/sh\necho "pnpm $*" >> "${log}"\n` +
    `[ "$1" = install ] && mkdir -p node_modules\n` +
    `[ "$3" = build ] && mkdir -p packages/cli/dist\nexit 0\n`,
  0o755,
);
mkdirSync(join(root, "bin", "path"));
spawnSync("ln", ["-s", join(root, "bin/lib/pnpm/bin/pnpm"), join(root, "bin/path/pnpm")]);
// What every tool the script checks for answers: present (the stand-ins are on PATH first).
for (const tool of ["ssh-agent", "openssl", "chromium"]) write(`bin/path/${tool}`, "", 0o755);

// Everything in the tree was written a minute before the first run, as a clone would have been.
const aMinuteAgo = new Date(Date.now() - 60_000);
for (const entry of readdirSync(join(root, "tree"), { recursive: true })) {
  utimesSync(join(root, "tree", entry.toString()), aMinuteAgo, aMinuteAgo);
}

/** Runs the script and returns the calls it made (pnpm, docker scripts) and what it said. */
function runSetup(env: Record<string, string> = {}): { calls: string[]; said: string } {
  rmSync(log, { force: true });
  const result = spawnSync("bash", [join(root, "tree", ".ci", "setup"), "--debian"], {
    encoding: "utf8",
    env: { PATH: `${join(root, "bin", "path")}:${process.env.PATH ?? ""}`, HOME: root, ...env },
  });
  expect(result.status, result.stderr).toBe(0);
  // No log: the script called nothing.
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { calls, said: result.stderr };
}

const stamps = ["node_modules/.stagecraft-installed", "packages/cli/dist/.stagecraft-built"];

/** Edits a file after the last run, as a change or a checkout would: the stamps go back 10 s first. */
function edit(path: string): void {
  const earlier = new Date(Date.now() - 10_000);
  for (const stamp of stamps) utimesSync(join(root, "tree", stamp), earlier, earlier);
  const now = new Date();
  utimesSync(join(root, "tree", path), now, now);
}

describe(".ci/setup", () => {
  it("installs and builds on the first run, then skips both until an input changes", () => {
    const first = runSetup();
    expect(first.calls).toEqual([
      "pnpm install --reporter=append-only",
      "pnpm run --silent build",
      "ensure-engine",
      "seed-images --debian",
    ]);

    const again = runSetup();
    expect(again.calls).toEqual(["ensure-engine", "seed-images --debian"]);
    expect(again.said).toContain("dependencies are up to date");
    expect(again.said).toContain("the build is up to date");

    edit("packages/core/src/index.ts");
    expect(runSetup().calls).toEqual([
      "pnpm run --silent build",
      "ensure-engine",
      "seed-images --debian",
    ]);
    expect(runSetup().calls).toEqual(["ensure-engine", "seed-images --debian"]);

    // A new lockfile means new dependencies, and a build against them.
    edit("pnpm-lock.yaml");
    expect(runSetup().calls).toEqual([
      "pnpm install --reporter=append-only",
      "pnpm run --silent build",
      "ensure-engine",
      "seed-images --debian",
    ]);
  });

  it("redoes both when asked, and uses the frozen lockfile on CI", () => {
    runSetup();
    expect(runSetup({ STAGECRAFT_SETUP_FORCE: "1", CI: "1" }).calls).toEqual([
      "pnpm install --frozen-lockfile --reporter=append-only",
      "pnpm run --silent build",
      "ensure-engine",
      "seed-images --debian",
    ]);
  });

  it("redoes the build when the last one failed", () => {
    runSetup();
    // A failed build leaves no stamp: the script removes it before building and writes it after.
    rmSync(join(root, "tree", stamps[1] ?? ""));
    expect(runSetup().calls).toContain("pnpm run --silent build");
  });
});

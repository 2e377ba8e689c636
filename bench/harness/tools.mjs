// The tools under comparison, each as the command that builds a set of targets of CONTEXT/Dockerfile.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_LABEL = "org.stagecraft.bench=1";
const REPO = fileURLToPath(new URL("../../", import.meta.url));
let cli = join(REPO, "packages/cli/dist/bin/stagecraft.cjs");

/**
 * Runs stagecraft from a copy of packages/ (their node_modules links kept, the workspace's
 * node_modules linked beside it) taken now, so that a `pnpm build` in the tree during a long run
 * cannot mix two versions of the CLI in one series.
 */
export function snapshotStagecraft(dir) {
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO, "packages"), join(dir, "packages"), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => !/\/src(\/|$)/.test(source.slice(REPO.length)),
  });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  cli = join(dir, "packages/cli/dist/bin/stagecraft.cjs");
  const git = (...args) => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8" }).trim();
  const dirty = git("status", "--porcelain", "--", "packages") !== "";
  return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes in packages/" : ""}`;
}

/** The CLI the run measures: the snapshot's once `snapshotStagecraft` ran, else the tree's. */
export const stagecraftCli = () => cli;

const tagOf = (build, target) => `scbench/${build.name}:${target}`;
const quote = (word) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * A build: `{ name, context, targets, nonce }`; the Dockerfile is CONTEXT/Dockerfile, NONCE goes in
 * as a build arg, every image is tagged `scbench/NAME:TARGET` and labelled org.stagecraft.bench=1.
 * Each tool's `command(build, scratchDir)` returns `{ command, args, reportFile? }`.
 */
export const tools = {
  stagecraft: {
    label: "stagecraft",
    command(build, scratchDir) {
      const reportFile = join(scratchDir, `report-${build.nonce}.json`);
      const args = [cli, "build", build.context, "--target", build.targets.join(",")];
      args.push("--progress", "quiet", "--report", reportFile);
      args.push("--build-arg", `NONCE=${build.nonce}`, "--label", BENCH_LABEL);
      for (const target of build.targets) args.push("-t", `${target}=${tagOf(build, target)}`);
      return { command: process.execPath, args, reportFile };
    },
  },
  buildx: {
    label: "docker buildx build",
    command(build) {
      if (build.targets.length !== 1) throw new Error("docker buildx build builds one target");
      return { command: "docker", args: buildxArgs(build, build.targets[0]) };
    },
  },
  loop: {
    label: "sequential buildx loop",
    command(build) {
      const lines = build.targets.map((target) => buildxArgs(build, target).map(quote).join(" "));
      return { command: "sh", args: ["-ec", lines.map((line) => `docker ${line}`).join("\n")] };
    },
  },
  bake: {
    label: "docker buildx bake",
    command(build, scratchDir) {
      const bakeFile = join(scratchDir, `bake-${build.nonce}.json`);
      const target = Object.fromEntries(
        build.targets.map((name) => [
          name,
          {
            context: build.context,
            dockerfile: "Dockerfile",
            target: name,
            tags: [tagOf(build, name)],
            args: { NONCE: build.nonce },
            labels: { "org.stagecraft.bench": "1" },
          },
        ]),
      );
      const file = { group: { default: { targets: build.targets } }, target };
      writeFileSync(bakeFile, JSON.stringify(file, null, 2));
      return { command: "docker", args: ["buildx", "bake", "-f", bakeFile, "--progress=quiet"] };
    },
  },
};

function buildxArgs(build, target) {
  return [
    ...["buildx", "build", "--target", target, "--progress=quiet"],
    ...["--build-arg", `NONCE=${build.nonce}`, "--label", BENCH_LABEL],
    ...["-t", tagOf(build, target), build.context],
  ];
}

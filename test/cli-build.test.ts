import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUSYBOX, docker, makeProject, removeImages, runInImage } from "./support/engine.js";
import { jsonLines, runStagecraft } from "./support/cli.js";

const made: string[] = [];
const tagOf = (name: string): string => {
  const tag = `stagecraft-it/${name}:${randomUUID().slice(0, 8)}`;
  made.push(tag);
  return tag;
};
// Every image a test builds carries the test label, so global teardown removes it even untagged.
const LABEL = ["--label", "org.stagecraft.test=1"];

afterAll(async () => {
  await removeImages(made);
});

interface StepEvent {
  type: string;
  time: number;
  target: string;
  step: { stage: string | null; instruction: string; line: number | null };
}

describe("stagecraft build (the CLI against the real engine)", () => {
  it("builds parallel branches joined at the end; the branches overlap and the report matches the engine", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo "${nonce}" > /nonce`,
        `FROM base AS left`,
        `RUN sleep 2 && echo left > /left`,
        `FROM base AS right`,
        `RUN sleep 2 && echo right > /right`,
        `FROM ${BUSYBOX} AS final`,
        `COPY --from=left /left /left`,
        `COPY --from=right /right /right`,
        `CMD ["cat", "/left", "/right"]`,
      ].join("\n"),
    });
    const tag = tagOf("joined");
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "final",
        "-t",
        tag,
        "--progress",
        "json",
        ...LABEL,
      ]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const events = jsonLines(run.stdout);
      const steps = events.filter((event) =>
        String(event.type).startsWith("step-"),
      ) as unknown as StepEvent[];
      const window = (stage: string) => {
        const started = steps.find(
          (e) =>
            e.type === "step-started" &&
            e.step.stage === stage &&
            e.step.instruction.startsWith("RUN"),
        );
        const finished = steps.find(
          (e) =>
            e.type === "step-finished" &&
            e.step.stage === stage &&
            e.step.instruction.startsWith("RUN"),
        );
        expect(started, `a RUN step of ${stage} started`).toBeDefined();
        expect(finished, `a RUN step of ${stage} finished`).toBeDefined();
        return [started!.time, finished!.time] as const;
      };
      const [leftStart, leftEnd] = window("left");
      const [rightStart, rightEnd] = window("right");
      // BuildKit's own timestamps: the two 2-second branches ran at the same time.
      expect(Math.min(leftEnd, rightEnd) - Math.max(leftStart, rightStart)).toBeGreaterThan(1_000);
      expect(
        steps.find((e) => e.step.stage === "right" && e.step.instruction.startsWith("RUN"))?.step
          .line,
      ).toBe(6);

      const report = events.at(-1) as {
        type: string;
        targets: { target: string; imageId: string; sizeBytes: number; tags: string[] }[];
      };
      expect(report.type).toBe("report");
      const image = await docker.getImage(tag).inspect();
      expect(report.targets[0]).toMatchObject({
        target: "final",
        imageId: image.Id,
        sizeBytes: image.Size,
        tags: [tag],
      });
      expect(await runInImage(tag, ["cat", "/left", "/right"])).toBe("left\nright\n");
    } finally {
      project.remove();
    }
  });

  it("applies build args, labels and tags, and labels the image as stagecraft's", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nARG GREETING=hello\nRUN echo "$GREETING" > /greeting\n`,
    });
    const tag = tagOf("args");
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "-t",
        tag,
        "--build-arg",
        "GREETING=bonjour",
        "--label",
        "team=platform",
        "--progress",
        "quiet",
        ...LABEL,
      ]);
      expect(run.code).toBe(0);
      const image = await docker.getImage(tag).inspect();
      expect(image.Config.Labels).toMatchObject({
        team: "platform",
        "org.stagecraft.managed": "true",
        "org.stagecraft.target": "stage-0",
      });
      expect(await runInImage(tag, ["cat", "/greeting"])).toBe("bonjour\n");
    } finally {
      project.remove();
    }
  });

  it("honours .dockerignore and sends symlinks as symlinks", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx\n`,
      ".dockerignore": "secret.txt\nbuild/\n",
      "secret.txt": "do not send\n",
      "build/out.bin": "artefact\n",
      "keep.txt": "kept\n",
    });
    symlinkSync("keep.txt", join(project.dir, "link-to-keep"));
    symlinkSync("/etc/hostname", join(project.dir, "link-outside"));
    const tag = tagOf("ignore");
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "-t",
        tag,
        "--progress",
        "quiet",
        ...LABEL,
      ]);
      expect(run.code).toBe(0);
      const listing = await runInImage(tag, [
        "sh",
        "-c",
        "ls -A /ctx; readlink /ctx/link-to-keep; readlink /ctx/link-outside; cat /ctx/link-to-keep",
      ]);
      expect(listing.split("\n")).toEqual([
        ".dockerignore",
        "Dockerfile",
        "keep.txt",
        "link-outside",
        "link-to-keep",
        "keep.txt",
        "/etc/hostname",
        "kept",
        "",
      ]);
    } finally {
      project.remove();
    }
  });

  it("reports a failing RUN with its target, stage, Dockerfile line and stderr, and exits 1", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        `RUN echo "${nonce}"`,
        `RUN echo "compiling" && echo "error: undefined reference to main" >&2 && exit 3`,
      ].join("\n"),
    });
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "build",
        "--progress",
        "plain",
        ...LABEL,
      ]);
      expect(run.code).toBe(1);
      const tail = run.stdout.slice(run.stdout.lastIndexOf("✗"));
      expect(tail).toContain("build › build › ");
      expect(tail).toContain("Dockerfile:3");
      expect(tail).toContain("did not complete successfully: exit code: 3");
      expect(tail).toContain("error: undefined reference to main");
    } finally {
      project.remove();
    }
  });

  it("names the missing base image and its FROM line", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS ok\nFROM example.invalid/nope:1.0 AS app\nRUN true\n`,
    });
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "app",
        "--progress",
        "json",
        ...LABEL,
      ]);
      // The engine is asked first: it cannot resolve the registry, so nothing is sent (the daemon's
      // own failure for a missing base is the recorded stream missing-base-image.ndjson).
      expect(run.code).toBe(2);
      const checks = jsonLines(run.stdout).find((event) => event.type === "engine-checks") as
        | { checks: { reference: string; line: number; stage: string; severity: string }[] }
        | undefined;
      expect(checks?.checks).toEqual([
        expect.objectContaining({
          reference: "example.invalid/nope:1.0",
          stage: "app",
          line: 2,
          severity: "error",
        }),
      ]);
      expect(run.stderr).toContain(
        "Dockerfile:2: FROM example.invalid/nope:1.0 is not in the engine",
      );
    } finally {
      project.remove();
    }
  });

  it("refuses an unknown target before building, listing the stages and the closest name", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS build\nFROM build AS test\nFROM build AS release\n`,
    });
    try {
      const run = await runStagecraft(["build", project.dir, "--target", "relase"]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('target stage "relase" could not be found');
      expect(run.stderr).toContain(
        'Did you mean "release"? --target takes a stage of this Dockerfile: build, test, release.',
      );
    } finally {
      project.remove();
    }
  });

  it("points at the Dockerfile line of a syntax error and exits 2", async () => {
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\nRUNN echo hi\n` });
    try {
      const run = await runStagecraft(
        ["build", "-f", join(project.dir, "Dockerfile"), project.dir],
        { cwd: project.dir },
      );
      expect(run.code).toBe(2);
      // BuildKit's own words, located.
      expect(run.stderr).toMatch(
        /^Dockerfile:2:1: dockerfile parse error on line 2: unknown instruction: RUNN \(did you mean RUN\?\)/,
      );
    } finally {
      project.remove();
    }
  });

  it("fails fast by default and keeps going when asked", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS broken`,
        `RUN echo "${nonce}" && sleep 1 && exit 1`,
        `FROM ${BUSYBOX} AS slow`,
        `RUN echo "${nonce}" && sleep 4 && echo done > /done`,
      ].join("\n"),
    });
    try {
      const fast = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "broken,slow",
        "--progress",
        "json",
        ...LABEL,
      ]);
      expect(fast.code).toBe(1);
      const finished = jsonLines(fast.stdout).find((event) => event.type === "run-finished");
      expect(finished).toMatchObject({ status: "failed", failed: ["broken"], cancelled: ["slow"] });

      const tag = tagOf("keep-going");
      const patient = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "broken",
        "--target",
        "slow",
        "-t",
        `slow=${tag}`,
        "--keep-going",
        "--progress",
        "json",
        ...LABEL,
      ]);
      expect(patient.code).toBe(1);
      expect(
        jsonLines(patient.stdout).find((event) => event.type === "run-finished"),
      ).toMatchObject({
        failed: ["broken"],
        succeeded: ["slow"],
      });
      expect(await runInImage(tag, ["cat", "/done"])).toBe("done\n");
    } finally {
      project.remove();
    }
  });

  it("a failing step two targets share: its owner fails, and with --keep-going it is shown once", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo "broken ${nonce}" && exit 3`,
        `FROM base AS test`,
        `RUN echo tested`,
        `FROM base AS app`,
        `RUN echo app`,
      ].join("\n"),
    });
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "test,app",
        "--keep-going",
        "--progress",
        "plain",
        ...LABEL,
      ]);
      expect(run.code).toBe(1);
      const output = `${run.stdout}${run.stderr}`;
      // One failure block, under the target that owns the step (the first that needs base).
      expect(output.match(/✗ \S+ › base › /g)).toEqual(["✗ test › base › "]);
      expect(output).toContain("also stopped app, which needs this step");
      // Its log tail, in full, once (the live lines quote it with "|", the report with "│").
      expect(output.match(new RegExp(`│ broken ${nonce}`, "g"))).toHaveLength(1);

      // Fail-fast: the owner of the step failed, whichever stream said so first; app was cancelled
      // because test failed.
      const fast = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "test,app",
        "--progress",
        "json",
        ...LABEL,
      ]);
      expect(fast.code).toBe(1);
      const events = jsonLines(fast.stdout);
      expect(events.find((event) => event.type === "run-finished")).toMatchObject({
        failed: ["test"],
        cancelled: ["app"],
      });
      expect(events.find((event) => event.type === "target-cancelled")).toMatchObject({
        target: "app",
        reason: { kind: "fail-fast", failedTarget: "test" },
      });
    } finally {
      project.remove();
    }
  });

  it("builds the unnamed last stage beside a named one by the id plan prints (stage-1)", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        `RUN echo "built ${nonce}" > /out`,
        `FROM ${BUSYBOX}`,
        `COPY --from=build /out /out`,
      ].join("\n"),
    });
    const built = tagOf("stage1-build");
    const last = tagOf("stage1-last");
    try {
      const run = await runStagecraft([
        "build",
        project.dir,
        "--target",
        "build,stage-1",
        "-t",
        `build=${built}`,
        "-t",
        `stage-1=${last}`,
        "--progress",
        "plain",
        ...LABEL,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(await runInImage(last, ["cat", "/out"])).toBe(`built ${nonce}\n`);
      expect(await runInImage(built, ["cat", "/out"])).toBe(`built ${nonce}\n`);
    } finally {
      project.remove();
    }
  });

  it("on SIGINT cancels the daemon's build, says so, and exits 130", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN sleep 60 && echo "finished ${nonce}"\n`,
    });
    try {
      const run = await runStagecraft(["build", project.dir, "--progress", "plain", ...LABEL], {
        interruptWhen: "RUN sleep 60",
      });
      expect(run.code).toBe(130);
      // It was interrupted mid-build (how soon it exits is measured by bench/, scenario limits).
      expect(run.interrupted).toBe(true);
      expect(run.stdout).toMatch(/cancel/i);
      // Nothing of the build is left running on the daemon.
      expect(() => execFileSync("pgrep", ["-f", `finished ${nonce}`])).toThrow();
    } finally {
      project.remove();
    }
  });

  it("builds with a 200 MB context sent as a tar", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nCOPY small.txt /small.txt\n`,
      "small.txt": "small\n",
    });
    const big = join(project.dir, "big");
    mkdirSync(big);
    const chunk = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < 200; index += 1) {
      chunk.fill(index % 251);
      chunk.write(randomUUID(), 0);
      writeFileSync(join(big, `part-${index}.bin`), chunk);
    }
    try {
      // As a tar: every byte of the context goes through the CLI, whatever the Dockerfile copies.
      const run = await runStagecraft([
        "build",
        project.dir,
        "--progress",
        "quiet",
        "--context-transfer",
        "tar",
        ...LABEL,
      ]);
      // The CLI's peak RSS while it streams this context is measured by bench/ (scenario limits);
      // the unit tests of packBuildContext hold that the tar is streamed, not buffered.
      expect(run.code, run.stderr).toBe(0);
    } finally {
      project.remove();
    }
  });

  it("sends a context of 4 MB or more through FileSync and a smaller one as a tar (auto)", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nCOPY small.txt /small.txt\n`,
      "small.txt": `small ${randomUUID()}\n`,
    });
    const sessionMethods = (log: string): string[] =>
      log
        .split("\n")
        .filter((line) => line.includes('"session open"'))
        .flatMap((line) => (JSON.parse(line) as { methods: string[] }).methods);
    const build = async (): Promise<string> => {
      const logFile = join(project.dir, `log-${randomUUID()}.jsonl`);
      const run = await runStagecraft([
        "build",
        project.dir,
        "--progress",
        "quiet",
        "--log-level",
        "debug",
        "--log-file",
        logFile,
        ...LABEL,
      ]);
      expect(run.code, run.stderr).toBe(0);
      return readFileSync(logFile, "utf8");
    };
    try {
      writeFileSync(join(project.dir, ".dockerignore"), "log-*\n");
      expect(sessionMethods(await build())).toEqual([]);
      const big = join(project.dir, "big");
      mkdirSync(big);
      for (let index = 0; index < 5; index += 1) {
        writeFileSync(join(big, `part-${index}.bin`), Buffer.alloc(1024 * 1024, index));
      }
      expect(sessionMethods(await build())).toContain("/moby.filesync.v1.FileSync/DiffCopy");
    } finally {
      project.remove();
    }
  });

  it("builds on an ssh:// engine through the user's ssh, and says what is missing without one", async () => {
    // The remote half, run here: `docker system dial-stdio` joins ssh's stdio to the engine.
    const bin = makeProject({
      ssh: `#!/bin/sh\nunset DOCKER_HOST\nexec docker system dial-stdio\n`,
    });
    chmodSync(join(bin.dir, "ssh"), 0o755);
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN echo over-ssh-${randomUUID()}\n`,
    });
    try {
      const run = await runStagecraft(["build", project.dir, "--progress", "plain", ...LABEL], {
        env: {
          DOCKER_HOST: "ssh://ci@builder.test",
          PATH: `${bin.dir}:${process.env.PATH ?? ""}`,
        },
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("1 target in");

      const without = await runStagecraft(["build", project.dir], {
        env: { DOCKER_HOST: "ssh://ci@builder.test", PATH: "/nonexistent" },
      });
      expect(without.code).toBe(1);
      expect(without.stderr).toContain(
        "no Docker Engine answers at ssh://ci@builder.test (from DOCKER_HOST): cannot run ssh to reach builder.test",
      );
      expect(without.stderr).toContain("ssh:// engines need the OpenSSH client on PATH");
    } finally {
      project.remove();
      bin.remove();
    }
  });

  it("writes GitHub Actions groups, an annotation on the failing line, and a job summary", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS ok\nRUN echo fine\nFROM ${BUSYBOX} AS bad\nRUN echo "nope ${randomUUID()}" >&2 && exit 2\n`,
    });
    const summary = join(project.dir, "summary.md");
    try {
      const run = await runStagecraft(
        ["build", project.dir, "--target", "ok,bad", "--keep-going", ...LABEL],
        {
          env: { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary },
          cwd: project.dir,
        },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^::group::ok/m);
      expect(run.stdout).toMatch(/^::endgroup::/m);
      expect(run.stdout).toMatch(/^::error file=Dockerfile,line=4,title=bad failed::/m);
      const markdown = readFileSync(summary, "utf8");
      expect(markdown).toContain("| ok |");
      expect(markdown).toContain("bad");
    } finally {
      project.remove();
    }
  });
});

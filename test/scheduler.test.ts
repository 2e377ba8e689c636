import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import tar from "tar-fs";
import { DockerEngine } from "@stagecraft/core";
import { runTargets, type TargetSpec } from "@stagecraft/core/engine";
import { BUSYBOX, TEST_LABELS, makeProject, removeImages, runInImage } from "./support/engine.js";

const engine = new DockerEngine();
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

function contextOf(dir: string) {
  return { stream: () => tar.pack(dir), dockerfileInContext: "Dockerfile" };
}

describe("runTargets against the real engine", () => {
  it("runs a step shared by three targets once", async () => {
    const nonce = randomUUID();
    const cacheId = `stagecraft-it-${nonce}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `ARG NONCE`,
        // The shared step appends a line to a cache mount that outlives the builds: one line = one run.
        `RUN --mount=type=cache,target=/counter,id=${cacheId} echo "base ran $NONCE" >> /counter/runs && sleep 1`,
        `FROM base AS a`,
        `RUN echo a > /a`,
        `FROM base AS b`,
        `RUN echo b > /b`,
        `FROM base AS c`,
        `RUN echo c > /c`,
        `FROM ${BUSYBOX} AS count`,
        `ARG NONCE`,
        `RUN --mount=type=cache,target=/counter,id=${cacheId} echo "$NONCE" && wc -l < /counter/runs > /runs`,
      ].join("\n"),
    });
    try {
      const targets: TargetSpec[] = ["a", "b", "c"].map((name) => ({ name, stage: name }));
      const result = await runTargets({
        engine,
        context: contextOf(project.dir),
        targets,
        settings: { buildArgs: { NONCE: nonce }, labels: TEST_LABELS },
      });
      expect(result.status).toBe("succeeded");
      const tag = `stagecraft-it/count:${nonce.slice(0, 8)}`;
      made.push(tag);
      const count = await runTargets({
        engine,
        context: contextOf(project.dir),
        targets: [{ name: "count", stage: "count", tags: [tag] }],
        settings: { buildArgs: { NONCE: `${nonce}-count` }, labels: TEST_LABELS },
      });
      expect(count.status).toBe("succeeded");
      expect((await runInImage(tag, ["cat", "/runs"])).trim()).toBe("1");
    } finally {
      project.remove();
    }
  });

  it("fails fast: a failing target cancels the others on the daemon", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `ARG NONCE`,
        `FROM base AS broken`,
        `RUN echo "$NONCE" && sleep 1 && echo "this step fails" >&2 && exit 7`,
        `FROM base AS slow`,
        // The nonce in the command itself, so the step's shell can be found by its command line.
        `RUN sleep 60 && echo "finished ${nonce}"`,
      ].join("\n"),
    });
    try {
      const result = await runTargets({
        engine,
        context: contextOf(project.dir),
        targets: [
          { name: "broken", stage: "broken" },
          { name: "slow", stage: "slow" },
        ],
        settings: { buildArgs: { NONCE: nonce }, labels: TEST_LABELS },
      });
      expect(result.status).toBe("failed");
      const [broken, slow] = result.targets;
      expect(broken?.status).toBe("failed");
      expect(broken?.error?.message).toContain("exit code: 7");
      expect(slow?.status).toBe("cancelled");
      expect(slow?.error).toMatchObject({ reason: { kind: "fail-fast", failedTarget: "broken" } });
      // Nothing of the slow step is left running (how soon it stops is measured by bench/, scenario
      // limits).
      expect(processesMatching(nonce)).toBe(0);
    } finally {
      project.remove();
    }
  });

  it("keeps going: an independent target finishes after another failed", async () => {
    const nonce = randomUUID();
    const tag = `stagecraft-it/keep-going:${nonce.slice(0, 8)}`;
    made.push(tag);
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS broken`,
        `ARG NONCE`,
        `RUN echo "$NONCE" && exit 1`,
        `FROM ${BUSYBOX} AS fine`,
        `ARG NONCE`,
        `RUN echo "$NONCE" && sleep 2 && echo fine > /fine`,
      ].join("\n"),
    });
    try {
      const result = await runTargets({
        engine,
        context: contextOf(project.dir),
        targets: [
          { name: "broken", stage: "broken" },
          { name: "fine", stage: "fine", tags: [tag] },
        ],
        keepGoing: true,
        settings: { buildArgs: { NONCE: nonce }, labels: TEST_LABELS },
      });
      expect(result.targets.map((t) => t.status)).toEqual(["failed", "succeeded"]);
      expect(await runInImage(tag, ["cat", "/fine"])).toBe("fine\n");
    } finally {
      project.remove();
    }
  });

  it("cancels a running step on abort; the step is not cached afterwards", async () => {
    const nonce = randomUUID();
    // The nonce is in the command itself, and sleep is not the last command (the shell would exec it),
    // so the step's shell process can be found by its command line.
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nRUN sleep 60 && echo "finished ${nonce}"\n`,
    });
    const attempt = async (abortAfterMs: number) => {
      const controller = new AbortController();
      let runningBeforeAbort = 0;
      const timer = setTimeout(() => {
        runningBeforeAbort = processesMatching(nonce);
        controller.abort();
      }, abortAfterMs);
      const result = await runTargets({
        engine,
        context: contextOf(project.dir),
        targets: [{ name: "sleepy" } satisfies TargetSpec],
        signal: controller.signal,
        settings: { buildArgs: { NONCE: nonce }, labels: TEST_LABELS },
      });
      clearTimeout(timer);
      return { result, runningBeforeAbort };
    };
    try {
      const first = await attempt(2_500);
      expect(first.result.status).toBe("cancelled");
      // The step's process ran until the abort, and the daemon killed it (its command line carries the nonce).
      expect(first.runningBeforeAbort).toBeGreaterThan(0);
      expect(processesMatching(nonce)).toBe(0);
      // Same step, same args: a cached step would finish at once; it is still running after 4 s.
      const second = await attempt(4_000);
      expect(second.result.status).toBe("cancelled");
      expect(second.result.targets[0]?.status).toBe("cancelled");
    } finally {
      project.remove();
    }
  });
});

/** How many processes on this machine have the text in their command line (the daemon is local). */
function processesMatching(text: string): number {
  try {
    return execFileSync("pgrep", ["-f", `finished ${text}`], { encoding: "utf8" })
      .trim()
      .split("\n").length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

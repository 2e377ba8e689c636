import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../events.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { runBuild } from "./run-build.js";

// The daemon streams recorded for the progress decoder (see their README).
const fixtures = new URL("../progress/__fixtures__/buildkit-streams/docker-26.1/", import.meta.url);
const streamLines = (name: string): string[] =>
  readFileSync(new URL(`${name}.ndjson`, fixtures), "utf8")
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line !== "");
const context = { stream: () => Readable.from([]), dockerfileInContext: "Dockerfile" };

describe("runBuild", () => {
  it("reports a failed target with its stage, Dockerfile line and last log lines", async () => {
    const lines = streamLines("run-failure");
    const errorLine = lines.at(-1)!;
    const daemonMessage = (JSON.parse(errorLine) as { errorDetail: { message: string } })
      .errorDetail.message;
    const engine = new FakeEngine({ broken: { lines, failWith: daemonMessage } });
    const events: BuildEvent[] = [];
    const outcome = await runBuild({
      engine,
      context,
      targets: [{ name: "broken", stage: "broken" }],
      dockerfileMap: [
        {
          id: "base",
          instructions: [
            { line: 1, text: "FROM busybox:local AS base" },
            { line: 2, text: "RUN echo …" },
          ],
        },
        { id: "broken", instructions: [{ line: 5, text: "RUN echo compiling…" }] },
      ],
      onEvent: (event) => events.push(event),
    });
    expect(outcome.status).toBe("failed");
    const failed = events.find((event) => event.type === "target-failed");
    expect(failed?.type === "target-failed" && failed.error).toMatchObject({
      code: "BUILD_FAILED",
      stage: "broken",
      line: 5,
    });
    expect(failed?.type === "target-failed" && failed.error.logTail).toContain(
      "error: undefined reference to 'main'",
    );
    expect(events[0]?.type).toBe("run-started");
    expect(events.at(-1)).toMatchObject({
      type: "run-finished",
      status: "failed",
      failed: ["broken"],
    });
  });

  it("masks secret values in every event", async () => {
    const lines = streamLines("multistage-parallel");
    const engine = new FakeEngine({ final: { lines } });
    const events: BuildEvent[] = [];
    await runBuild({
      engine,
      context,
      targets: [{ name: "final", stage: "final", tags: ["hidden-token/app:1"] }],
      secrets: ["hidden-token"],
      onEvent: (event) => events.push(event),
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain("hidden-token");
    expect(text).toContain("***/app:1");
  });

  it("inspects the images of the targets that were built", async () => {
    const engine = new FakeEngine({ app: { size: 48_000_000 } });
    const outcome = await runBuild({
      engine,
      context,
      targets: [{ name: "app", stage: "app", tags: ["me/app:1"] }],
    });
    expect(outcome.images.app?.size).toBe(48_000_000);
    expect(outcome.targets[0]?.imageId).toBe(outcome.images.app?.id);
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../events.js";
import type { DockerfileMap } from "./attribute-stage.js";
import {
  createProgressTracker,
  type ProgressSummary,
  type ProgressTracker,
} from "./create-progress-tracker.js";
import { createLineSplitter } from "./decode-status.js";
import { feedLines } from "./feed-lines.test-support.js";
import { statusResponseType } from "./status-response-type.test-support.js";

const fixtures = join(import.meta.dirname, "__fixtures__", "buildkit-streams");
const folders = ["docker-20.10", "docker-26.1"] as const;
type Folder = (typeof folders)[number];
const captures = (folder: string): string[] =>
  readdirSync(join(fixtures, folder))
    .filter((file) => file.endsWith(".ndjson"))
    .map((file) => file.slice(0, -".ndjson".length))
    .sort();

function streamLines(folder: string, name: string): string[] {
  const splitter = createLineSplitter();
  return [
    ...splitter.push(readFileSync(join(fixtures, folder, `${name}.ndjson`))),
    ...splitter.end(),
  ];
}

function readDockerfile(folder: string, capture: string): string {
  const name = capture.replace(/-(a|b)$/, "");
  return readFileSync(join(fixtures, folder, `${name}.Dockerfile`), "utf8");
}

/**
 * A small stand-in for the Dockerfile front end, enough for the fixtures: logical instructions
 * (continuations and heredoc bodies folded), stages, and the instructions that give a vertex.
 */
function mapDockerfile(text: string): DockerfileMap {
  const lines = text.split("\n");
  const stages: { id: string; instructions: { line: number; text: string }[] }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i + 1;
    let instruction = first;
    while (instruction.endsWith("\\") && i + 1 < lines.length) {
      i++;
      if (lines[i]!.trim() !== "") instruction = instruction.slice(0, -1) + lines[i]!;
    }
    const heredoc = /<<-?['"]?(\w+)/.exec(instruction);
    if (heredoc !== null) {
      while (i + 1 < lines.length && lines[i + 1]!.trim() !== heredoc[1]) i++;
      i++;
    }
    const [keyword = "", ...args] = instruction.trim().split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === "FROM") {
      const as = args.findIndex((arg) => arg.toLowerCase() === "as");
      const id = as === -1 ? `stage-${stages.length}` : args[as + 1]!.toLowerCase();
      const image = args.find((arg) => !arg.startsWith("--"))!.toLowerCase();
      stages.push({ id, instructions: [] });
      if (!names.has(image)) stages.at(-1)!.instructions.push({ line: start, text: instruction });
      names.add(id);
    } else if (["RUN", "COPY", "ADD", "WORKDIR"].includes(upper)) {
      stages.at(-1)?.instructions.push({ line: start, text: instruction });
    }
  }
  return stages;
}

interface Run {
  tracker: ProgressTracker;
  events: BuildEvent[];
}

/** Feeds one capture, or several captures interleaved line by line, into one tracker. */
function run(
  streams: { folder: Folder; capture: string; target: string }[],
  options: {
    targets?: string[];
    map?: DockerfileMap;
    daemonStatus?: boolean;
    targetStages?: Record<string, string[]>;
  } = {},
): Run {
  const events: BuildEvent[] = [];
  const tracker = createProgressTracker({
    targets: options.targets ?? streams.map((s) => s.target),
    dockerfileMap: options.map,
    onEvent: (event) => events.push(event),
    emitDaemonStatus: options.daemonStatus,
    targetStages: options.targetStages,
    now: () => 0,
  });
  const all = streams.map((s) => streamLines(s.folder, s.capture));
  const feeders = streams.map((stream) => feedLines(tracker, stream.target));
  const longest = Math.max(...all.map((lines) => lines.length));
  for (let i = 0; i < longest; i++) {
    all.forEach((lines, index) => {
      const line = lines[i];
      if (line !== undefined) feeders[index]!.push(line);
    });
  }
  for (const feeder of feeders) feeder.end();
  return { tracker, events };
}

const single = (folder: Folder, capture: string, map?: DockerfileMap): Run =>
  run([{ folder, capture, target: "t" }], map === undefined ? {} : { map });

function transcript(events: BuildEvent[]): string {
  const out: string[] = [];
  let logRun: string[] = [];
  const flushLogs = (): void => {
    if (logRun.length > 6) {
      out.push(...logRun.slice(0, 3), `  … ${logRun.length - 5} more lines`, ...logRun.slice(-2));
    } else {
      out.push(...logRun);
    }
    logRun = [];
  };
  let lastLogStep = "";
  for (const event of events) {
    if (event.type !== "log" || event.step !== lastLogStep) flushLogs();
    switch (event.type) {
      case "step-started":
      case "step-cached":
      case "step-finished":
      case "step-failed": {
        const line = event.step.line === null ? "" : ` @${event.step.line}`;
        const failure =
          event.type === "step-failed"
            ? ` !${event.cancelled ? " cancelled" : ""} ${event.error}`
            : "";
        out.push(
          `${event.type} [${event.target}] (${event.step.stage ?? "-"}) ${event.step.kind}: ${event.step.name.slice(0, 90)}${line}${failure}`,
        );
        break;
      }
      case "stage-started":
      case "stage-cached":
        out.push(`${event.type} [${event.target}] ${event.stage}`);
        break;
      case "stage-finished":
        out.push(
          `${event.type} [${event.target}] ${event.stage} run=${event.stepsRun} cached=${event.stepsCached}`,
        );
        break;
      case "stage-failed":
        out.push(`${event.type} [${event.target}] ${event.stage}`);
        break;
      case "log":
        lastLogStep = event.step;
        logRun.push(
          `  ${event.stream === 2 ? "2>" : "1>"} [${event.target}] (${event.stage ?? "-"}) ${event.line.slice(0, 100)}`,
        );
        break;
      case "transfer":
        out.push(
          `transfer [${event.target}] ${event.id} ${event.current}/${event.total}${event.completed ? " done" : ""}`,
        );
        break;
      case "warning":
        out.push(
          `warning [${event.target}] (${event.stage ?? "-"}) @${event.line ?? "?"} ${event.message}`,
        );
        break;
      case "run-started":
      case "run-finished":
      case "target-queued":
      case "target-started":
      case "target-finished":
      case "target-failed":
      case "target-cancelled":
      case "push-progress":
      case "target-pushed":
      case "push-failed":
      case "shared-push-progress":
      case "shared-pushed":
      case "engine-quiet":
      case "context-sent":
      case "daemon-status":
        out.push(`${event.type} [${"target" in event ? event.target : ""}]`);
        break;
      default:
        event satisfies never;
    }
  }
  flushLogs();
  return `${out.join("\n")}\n`;
}

const stepEvents = (events: BuildEvent[]) =>
  events.flatMap((e) =>
    e.type === "step-started" ||
    e.type === "step-cached" ||
    e.type === "step-finished" ||
    e.type === "step-failed"
      ? [e]
      : [],
  );

const stepsOfStage = (summary: ProgressSummary, target: string, stage: string): string[] =>
  summary.targets
    .find((t) => t.target === target)!
    .steps.filter((s) => s.step.stage === stage)
    .map((s) => s.step.name);

describe.each(folders)("every capture in %s", (folder) => {
  it.each(captures(folder))("%s", async (capture) => {
    const map = mapDockerfile(readDockerfile(folder, capture));
    const { events, tracker } = single(folder, capture, map);

    // Plain JSON, and the same events again for the same lines.
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
    expect(single(folder, capture, map).events).toEqual(events);

    // Each step: one start, then at most one ending (a later error may still follow a success);
    // a step taken from the cache without running has only its `cached` event.
    const sequences = new Map<string, string[]>();
    for (const event of stepEvents(events)) {
      const key = `${event.target} ${event.step.digest}`;
      sequences.set(key, [...(sequences.get(key) ?? []), event.type.slice(5)]);
    }
    for (const sequence of sequences.values()) {
      expect(sequence.join(" ")).toMatch(
        /^(started( (finished|cached|failed))?( failed)?|cached)$/,
      );
    }
    // Logs and transfers only of started steps; stages start once and end at most once.
    const started = new Set(stepEvents(events).map((e) => e.step.digest));
    for (const event of events) {
      if (event.type === "log" || event.type === "transfer")
        expect(started.has(event.step)).toBe(true);
    }
    const stageSequences = new Map<string, string[]>();
    for (const event of events) {
      if (event.type.startsWith("stage-") && "stage" in event && event.stage !== null) {
        stageSequences.set(event.stage, [
          ...(stageSequences.get(event.stage) ?? []),
          event.type.slice(6),
        ]);
      }
    }
    for (const sequence of stageSequences.values()) {
      expect(sequence.join(" ")).toMatch(/^started( (finished|cached|failed))?$/);
    }
    // Every `[stage i/n]` step maps back to a Dockerfile line of the same instruction.
    const dockerfile = readDockerfile(folder, capture).split("\n");
    for (const event of stepEvents(events)) {
      if (event.step.kind !== "instruction") continue;
      expect(event.step.line, event.step.name).not.toBeNull();
      const keyword = event.step.instruction.split(" ")[0]!;
      expect(dockerfile[event.step.line! - 1]!.toUpperCase().startsWith(keyword)).toBe(true);
    }
    // The summary agrees with the events on who owns each step.
    const owners = new Map(stepEvents(events).map((e) => [e.step.digest, e.target]));
    for (const target of tracker.summary().targets) {
      for (const step of target.steps) {
        if (owners.has(step.step.digest)) expect(owners.get(step.step.digest)).toBe(target.target);
      }
    }

    await expect(transcript(events)).toMatchFileSnapshot(
      join("__snapshots__", folder, `${capture}.events.txt`),
    );
  });
});

describe.each(folders)("facts (%s)", (folder) => {
  it("multistage-parallel: stages, their steps, lines, and the order they ran in", () => {
    const map = mapDockerfile(readDockerfile(folder, "multistage-parallel"));
    const { events, tracker } = single(folder, "multistage-parallel", map);
    const summary = tracker.summary();
    expect(stepsOfStage(summary, "t", "base")).toEqual(
      expect.arrayContaining(["copy /context /", "[base 3/3] COPY hello.txt /hello.txt"]),
    );
    expect(stepsOfStage(summary, "t", "base")).toHaveLength(4);
    expect(stepsOfStage(summary, "t", "a")).toHaveLength(1);
    expect(stepsOfStage(summary, "t", "b")).toHaveLength(1);
    expect(stepsOfStage(summary, "t", "final")).toHaveLength(3);
    const stages = summary.targets[0]!.stages;
    expect(stages.map((s) => [s.stage, s.status, s.steps.length])).toEqual([
      ["base", "ran", 4],
      ["a", "ran", 1],
      ["b", "ran", 1],
      ["final", "ran", 3],
    ]);
    const order = events.flatMap((e) =>
      e.type === "stage-started" || e.type === "stage-finished"
        ? [`${e.type.slice(6)} ${e.stage}`]
        : [],
    );
    expect(order.indexOf("finished base")).toBeLessThan(order.indexOf("started a"));
    expect(order.indexOf("started b")).toBeLessThan(order.indexOf("finished a"));
    expect(order.indexOf("finished b")).toBeLessThan(order.indexOf("finished final"));
    const lineOf = (name: string) =>
      stepEvents(events).find((e) => e.step.name.startsWith(name))?.step.line;
    expect(lineOf("[base 2/3] RUN")).toBe(2);
    expect(lineOf("[final 3/3] RUN")).toBe(14);
    // a's RUN printed to stdout, b's to stderr.
    const logs = events.flatMap((e) =>
      e.type === "log" ? [`${e.stage} ${e.stream} ${e.line}`] : [],
    );
    expect(logs).toEqual(
      expect.arrayContaining(["a 1 a: building", "b 2 b: building", "final 1 hello"]),
    );
    const base = stages[0]!;
    expect(base.durationMs).toBeGreaterThan(2000);
  });

  it("multistage-parallel-cached: every stage from the cache; FROM's flag is not trusted", () => {
    const { events, tracker } = single(folder, "multistage-parallel-cached");
    const cachedStages = events.flatMap((e) => (e.type === "stage-cached" ? [e.stage] : []));
    expect(cachedStages.sort()).toEqual(["a", "b", "base", "final"]);
    const cachedInstructions = stepEvents(events).filter(
      (e) => e.type === "step-cached" && e.step.kind === "instruction",
    );
    expect(cachedInstructions).toHaveLength(7);
    const from = stepEvents(events).filter((e) => e.step.instruction.startsWith("FROM"));
    expect(from.map((e) => e.type)).toEqual(["step-started", "step-finished"]);
    const target = tracker.summary().targets[0]!;
    expect(target.stages.map((s) => [s.stage, s.stepsRun, s.stepsCached])).toEqual([
      ["base", 1, 2],
      ["a", 0, 1],
      ["b", 0, 1],
      ["final", 0, 3],
    ]);
    expect(target.imageId).toMatch(/^sha256:/);
  });

  it("multistage-target-a-cached: only the stages a needs", () => {
    const { events } = single(folder, "multistage-target-a-cached");
    expect(
      [...new Set(events.flatMap((e) => (e.type === "stage-cached" ? [e.stage] : [])))].sort(),
    ).toEqual(["a", "base"]);
  });

  it("run-failure: the failing step, its stderr, and where it is", () => {
    const map = mapDockerfile(readDockerfile(folder, "run-failure"));
    const { events, tracker } = single(folder, "run-failure", map);
    const failed = stepEvents(events).filter((e) => e.type === "step-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      step: { stage: "broken", line: 5, index: 1 },
      cancelled: false,
    });
    expect(failed[0]?.type === "step-failed" ? failed[0].error : "").toMatch(/exit code: 3$/);
    const stderr = events.flatMap((e) =>
      e.type === "log" && e.stream === 2 ? [`${e.stage}: ${e.line}`] : [],
    );
    expect(stderr).toEqual([
      "base: warning: something odd",
      "broken: error: undefined reference to 'main'",
    ]);
    expect(events.filter((e) => e.type === "stage-failed").map((e) => e.stage)).toEqual(["broken"]);
    expect(tracker.failureContext("t")).toEqual({
      stage: "broken",
      line: 5,
      step: failed[0]!.step.name,
      logTail: ["compiling...", "error: undefined reference to 'main'"],
      owner: "t",
    });
    expect(tracker.summary().targets[0]!.error).toMatch(/exit code: 3$/);
  });

  it("cancelled-via-build-cancel: the running step fails as cancelled", () => {
    const { events, tracker } = single(folder, "cancelled-via-build-cancel");
    const failed = stepEvents(events).filter((e) => e.type === "step-failed");
    expect(failed.map((e) => e.cancelled)).toEqual([true]);
    expect(tracker.summary().targets[0]!.error).toBe("context canceled");
  });

  it("missing-base-image: the failure points at the FROM line through the map", () => {
    const map = mapDockerfile(readDockerfile(folder, "missing-base-image"));
    const { tracker } = single(folder, "missing-base-image", map);
    expect(tracker.failureContext("t")).toMatchObject({
      step: "[internal] load metadata for example.invalid/nope:1.0",
      stage: "base",
      line: 1,
    });
  });

  it("log-clipped: the marker is a log line and the step says it was cut", () => {
    const { events, tracker } = single(folder, "log-clipped");
    expect(
      events.some(
        (e) => e.type === "log" && e.line === "[output clipped, log limit 200KiB/s reached]",
      ),
    ).toBe(true);
    const run = tracker
      .summary()
      .targets[0]!.steps.find((s) => s.step.instruction.startsWith("RUN"));
    expect(run).toMatchObject({ logClipped: "200KiB/s", status: "ran" });
    expect(run!.logLines).toBeGreaterThan(2000);
  });

  it("concurrent-shared-base a + b: the shared base is counted once, owned by the first target", () => {
    const streams = [
      { folder, capture: "concurrent-shared-base-a", target: "a" },
      { folder, capture: "concurrent-shared-base-b", target: "b" },
    ];
    const { events, tracker } = run(streams);
    const baseRun = stepEvents(events).filter((e) => e.step.name.startsWith("[base 2/2] RUN"));
    expect(baseRun.map((e) => `${e.type} ${e.target}`)).toEqual([
      "step-started a",
      "step-finished a",
    ]);
    expect(events.filter((e) => e.type === "log" && e.line.startsWith("base-run"))).toHaveLength(1);
    const stageOwners = events.flatMap((e) =>
      e.type === "stage-finished" ? [`${e.stage}:${e.target}`] : [],
    );
    expect(stageOwners.sort()).toEqual(["a:a", "b:b", "base:a"]);
    const summary = tracker.summary();
    const baseSteps = summary.targets.flatMap((t) =>
      t.steps.filter((s) => s.step.stage === "base"),
    );
    expect(baseSteps.map((s) => [s.target, s.sharedWith.toSorted()])).toEqual([
      ["a", ["a", "b"]],
      ["a", ["a", "b"]],
    ]);
    expect(summary.targets.map((t) => t.stages.map((s) => s.stage))).toEqual([
      ["base", "a"],
      ["b"],
    ]);
    // Each build exports its own image, even under the same digest (26.1).
    const exports = stepEvents(events).filter(
      (e) => e.type === "step-finished" && e.step.kind === "export",
    );
    expect(exports.map((e) => e.target).sort()).toEqual(["a", "b"]);
    expect(summary.targets.map((t) => t.imageId)).toEqual([
      expect.stringMatching(/^sha256:/),
      expect.stringMatching(/^sha256:/),
    ]);

    const baseOwner = (r: Run): string[] =>
      r.events.flatMap((e) =>
        e.type === "stage-finished" && e.stage === "base" ? [e.target] : [],
      );
    // Without the plan, the owner depends on which streams had announced the base when it started.
    expect(baseOwner(run(streams, { targets: ["b", "a"] }))).toHaveLength(1);
    // With the plan, only the requested order matters.
    const targetStages = { a: ["base", "a"], b: ["base", "b"] };
    expect(baseOwner(run(streams.toReversed(), { targets: ["a", "b"], targetStages }))).toEqual([
      "a",
    ]);
    expect(baseOwner(run(streams, { targets: ["b", "a"], targetStages }))).toEqual(["b"]);
  });
});

describe("facts (docker-26.1 only)", () => {
  it("warning-empty-continuation: two warnings, with the stage their line is in", () => {
    const map = mapDockerfile(readDockerfile("docker-26.1", "warning-empty-continuation"));
    const withMap = single("docker-26.1", "warning-empty-continuation", map).events;
    const warnings = withMap.flatMap((e) => (e.type === "warning" ? [e] : []));
    expect(warnings.map((w) => [w.stage, w.line, w.message, w.level, w.file])).toEqual([
      [
        "stage-0",
        4,
        "Empty continuation line found in: RUN echo one     && echo two",
        1,
        "Dockerfile",
      ],
      [
        "stage-0",
        8,
        "Empty continuation line found in: RUN echo three     && echo four",
        1,
        "Dockerfile",
      ],
    ]);
    expect(warnings[0]).toMatchObject({
      target: "t",
      url: "https://github.com/moby/moby/pull/33719",
      detail: ["Empty continuation lines will become errors in a future release"],
    });
    const without = single("docker-26.1", "warning-empty-continuation").events;
    expect(without.flatMap((e) => (e.type === "warning" ? [e.stage] : []))).toEqual([null, null]);
  });

  it("log-unaligned-chunks: lines are reassembled across chunks", () => {
    const { events } = single("docker-26.1", "log-unaligned-chunks");
    expect(events.flatMap((e) => (e.type === "log" ? [e.line] : []))).toEqual([
      "x".repeat(70_000),
      "partial-line",
    ]);
  });

  it("secret-mount-session: a single stage with RUN --mount takes the map's stage id", () => {
    const map = mapDockerfile(readDockerfile("docker-26.1", "secret-mount-session"));
    expect(map.map((s) => s.id)).toEqual(["stage-0"]);
    const { events } = single("docker-26.1", "secret-mount-session", map);
    expect(
      new Set(
        stepEvents(events).flatMap((e) => (e.step.kind === "instruction" ? [e.step.stage] : [])),
      ),
    ).toEqual(new Set(["stage-0"]));
  });
});

describe("createProgressTracker", () => {
  it("passes decoded messages through as daemon-status events when asked", () => {
    const { events } = run([{ folder: "docker-26.1", capture: "run-failure", target: "t" }], {
      daemonStatus: true,
    });
    const traces = streamLines("docker-26.1", "run-failure").filter((l) =>
      l.includes("moby.buildkit.trace"),
    );
    const passthrough = events.flatMap((e) => (e.type === "daemon-status" ? [e] : []));
    expect(passthrough).toHaveLength(traces.length);
    expect(passthrough.some((e) => e.status.logs.some((l) => l.msg.includes("compiling...")))).toBe(
      true,
    );
  });

  it("takes a target it was not told about, after the others", () => {
    const events: BuildEvent[] = [];
    const tracker = createProgressTracker({ targets: ["x"], onEvent: (e) => events.push(e) });
    const late = feedLines(tracker, "late");
    for (const line of streamLines("docker-26.1", "heredoc")) late.push(line);
    late.end();
    expect(tracker.summary().targets.map((t) => [t.target, t.steps.length > 0, t.ended])).toEqual([
      ["x", false, false],
      ["late", true, true],
    ]);
    expect(new Set(stepEvents(events).map((e) => e.target))).toEqual(new Set(["late"]));
  });

  it("keeps a vertex's progressGroup (COPY --link on a containerd-store daemon)", () => {
    const aux = (message: object): string =>
      JSON.stringify({
        id: "moby.buildkit.trace",
        aux: Buffer.from(statusResponseType.encode(message).finish()).toString("base64"),
      });
    const group = { id: "merge-1", name: "COPY --link a /a", weak: false };
    const events: BuildEvent[] = [];
    const tracker = createProgressTracker({ targets: ["t"], onEvent: (e) => events.push(e) });
    const feeder = feedLines(tracker, "t");
    feeder.push(
      aux({
        vertexes: [
          { digest: "d:from", name: "[final 1/2] FROM docker.io/library/busybox:local" },
          {
            digest: "d:link",
            inputs: ["d:from"],
            name: "[final 2/2] LINK COPY --link a /a",
            progressGroup: group,
          },
        ],
      }),
    );
    feeder.push(
      aux({
        vertexes: [
          {
            digest: "d:link",
            inputs: ["d:from"],
            name: "[final 2/2] LINK COPY --link a /a",
            progressGroup: group,
            started: { seconds: 10 },
            completed: { seconds: 11 },
          },
        ],
      }),
    );
    feeder.end();
    const step = tracker.summary().targets[0]!.steps.find((s) => s.step.digest === "d:link");
    expect(step).toMatchObject({
      progressGroup: group,
      status: "ran",
      durationMs: 1000,
      started: 10_000,
    });
    expect(stepEvents(events).map((e) => `${e.type} ${e.step.stage}`)).toEqual([
      "step-started final",
      "step-finished final",
    ]);
  });
});

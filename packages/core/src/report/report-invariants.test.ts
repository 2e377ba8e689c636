import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../events.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { createDockerfileMap } from "../plan/create-dockerfile-map.js";
import { createProgressTracker } from "../progress/create-progress-tracker.js";
import type { DecodedStatus } from "../progress/decode-status.js";
import { createBuildStreamReader, type BuildStreamResult } from "../progress/read-build-stream.js";
import type { BuildReport } from "./build-report.js";
import { createReportBuilder } from "./create-report-builder.js";

// The report's promises, checked over every recorded daemon stream and over orders the daemon could
// have sent the same statuses in (its status updates for different vertices arrive in any order):
// the critical path fits in the run, a stage fits in its target's build, done ≤ total, the numbers
// a live view shows equal the report's, and the same build gives the same counts.

const fixtures = join(import.meta.dirname, "..", "progress", "__fixtures__", "buildkit-streams");
const folders = ["docker-20.10", "docker-26.1"] as const;

interface Recording {
  name: string;
  dockerfile: string | undefined;
  /** Per target, the statuses of its stream and how the stream ended. */
  streams: { target: string; statuses: DecodedStatus[]; result: BuildStreamResult }[];
}

function readStream(folder: string, capture: string): Omit<Recording["streams"][0], "target"> {
  const statuses: DecodedStatus[] = [];
  const reader = createBuildStreamReader((status) => statuses.push(status));
  reader.push(readFileSync(join(fixtures, folder, `${capture}.ndjson`)));
  return { statuses, result: reader.end() };
}

function recordings(): Recording[] {
  const found: Recording[] = [];
  for (const folder of folders) {
    const captures = readdirSync(join(fixtures, folder))
      .filter((file) => file.endsWith(".ndjson"))
      .map((file) => file.slice(0, -".ndjson".length))
      .sort();
    for (const capture of captures) {
      // The two concurrent captures are one run of two targets.
      const pair = /^(.*)-(a|b)$/.exec(capture);
      if (pair?.[2] === "b") continue;
      const base = pair?.[1] ?? capture;
      const file = join(fixtures, folder, `${base}.Dockerfile`);
      const dockerfile = existsSync(file) ? readFileSync(file, "utf8") : undefined;
      const streams =
        pair === null
          ? [{ target: "", ...readStream(folder, capture) }]
          : (["a", "b"] as const).map((target) => ({
              target,
              ...readStream(folder, `${base}-${target}`),
            }));
      found.push({ name: `${folder}/${capture}`, dockerfile, streams });
    }
  }
  return found;
}

/** What the Dockerfile front end gives a run: the targets, the stages each needs, the edges. */
function frontEnd(recording: Recording): {
  targets: string[];
  targetStages: Record<string, string[]>;
  stages: { id: string; dependsOn: string[] }[];
  map: ReturnType<typeof createDockerfileMap> | undefined;
} {
  const requested = recording.streams.map((stream) => stream.target).filter((t) => t !== "");
  try {
    if (recording.dockerfile === undefined) throw new Error("no Dockerfile");
    const analysis = analyzeDockerfile(recording.dockerfile, { targets: requested });
    const id = (index: number): string => analysis.graph.stages[index]?.id ?? `stage-${index}`;
    return {
      targets: analysis.plan.targets.map((target) => target.id),
      targetStages: Object.fromEntries(
        analysis.plan.targets.map((target) => [target.id, target.reachable.map(id)]),
      ),
      stages: analysis.graph.stages.map((stage) => ({
        id: stage.id,
        dependsOn: stage.dependsOn.map(id),
      })),
      map: createDockerfileMap(analysis.graph),
    };
  } catch {
    // A capture of a Dockerfile the front end refuses (parse-error): the events alone.
    const targets = requested.length === 0 ? ["default"] : requested;
    return { targets, targetStages: {}, stages: [], map: undefined };
  }
}

/** The daemon's time of a status: the latest vertex timestamp it carries. */
function timeOf(status: DecodedStatus): number | null {
  let latest: number | null = null;
  for (const vertex of status.vertexes) {
    for (const stamp of [vertex.started, vertex.completed]) {
      if (stamp !== null) latest = latest === null ? stamp : Math.max(latest, stamp);
    }
  }
  return latest;
}

interface Run {
  events: BuildEvent[];
  report: BuildReport;
  /** Per stage, the numbers a live view printed when the stage ended (from the report so far). */
  live: Map<string, { stepsRun: number; stepsCached: number; durationMs: number }>;
  /** Every "done/total" a live frame would have shown with done > total (the TTY view's "8/7"). */
  overfull: string[];
}

/** One vertex's update (its state, a progress line, a log chunk or a warning) of one stream. */
interface Update {
  stream: number;
  vertex: string;
  status: DecodedStatus;
}

/**
 * Each stream's statuses split into one update per vertex, queued per stream and vertex: the daemon
 * sends a vertex's own updates in order, but those of different vertices (and streams) in any.
 */
function updateQueues(recording: Recording): Update[][] {
  const queues = new Map<string, Update[]>();
  const push = (stream: number, vertex: string, status: Partial<DecodedStatus>): void => {
    const key = `${stream}\u0000${vertex}`;
    const queue = queues.get(key) ?? [];
    queue.push({
      stream,
      vertex,
      status: { vertexes: [], statuses: [], logs: [], warnings: [], ...status },
    });
    queues.set(key, queue);
  };
  recording.streams.forEach((stream, index) => {
    for (const status of stream.statuses) {
      for (const vertex of status.vertexes) push(index, vertex.digest, { vertexes: [vertex] });
      for (const progress of status.statuses)
        push(index, progress.vertex, { statuses: [progress] });
      for (const log of status.logs) push(index, log.vertex, { logs: [log] });
      for (const warning of status.warnings) push(index, warning.vertex, { warnings: [warning] });
    }
  });
  return [...queues.values()];
}

/** The updates merged in an order `choices` picks (each choice picks one of the queues left). */
function interleave(
  queues: readonly Update[][],
  choices: readonly number[],
): { stream: number; status: DecodedStatus }[] {
  const left = queues.map((queue) => [...queue]);
  const merged: Update[] = [];
  let choice = 0;
  for (;;) {
    const open = left.filter((queue) => queue.length > 0);
    if (open.length === 0) break;
    const queue = open[(choices[choice++ % Math.max(1, choices.length)] ?? 0) % open.length]!;
    merged.push(queue.shift()!);
  }
  return merged.map((update) => ({ stream: update.stream, status: update.status }));
}

/**
 * Replays a recording as run-build does: the targets' statuses in the recorded order, or in the
 * order given (each with the index of its stream), each target's build from the first status to
 * its stream's end.
 */
function replay(
  recording: Recording,
  order?: readonly { stream: number; status: DecodedStatus }[],
): Run {
  const front = frontEnd(recording);
  const events: BuildEvent[] = [];
  const builder = createReportBuilder();
  const live: Run["live"] = new Map();
  const overfull: string[] = [];
  const emit = (event: BuildEvent): void => {
    builder.add(event);
    events.push(event);
    // run-build gives a stage's end the report's numbers so far (`withReportNumbers`): what plain's
    // "stage done in 1.2 s (2 run, 1 cached)" prints.
    if (event.type === "stage-finished") {
      const stage = builder.finish().stages.find((entry) => entry.stage === event.stage);
      if (stage !== undefined) live.set(event.stage, stage);
    }
    // The TTY view redraws from the report so far: after every step's end, no stage may show
    // more steps done than it has.
    if (
      event.type === "step-finished" ||
      event.type === "step-cached" ||
      event.type === "step-failed"
    ) {
      for (const stage of builder.finish().stages) {
        const done = stage.stepsRun + stage.stepsCached;
        if (done > stage.steps) overfull.push(`${stage.stage} ${done}/${stage.steps}`);
      }
    }
  };
  const all = recording.streams.flatMap((stream, index) =>
    stream.statuses.map((status) => ({ stream: index, status })),
  );
  const times = all.flatMap(({ status }) => {
    const time = timeOf(status);
    return time === null ? [] : [time];
  });
  const start = (times.length === 0 ? 0 : Math.min(...times)) - 5;
  const end = (times.length === 0 ? 0 : Math.max(...times)) + 5;
  let clock = start;
  const tracker = createProgressTracker({
    targets: front.targets,
    targetStages: front.targetStages,
    dockerfileMap: front.map,
    onEvent: emit,
    now: () => clock,
  });
  const targetOf = (index: number): string =>
    front.targets[index] ?? recording.streams[index]?.target ?? "default";
  emit({
    type: "run-started",
    time: start,
    schemaVersion: 2,
    targets: front.targets,
    stages: front.stages,
    targetStages: front.targetStages,
    concurrency: front.targets.length,
    engine: { endpoint: "unix:///fake.sock", version: "26.1.5", apiVersion: "1.45", platform: "" },
    context: { transfer: "tar", files: 1, bytes: 1, warnings: [] },
  } as unknown as BuildEvent);
  recording.streams.forEach((_, index) => {
    emit({ type: "target-queued", time: start, target: targetOf(index) });
    emit({ type: "target-started", time: start, target: targetOf(index), buildId: `b${index}` });
  });
  for (const entry of order ?? all) {
    clock = Math.max(clock, timeOf(entry.status) ?? clock);
    tracker.push(targetOf(entry.stream), entry.status);
  }
  clock = end;
  recording.streams.forEach((stream, index) => {
    const target = targetOf(index);
    tracker.end(target, stream.result);
    if (stream.result.error === undefined) {
      emit({
        type: "target-finished",
        time: end,
        target,
        imageId: stream.result.imageId ?? "",
        tags: [],
        durationMs: end - start,
      });
    } else {
      emit({
        type: "target-failed",
        time: end,
        target,
        durationMs: end - start,
        error: {
          code: "BUILD_FAILED",
          message: stream.result.error,
          logTail: [],
        },
      } as unknown as BuildEvent);
    }
  });
  emit({
    type: "run-finished",
    time: end,
    status: recording.streams.every((stream) => stream.result.error === undefined)
      ? "succeeded"
      : "failed",
    durationMs: end - start,
  } as unknown as BuildEvent);
  return { events, report: builder.finish(), live, overfull };
}

/** Every invariant the report promises; the messages say which one broke. */
function checkInvariants(run: Run): void {
  const { report } = run;
  const path = report.criticalPath;
  if (path !== null) {
    expect(path.durationMs, "critical path ≤ wall").toBeLessThanOrEqual(report.wallMs);
    for (const link of path.stages) {
      expect(link.addedMs, `${link.stage}: added ≤ its duration`).toBeLessThanOrEqual(
        link.durationMs,
      );
    }
  }
  expect(run.overfull, "done ≤ total in every live frame").toEqual([]);
  const targets = new Map(report.targets.map((target) => [target.target, target]));
  for (const stage of report.stages) {
    expect(stage.stepsRun + stage.stepsCached, `${stage.stage}: done ≤ total`).toBeLessThanOrEqual(
      stage.steps,
    );
    const totals = report.steps
      .filter((step) => step.stage === stage.stage)
      .map((step) => /^\[\S+ \d+\/(\d+)\]/.exec(step.name)?.[1]);
    for (const total of totals) {
      if (total !== undefined) {
        expect(stage.steps, `${stage.stage}: no more steps than [i/n] says`).toBeLessThanOrEqual(
          Number(total),
        );
      }
    }
    const owner = stage.target === null ? undefined : targets.get(stage.target);
    if (owner?.wallMs !== null && owner?.wallMs !== undefined) {
      expect(stage.durationMs, `${stage.stage}: within ${owner.target}`).toBeLessThanOrEqual(
        owner.wallMs,
      );
    }
    expect(stage.durationMs, `${stage.stage}: within the run`).toBeLessThanOrEqual(report.wallMs);
    const shown = run.live.get(stage.stage);
    if (shown !== undefined) {
      expect(
        { stepsRun: shown.stepsRun, stepsCached: shown.stepsCached, durationMs: shown.durationMs },
        `${stage.stage}: the live line says what the report says`,
      ).toEqual({
        stepsRun: stage.stepsRun,
        stepsCached: stage.stepsCached,
        durationMs: stage.durationMs,
      });
    }
  }
  for (const step of report.steps) {
    if (step.durationMs !== null) {
      expect(step.durationMs, `${step.name}: not negative`).toBeGreaterThanOrEqual(0);
    }
  }
  for (const slow of report.slowestSteps) {
    // `[internal] load build context` and exports are the target's overhead, not a step to speed up.
    expect(slow.name, "slowest steps: Dockerfile steps only").toMatch(/^\[(?:\S+ )?\d+\/\d+\] /);
  }
  const ran = report.steps.filter((step) => step.status === "ran" || step.status === "failed");
  expect(report.totals.stepsRun).toBe(ran.length);
  for (const target of report.targets) {
    expect(
      target.stepsRun + target.stepsShared,
      `${target.target}: ran ≤ all ran`,
    ).toBeLessThanOrEqual(ran.length);
  }
}

/** The counts a person compares between two runs. */
function counts(report: BuildReport): unknown {
  return {
    totals: report.totals,
    targets: report.targets.map((t) => [t.target, t.stepsRun, t.stepsShared, t.stepsCached]),
    stages: report.stages.map((s) => [s.stage, s.steps, s.stepsRun, s.stepsCached, s.status]),
  };
}

/**
 * A warm build of two targets from a registry cache (test/registry-cache.test.ts): both need the
 * intermediate stage `deps`, and BuildKit, finding the targets' own steps in the cache, cancels the
 * `deps` steps it had started in one or both streams (`context canceled`), sometimes after the
 * other stream reported them cached. Both builds succeed.
 */
function warmSharedStage(cancelledIn: "test" | "both", cachedFirst: boolean): Recording {
  const dockerfile = [
    "FROM busybox:local AS deps",
    "RUN echo deps > /deps",
    "RUN cp /deps /deps.copy",
    "FROM deps AS test",
    "RUN cat /deps.copy > /test-result",
    "FROM busybox:local AS app",
    "COPY --from=deps /deps /app/deps",
    "RUN echo app > /app/id",
    "",
  ].join("\n");
  const T = 1_800_000_000_000;
  const vertex = (
    digest: string,
    name: string,
    inputs: string[],
    state: Partial<DecodedStatus["vertexes"][number]> = {},
  ): DecodedStatus["vertexes"][number] => ({
    digest,
    name,
    inputs,
    cached: false,
    started: null,
    completed: null,
    error: null,
    progressGroup: null,
    ...state,
  });
  const status = (...vertexes: DecodedStatus["vertexes"]): DecodedStatus => ({
    vertexes,
    statuses: [],
    logs: [],
    warnings: [],
  });
  const from = vertex("d:from", "[deps 1/3] FROM docker.io/library/busybox:local", []);
  const deps2 = vertex("d:deps2", "[deps 2/3] RUN echo deps > /deps", ["d:from"]);
  const deps3 = vertex("d:deps3", "[deps 3/3] RUN cp /deps /deps.copy", ["d:deps2"]);
  const test = vertex("d:test", "[test 1/1] RUN cat /deps.copy > /test-result", ["d:deps3"]);
  const app2 = vertex("d:app2", "[app 2/3] COPY --from=deps /deps /app/deps", [
    "d:from",
    "d:deps2",
  ]);
  const app3 = vertex("d:app3", "[app 3/3] RUN echo app > /app/id", ["d:app2"]);
  const cached = { cached: true, started: T + 10, completed: T + 20 };
  const cancelled = { started: T + 10, completed: T + 30, error: "context canceled" };
  const fromCache = status(vertex(from.digest, from.name, [], cached));
  const depsCancelled = status(
    vertex(deps2.digest, deps2.name, deps2.inputs, cancelled),
    vertex(deps3.digest, deps3.name, deps3.inputs, cancelled),
  );
  const depsCached = status(
    vertex(deps2.digest, deps2.name, deps2.inputs, cached),
    vertex(deps3.digest, deps3.name, deps3.inputs, cached),
  );
  const testStream: DecodedStatus[] = [
    status(from, deps2, deps3, test),
    fromCache,
    ...(cachedFirst ? [] : [depsCancelled]),
    status(vertex(test.digest, test.name, test.inputs, { ...cached, completed: T + 40 })),
  ];
  const appStream: DecodedStatus[] = [
    status(from, deps2, deps3, app2, app3),
    fromCache,
    ...(cachedFirst ? [depsCached] : []),
    ...(cancelledIn === "both" || cachedFirst ? [depsCancelled] : []),
    status(
      vertex(app2.digest, app2.name, app2.inputs, { ...cached, completed: T + 40 }),
      vertex(app3.digest, app3.name, app3.inputs, { ...cached, completed: T + 50 }),
    ),
  ];
  return {
    name: `synthetic/warm-shared-stage-cancelled-in-${cachedFirst ? "app-after-cached" : cancelledIn}`,
    dockerfile,
    streams: [
      { target: "test", statuses: testStream, result: { imageId: "sha256:1", error: undefined } },
      { target: "app", statuses: appStream, result: { imageId: "sha256:2", error: undefined } },
    ],
  };
}

const synthetic = [
  warmSharedStage("test", false),
  warmSharedStage("both", false),
  warmSharedStage("test", true),
];
const all = [...recordings(), ...synthetic];

describe("report invariants", () => {
  it("has recordings to check", () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it.each(synthetic.map((recording) => [recording.name, recording] as const))(
    "%s: a step a succeeded build did not need is cached, not cancelled, in any order",
    (_name, recording) => {
      const queues = updateQueues(recording);
      fc.assert(
        fc.property(fc.array(fc.nat({ max: 1000 }), { maxLength: 40 }), (choices) => {
          const { report, events } = replay(
            recording,
            choices.length === 0 ? undefined : interleave(queues, choices),
          );
          expect(report.status).toBe("succeeded");
          expect(
            report.stages.map((stage) => [
              stage.stage,
              stage.status,
              stage.stepsRun,
              stage.stepsCached,
            ]),
          ).toEqual([
            ["deps", "cached", 0, 2],
            ["test", "cached", 0, 1],
            ["app", "cached", 0, 2],
          ]);
          expect(events.filter((event) => event.type === "step-failed")).toEqual([]);
          expect(events.filter((event) => event.type === "stage-failed")).toEqual([]);
        }),
        { numRuns: 50, seed: 15 },
      );
    },
  );

  describe.each(all.map((recording) => [recording.name, recording] as const))(
    "%s",
    (_name, recording) => {
      it("holds in the recorded order", () => {
        checkInvariants(replay(recording));
      });

      it("holds in any order the statuses can arrive in, with the same counts", () => {
        const queues = updateQueues(recording);
        const inOrder = counts(replay(recording).report);
        fc.assert(
          fc.property(
            fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 200 }),
            (choices) => {
              const run = replay(recording, interleave(queues, choices));
              checkInvariants(run);
              expect(counts(run.report)).toEqual(inOrder);
            },
          ),
          { numRuns: 25, seed: 15 },
        );
      });

      it("gives the same counts twice", () => {
        expect(counts(replay(recording).report)).toEqual(counts(replay(recording).report));
      });
    },
  );
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildEvent } from "./events.js";
import { analyzeDockerfile } from "./plan/analyze-dockerfile.js";
import { runBuild } from "./scheduler/run-build.js";
import { FakeEngine, type FakeBuildScript } from "./testing/fake-engine.js";

// The events of real daemon streams (recorded on Docker 26.1, see the fixtures' README) are what
// `onEvent` and `--progress json` hand out; docs/build-event.schema.json promises their shape, and
// events.schema.test.ts keeps that schema in step with the types. This checks the values.
const fixtures = new URL("progress/__fixtures__/buildkit-streams/docker-26.1/", import.meta.url);
const schema = JSON.parse(
  readFileSync(new URL("../docs/build-event.schema.json", import.meta.url), "utf8"),
) as object;

function streamLines(name: string): string[] {
  return readFileSync(new URL(`${name}.ndjson`, fixtures), "utf8")
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line !== "");
}

/** The daemon's message on the last line of a failed build's stream. */
function daemonError(lines: readonly string[]): string {
  return (JSON.parse(lines.at(-1) ?? "{}") as { errorDetail: { message: string } }).errorDetail
    .message;
}

const context = mkdtempSync(join(tmpdir(), "stagecraft-events-"));
afterAll(() => {
  rmSync(context, { recursive: true, force: true });
});

/**
 * Builds with the Dockerfile a stream was recorded from, the engine replaying the recorded streams
 * (`scripts` by stage; `(default)` for the last stage).
 */
async function eventsOf(
  recording: string,
  scripts: Record<string, FakeBuildScript>,
  options: { targets?: string[]; keepGoing?: boolean } = {},
): Promise<BuildEvent[]> {
  const dockerfile = readFileSync(new URL(`${recording}.Dockerfile`, fixtures), "utf8");
  writeFileSync(join(context, "Dockerfile"), dockerfile);
  const events: BuildEvent[] = [];
  await runBuild({
    engine: new FakeEngine(scripts),
    analysis: analyzeDockerfile(dockerfile, { targets: options.targets ?? [] }),
    context: { dir: context, dockerfile: join(context, "Dockerfile") },
    keepGoing: options.keepGoing,
    onEvent: (event) => events.push(event),
  });
  return events;
}

const replay = (name: string): FakeBuildScript => ({ lines: streamLines(name), durationMs: 5 });

describe("BuildEvent values from recorded daemon streams", async () => {
  const failure = streamLines("run-failure");
  const broken = { lines: failure, failWith: daemonError(failure), durationMs: 1 };
  const events = [
    ...(await eventsOf("multistage-parallel", { "(default)": replay("multistage-parallel") })),
    ...(await eventsOf("multistage-parallel-cached", {
      "(default)": replay("multistage-parallel-cached"),
    })),
    ...(await eventsOf("warning-empty-continuation", {
      "(default)": replay("warning-empty-continuation"),
    })),
    ...(await eventsOf("session-context", { "(default)": replay("session-context") })),
    // Fail-fast: broken fails, base (still running) is cancelled.
    ...(await eventsOf(
      "run-failure",
      { broken, base: { lines: [], durationMs: 5_000 } },
      { targets: ["broken", "base"] },
    )),
  ];

  it("covers the kinds of event a run has", () => {
    const kinds = new Set(events.map((event) => event.type));
    expect([...kinds]).toEqual(
      expect.arrayContaining([
        ...["run-started", "run-finished", "target-queued", "target-started", "target-finished"],
        ...["target-failed", "target-cancelled", "stage-started", "stage-finished", "stage-failed"],
        ...["step-started", "step-cached", "step-finished", "step-failed", "log", "warning"],
        "transfer",
      ]),
    );
  });

  it("are plain JSON: a round trip through JSON gives the same values", () => {
    // No class instances, Dates, Maps, NaN or Infinity. (An optional field may be present as
    // undefined, e.g. TargetError's `hint?: string | undefined`; JSON leaves it out.)
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
  });

  it("match the published JSON Schema", () => {
    // Not strict: the schema carries its own `version` keyword.
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const invalid: { type: string; errors: unknown }[] = [];
    for (const event of events) {
      const valid: boolean = validate(event);
      if (!valid) invalid.push({ type: event.type, errors: validate.errors });
    }
    expect(invalid).toEqual([]);
  });
});

// What an embedder writes against the package root, checked by the compiler (`pnpm run typecheck`
// type-checks this file) and run against the fake engine: errors narrow on `code`, the outcome
// carries its typed report, and `run-started` names the engine.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  EngineError,
  UsageError,
  analyzeDockerfile,
  runBuild,
  type AnyStagecraftError,
  type BuildEvent,
  type BuildOutcome,
  type BuildReport,
} from "./index.js";
import type { EngineInfo } from "./engine/index.js";
import { FakeEngine } from "./testing/index.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const DOCKERFILE = "FROM scratch AS app\nCOPY Dockerfile /\nFROM app AS test\nCOPY Dockerfile /t\n";

async function build(engine: FakeEngine, targets: string[], events: BuildEvent[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-embedder-"));
  dirs.push(dir);
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  return runBuild({
    engine,
    analysis: analyzeDockerfile(DOCKERFILE, { targets }),
    context: { dir, dockerfile: join(dir, "Dockerfile") },
    onEvent: (event) => events.push(event),
  });
}

describe("the package root, as an embedder types it", () => {
  it("narrows a target's error on code: BUILD_FAILED gives the log tail without instanceof", async () => {
    const outcome = await build(new FakeEngine({ test: { failWith: "exit code: 1" } }), ["test"]);
    const error = outcome.targets[0]?.error;
    expectTypeOf(error).toEqualTypeOf<AnyStagecraftError | undefined>();
    if (error?.code !== "BUILD_FAILED")
      throw new Error(`expected BUILD_FAILED, got ${error?.code}`);
    expectTypeOf(error.logTail).toEqualTypeOf<readonly string[]>();
    expectTypeOf(error.target).toEqualTypeOf<string>();
    expectTypeOf(error.daemonMessage).toEqualTypeOf<string>();
    expect(error.target).toBe("test");
    expect(error.daemonMessage).toBe("exit code: 1");
    expect(error.logTail).toEqual([]);
  });

  it("narrows other codes to their own fields", () => {
    const describe = (error: AnyStagecraftError): string => {
      switch (error.code) {
        case "ENGINE_UNREACHABLE":
          expectTypeOf(error.statusCode).toEqualTypeOf<number | undefined>();
          return "engine";
        case "PUSH_FAILED":
          expectTypeOf(error.tag).toEqualTypeOf<string>();
          return "push";
        case "MISSING_SECRET":
          expectTypeOf(error.secretId).toEqualTypeOf<string>();
          return "secret";
        default:
          return error.message;
      }
    };
    expectTypeOf(describe).parameter(0).toHaveProperty("hint");
    expect(describe(new EngineError("ENGINE_UNREACHABLE", "no engine at unix:///x.sock"))).toBe(
      "engine",
    );
    expect(describe(new UsageError("bad flag"))).toBe("bad flag");
  });

  it("carries its report, typed, on the outcome", async () => {
    const outcome = await build(new FakeEngine(), ["test"]);
    expectTypeOf(outcome).toEqualTypeOf<BuildOutcome>();
    expectTypeOf(outcome.report).toEqualTypeOf<BuildReport>();
    expectTypeOf(outcome.report.targets[0]!.stepsShared).toEqualTypeOf<number>();
    expectTypeOf(outcome.engine).toEqualTypeOf<EngineInfo>();
    expect(outcome.report.targets.map((target) => [target.target, target.status])).toEqual([
      ["test", "succeeded"],
    ]);
  });

  it("names the engine in run-started, without any option", async () => {
    const events: BuildEvent[] = [];
    await build(new FakeEngine(), ["app"], events);
    const started = events.find((event) => event.type === "run-started");
    if (started?.type !== "run-started") throw new Error("no run-started event");
    expectTypeOf(started.engine).toEqualTypeOf<{
      endpoint: string;
      version: string;
      apiVersion: string;
      platform: string;
    }>();
    expect(started.engine).toEqual({
      endpoint: "fake://",
      version: "26.1.5",
      apiVersion: "1.45",
      platform: "linux/amd64",
    });
  });
});

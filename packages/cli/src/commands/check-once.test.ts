import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildOutcome } from "@stagecraft/core";
import * as checks from "@stagecraft/core/checks";
import type { CheckReport } from "@stagecraft/core/checks";
import * as engine from "@stagecraft/core/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkReportToJson } from "../renderers/format-check-report.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { checkBeforeBuild, checkBuiltImages } from "./check.js";

// Spies that pass through, so the counts are of the real work; only the image scan is faked (it
// needs a built image on an engine).
vi.mock("@stagecraft/core/checks", async (original) => {
  const actual = await original<typeof import("@stagecraft/core/checks")>();
  return { ...actual, checkDockerfile: vi.fn(actual.checkDockerfile) };
});
vi.mock("@stagecraft/core/engine", async (original) => {
  const actual = await original<typeof import("@stagecraft/core/engine")>();
  return {
    ...actual,
    gatherContextFacts: vi.fn(actual.gatherContextFacts),
    inspectBaseImages: vi.fn(actual.inspectBaseImages),
    scanImageLayers: vi.fn(() =>
      Promise.resolve({
        method: "export",
        layers: [{ index: 0, paths: ["/usr/bin/gcc"], bytes: 1 }],
      }),
    ),
  };
});

/** An engine is only handed to the (faked) scan. */
const ENGINE = { local: false } as Parameters<typeof engine.scanImageLayers>[0];

/** A build outcome with one succeeded target. */
function builtTarget(target: string, imageId: string, line: number): BuildOutcome {
  return {
    report: {
      targets: [
        {
          target,
          status: "succeeded",
          imageId,
          layers: [{ createdBy: "RUN apk add gcc", origin: "stage", stage: target, line }],
        },
      ],
    },
  } as unknown as BuildOutcome;
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  vi.clearAllMocks();
});

/** An Io in `dir` with no engine behind DOCKER_HOST. */
function projectIo(at: string): ReturnType<typeof createMemoryIo> {
  return {
    ...createMemoryIo({ env: { DOCKER_HOST: `unix://${join(at, "no-engine.sock")}` } }),
    cwd: at,
  };
}

function request(targets: string[] = []) {
  return { contextDir: ".", file: undefined, targets, buildArgs: {}, platform: undefined };
}

describe("build --check", () => {
  it("reads, walks, inspects and checks once before the build; after it, only the image layers", async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-check-once-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM alpine:3.22 AS app\nUSER 1\nCOPY . /src\n");
    const io = projectIo(dir);

    const before = await checkBeforeBuild(io, request(), undefined);
    expect(before.failed).toBeUndefined();
    const outcome = builtTarget("app", "sha256:0123", 3);
    const code = await checkBuiltImages(io, before.checked, undefined, [
      { engine: ENGINE, outcome },
    ]);

    expect(vi.mocked(engine.scanImageLayers)).toHaveBeenCalledTimes(1);
    // Once before the build, once with the image's layers: no third run to diff against.
    expect(vi.mocked(checks.checkDockerfile)).toHaveBeenCalledTimes(2);
    expect(vi.mocked(engine.gatherContextFacts)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(engine.inspectBaseImages)).toHaveBeenCalledTimes(1);
    const second = vi.mocked(checks.checkDockerfile).mock.calls[1]?.[1];
    expect(second?.analysis).toBe(before.checked.options.analysis);
    expect(second?.context).toBe(before.checked.options.context);
    // What the image adds is reported, and only that.
    expect(io.stderr.text()).toContain("ShippedBuildTools");
    expect(io.stderr.text()).toContain("/usr/bin/gcc");
    expect(code).toBe(0);
  });

  it("says which layer of the image was not scanned and why, and only that note again", async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-check-once-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM alpine:3.22 AS app\nUSER 1\nCOPY . /src\n");
    const io = projectIo(dir);
    const before = await checkBeforeBuild(io, request(), undefined);
    const printed = io.stderr.text().length;
    expect(io.stderr.text()).toContain("note: base images not inspected");
    const why = "it is compressed with zstd, which the zlib of Node v20.0.0 cannot decompress";
    vi.mocked(engine.scanImageLayers).mockResolvedValueOnce({
      method: "export",
      layers: [{ index: 0, paths: [], bytes: 0, unreadable: why }],
    });
    const code = await checkBuiltImages(io, before.checked, undefined, [
      { engine: ENGINE, outcome: builtTarget("app", "sha256:0123", 3) },
    ]);
    const notes = io.stderr
      .text()
      .slice(printed)
      .split("\n")
      .filter((line) => line.startsWith("note:"));
    // The notes from before the build (base images not inspected: no engine) are not repeated.
    expect(notes).toEqual([
      `note: layer 0 (made by line 3 of stage "app") of stage "app"'s image was not scanned for build tools: ${why}`,
    ]);
    // The JSON form (`--format json`, an embedder's report) carries the same note.
    const report = vi.mocked(checks.checkDockerfile).mock.results[1]?.value as CheckReport;
    expect(checkReportToJson("Dockerfile", report).notes).toContain(
      notes[0]?.slice("note: ".length),
    );
    expect(code).toBe(0);
  });

  it("scans each target's image on the engine that built it (a pool)", async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-check-once-"));
    writeFileSync(
      join(dir, "Dockerfile"),
      "FROM alpine:3.22 AS api\nUSER 1\nRUN true\nFROM alpine:3.22 AS web\nUSER 1\nRUN true\n",
    );
    const io = projectIo(dir);
    const before = await checkBeforeBuild(io, request(["api", "web"]), undefined);
    const pool1 = { local: false } as typeof ENGINE;
    const pool2 = { local: false } as typeof ENGINE;
    const code = await checkBuiltImages(io, before.checked, undefined, [
      { engine: pool1, outcome: builtTarget("api", "sha256:aaaa", 3) },
      { engine: pool2, outcome: builtTarget("web", "sha256:bbbb", 6) },
    ]);
    const calls = vi.mocked(engine.scanImageLayers).mock.calls;
    expect(calls.map(([on, image]) => [on, image])).toEqual([
      [pool1, "sha256:aaaa"],
      [pool2, "sha256:bbbb"],
    ]);
    const found = io.stderr
      .text()
      .split("\n")
      .filter((line) => line.includes("ShippedBuildTools"));
    expect(found).toHaveLength(2);
    expect(found.join("\n")).toMatch(/Dockerfile:3:.*gcc/);
    expect(found.join("\n")).toMatch(/Dockerfile:6:.*gcc/);
    expect(code).toBe(0);
  });
});

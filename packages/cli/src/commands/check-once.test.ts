import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildOutcome } from "@stagecraft/core";
import * as checks from "@stagecraft/core/checks";
import * as engine from "@stagecraft/core/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
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

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  vi.clearAllMocks();
});

describe("build --check", () => {
  it("reads, walks, inspects and checks once before the build; after it, only the image layers", async () => {
    dir = mkdtempSync(join(tmpdir(), "stagecraft-check-once-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM alpine:3.22 AS app\nUSER 1\nCOPY . /src\n");
    const io = {
      ...createMemoryIo({ env: { DOCKER_HOST: `unix://${join(dir, "no-engine.sock")}` } }),
      cwd: dir,
    } as ReturnType<typeof createMemoryIo>;
    const request = {
      contextDir: ".",
      file: undefined,
      targets: [],
      buildArgs: {},
      platform: undefined,
    };

    const before = await checkBeforeBuild(io, request, undefined);
    expect(before.failed).toBeUndefined();
    const outcome = {
      report: {
        targets: [
          {
            target: "app",
            status: "succeeded",
            imageId: "sha256:0123",
            layers: [{ createdBy: "RUN apk add gcc", origin: "stage", stage: "app", line: 3 }],
          },
        ],
      },
    } as unknown as BuildOutcome;
    const code = await checkBuiltImages(io, before.checked, undefined, outcome);

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
});

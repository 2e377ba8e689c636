import { EngineError, analyzeDockerfile } from "@stagecraft/core";
import { describe, expect, it } from "vitest";
import { FakeEngine } from "@stagecraft/core/testing";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { warnOfForeignPlatforms } from "./warn-of-foreign-platforms.js";

// What every fake engine answers: Docker 26.1.5 on linux/amd64.
const INFO = await new FakeEngine().info();

/** An amd64 engine whose BuildKit runs only amd64 programs (no emulation installed). */
const engine = {
  info: () => Promise.resolve(INFO),
  listWorkers: () =>
    Promise.resolve([{ id: "w", labels: {}, platforms: ["linux/amd64", "linux/386"] }]),
};

const analysis = analyzeDockerfile(
  [
    "FROM --platform=$BUILDPLATFORM stagecraft/busybox AS build",
    "RUN echo built > /out",
    "FROM stagecraft/busybox AS app",
    "COPY --from=build /out /out",
    "RUN cat /out",
    "",
  ].join("\n"),
  { file: "Dockerfile", platform: "linux/amd64", targets: ["app"] },
);

describe("warnOfForeignPlatforms (build --platform)", () => {
  it("names the RUN steps built for a platform the engine cannot run, as bake does", async () => {
    const io = createMemoryIo();
    await warnOfForeignPlatforms(io, engine, analysis, ["linux/amd64", "linux/arm64"]);
    expect(io.stderr.text()).toBe(
      'warning: target "app": platform linux/arm64 is not the engine\'s own (linux/amd64) and its BuildKit cannot run linux/arm64 programs (it runs linux/amd64, linux/386; no emulation is installed): the RUN steps built for linux/arm64 at Dockerfile:5 (stage app) fail with "exec format error" (unless a base image has no linux/arm64 variant and BuildKit runs the one it has). Install QEMU emulation (binfmt) on the engine\'s machine, or build on an engine of that platform.\n',
    );
  });

  it("warns of one foreign platform too (--platform linux/arm64 alone)", async () => {
    const io = createMemoryIo();
    const forArm = analyzeDockerfile(analysis.input.text, {
      file: "Dockerfile",
      platform: "linux/arm64",
      targets: ["app"],
    });
    await warnOfForeignPlatforms(io, engine, forArm, ["linux/arm64"]);
    expect(io.stderr.text()).toContain(
      "platform linux/arm64 is not the engine's own (linux/amd64) and its BuildKit cannot run linux/arm64 programs",
    );
    expect(io.stderr.text()).toContain("Dockerfile:5 (stage app)");
  });

  it("says nothing without --platform or for an engine that does not answer", async () => {
    const io = createMemoryIo();
    await warnOfForeignPlatforms(io, engine, analysis, undefined);
    const gone = {
      info: () => Promise.reject(new EngineError("ENGINE_UNREACHABLE", "no engine")),
    };
    await warnOfForeignPlatforms(io, gone, analysis, ["linux/amd64", "linux/arm64"]);
    expect(io.stderr.text()).toBe("");
  });
});

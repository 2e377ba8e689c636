import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { readEngineReadiness } from "./read-engine-readiness.js";

describe("readEngineReadiness", () => {
  it("asks the engine for each image once and reports the ones it lacks", async () => {
    const engine = new FakeEngine();
    engine.addImage(["debian:12"]);
    const analysis = analyzeDockerfile(
      "FROM debian:12 AS a\nFROM debian:12 AS b\nCOPY --from=busybox:1.36 /bin/sh /\n",
      { targets: ["a", "b"] },
    );
    const checks = await readEngineReadiness(engine, analysis, { canPull: false });
    expect(engine.inspected).toEqual(["debian:12", "busybox:1.36"]);
    expect(checks.map((check) => [check.rule, check.severity, check.reference])).toEqual([
      ["ImageNotInEngine", "error", "busybox:1.36"],
    ]);
  });

  it("finds a pinned image by its digest, not by its tag", async () => {
    const digest = `sha256:${"cd".repeat(32)}`;
    const engine = new FakeEngine();
    engine.addImage(["alpine:3.20"]);
    const analysis = analyzeDockerfile(`FROM alpine:3.20@${digest}\n`);
    expect((await readEngineReadiness(engine, analysis)).map((check) => check.rule)).toEqual([
      "DigestNotInEngine",
    ]);
    engine.addImage([`alpine@${digest}`]);
    expect(await readEngineReadiness(engine, analysis)).toEqual([]);
  });

  it("does not ask for a name given as a named context, which BuildKit reads instead of an image", async () => {
    const engine = new FakeEngine();
    const analysis = analyzeDockerfile(
      "FROM base\nCOPY --from=lib /x /x\nCOPY --from=tools /y /y\n",
    );
    const checks = await readEngineReadiness(engine, analysis, {
      canPull: false,
      namedContexts: ["base", "lib"],
    });
    expect(engine.inspected).toEqual(["tools"]);
    expect(checks.map((check) => [check.rule, check.reference])).toEqual([
      ["ImageNotInEngine", "tools"],
    ]);
  });
});

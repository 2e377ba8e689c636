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

  describe("asks the registries of the images the engine lacks whether it could pull them", () => {
    const text = "FROM stagecraft/absent:1 AS app\nCOPY --from=127.0.0.1:5000/tools:1 /t /t\n";

    it("leaves a missing image the registry has a warning, and asks only for missing images", async () => {
      const engine = new FakeEngine();
      engine.addImage(["stagecraft/absent:1"]);
      const checks = await readEngineReadiness(engine, analyzeDockerfile(text));
      expect(engine.distributionAsked).toEqual(["127.0.0.1:5000/tools:1"]);
      expect(checks).toMatchObject([
        {
          rule: "ImageNotInEngine",
          severity: "warning",
          line: 2,
          message: expect.stringMatching(
            /its registry \(127\.0\.0\.1:5000\) has it \(sha256:[0-9a-f]{64}\), so the engine pulls it/,
          ) as string,
        },
      ]);
    });

    it("makes an unreachable registry an error with the daemon's words and the fixes", async () => {
      const engine = new FakeEngine();
      const words =
        'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on …: no such host';
      engine.setRegistryAnswer("stagecraft/absent:1", { kind: "unreachable", message: words });
      const checks = await readEngineReadiness(engine, analyzeDockerfile(text));
      const [check] = checks;
      expect(check).toMatchObject({
        rule: "ImageNotInEngine",
        severity: "error",
        stage: "app",
        line: 1,
      });
      expect(check?.message).toBe(
        `FROM stagecraft/absent:1 is not in the engine: the engine cannot reach its registry (docker.io), so the build fails before any step runs: ${words}`,
      );
      expect(check?.fix).toContain("docker load -i FILE");
      expect(check?.fix).toContain("--build-context stagecraft/absent:1=docker-image://REF");
      expect(check?.fix).toContain("registry-mirrors in daemon.json");
      // The other image's registry answered: it stays a warning.
      expect(checks.map((each) => each.severity)).toEqual(["error", "warning"]);
    });

    it("makes a registry that refuses the login (401) an error that says docker login", async () => {
      const engine = new FakeEngine();
      engine.setRegistryAnswer("127.0.0.1:5000/tools:1", {
        kind: "denied",
        message: "unauthorized: authentication required",
      });
      engine.setRegistryAnswer("stagecraft/absent:1", {
        kind: "absent",
        message: "manifest unknown: manifest unknown",
      });
      const checks = await readEngineReadiness(engine, analyzeDockerfile(text));
      expect(checks.map((check) => [check.severity, check.reference])).toEqual([
        ["error", "stagecraft/absent:1"],
        ["error", "127.0.0.1:5000/tools:1"],
      ]);
      expect(checks[0]?.message).toContain(
        "its registry (docker.io) has no such image, so the build fails before any step runs: manifest unknown",
      );
      expect(checks[1]?.message).toContain(
        "its registry (127.0.0.1:5000) refused the engine, so the build fails before any step runs: unauthorized: authentication required",
      );
      expect(checks[1]?.fix).toMatch(/^docker login 127\.0\.0\.1:5000 /);
      // The registry mirror is Docker Hub's only.
      expect(checks[1]?.fix).not.toContain("registry-mirrors");
    });

    it("gives silent registries one budget, all at once, and leaves them warnings", async () => {
      const engine = new FakeEngine();
      engine.setRegistryAnswer("stagecraft/absent:1", "silent");
      engine.setRegistryAnswer("127.0.0.1:5000/tools:1", "silent");
      const checking = readEngineReadiness(engine, analyzeDockerfile(text), {
        registryTimeoutMs: 200,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Both asked before either answered: one budget for all, not one per image.
      expect(engine.distributionAsked).toHaveLength(2);
      const checks = await checking;
      expect(checks.map((check) => check.severity)).toEqual(["warning", "warning"]);
      expect(checks[0]?.message).toContain(
        "its registry (docker.io) did not answer the engine within 200 ms",
      );
    });

    it("stops waiting for the registries when the caller aborts", async () => {
      const engine = new FakeEngine();
      engine.setRegistryAnswer("stagecraft/absent:1", "silent");
      const controller = new AbortController();
      const checking = readEngineReadiness(engine, analyzeDockerfile(text), {
        signal: controller.signal,
      });
      setTimeout(() => {
        controller.abort(new Error("interrupted"));
      }, 20);
      await expect(checking).rejects.toThrow("interrupted");
    });

    it("asks no registry with --no-pull, nor when every image is there", async () => {
      const engine = new FakeEngine();
      const offline = await readEngineReadiness(engine, analyzeDockerfile(text), {
        canPull: false,
      });
      expect(offline.map((check) => check.severity)).toEqual(["error", "error"]);
      engine.addImage(["stagecraft/absent:1"]);
      engine.addImage(["127.0.0.1:5000/tools:1"]);
      expect(await readEngineReadiness(engine, analyzeDockerfile(text))).toEqual([]);
      expect(engine.distributionAsked).toEqual([]);
    });

    it("says the same of a # syntax= frontend image its registry cannot give", async () => {
      const engine = new FakeEngine();
      engine.setRegistryAnswer("docker/dockerfile:1", {
        kind: "unreachable",
        message: "no such host",
      });
      const checks = await readEngineReadiness(
        engine,
        analyzeDockerfile("# syntax=docker/dockerfile:1\nFROM scratch\n"),
      );
      expect(checks).toMatchObject([
        {
          rule: "SyntaxFrontendImage",
          severity: "error",
          line: 1,
          reference: "docker/dockerfile:1",
        },
      ]);
      expect(checks[0]?.fix).toMatch(/^Remove the # syntax= line .*. Seed the engine: /);
    });
  });
});

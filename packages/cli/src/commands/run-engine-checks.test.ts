import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "@stagecraft/core";
import { FakeEngine } from "@stagecraft/core/testing";
import { BuildkitEngine } from "@stagecraft/core/engine";
import { runEngineChecks, runPoolEngineChecks } from "./run-engine-checks.js";

// a on main, b on p1; each FROM its own base, and b also copies from a tools image.
const DOCKERFILE = [
  "FROM stagecraft/a-base:1 AS a",
  "RUN make a",
  "FROM stagecraft/b-base:1 AS b",
  "COPY --from=127.0.0.1:5000/sc/tools:1 /bin/tool /bin/tool",
  "RUN make b",
  "",
].join("\n");
const PLACEMENT = {
  targets: [
    { target: "a", engine: "main" },
    { target: "b", engine: "p1" },
  ],
};

function pool(): { main: FakeEngine; p1: FakeEngine } {
  const main = new FakeEngine();
  main.addImage(["stagecraft/a-base:1"]);
  return { main, p1: new FakeEngine() };
}

async function check(
  engines: { main: FakeEngine; p1: FakeEngine },
  options: { canPull?: boolean; registryTimeoutMs?: number } = {},
) {
  const analysis = analyzeDockerfile(DOCKERFILE, { targets: ["a", "b"] });
  return runPoolEngineChecks(
    [
      { name: "main", engine: engines.main },
      { name: "p1", engine: engines.p1 },
    ],
    analysis,
    PLACEMENT,
    { pinBases: false, ...options },
  );
}

describe("runPoolEngineChecks asks each engine's registry access", () => {
  it("asks only the engine that lacks an image for what it builds, and warns when it is there", async () => {
    const engines = pool();
    // main lacks b's images too, but builds nothing that needs them.
    const [main, p1] = await check(engines);
    expect(engines.main.distributionAsked).toEqual([]);
    expect(engines.p1.distributionAsked.sort()).toEqual([
      "127.0.0.1:5000/sc/tools:1",
      "stagecraft/b-base:1",
    ]);
    expect(main?.checks).toEqual([]);
    expect(p1?.checks.map((entry) => [entry.rule, entry.severity, entry.reference])).toEqual([
      ["ImageNotInEngine", "warning", "stagecraft/b-base:1"],
      ["ImageNotInEngine", "warning", "127.0.0.1:5000/sc/tools:1"],
    ]);
    expect(p1?.checks[0]?.message).toMatch(/its registry \(docker\.io\) has it \(sha256:/);
  });

  it("makes a registry the engine cannot reach an error of that engine, in the daemon's words", async () => {
    const engines = pool();
    engines.p1.setRegistryAnswer("127.0.0.1:5000/sc/tools:1", {
      kind: "unreachable",
      message: "dial tcp 127.0.0.1:5000: connect: connection refused",
    });
    // The same image is fine from main, which does not need it: only p1's finding is an error.
    const [main, p1] = await check(engines);
    expect(main).toMatchObject({ name: "main", checks: [] });
    expect(p1?.name).toBe("p1");
    const tools = p1?.checks.find((entry) => entry.reference === "127.0.0.1:5000/sc/tools:1");
    expect(tools).toMatchObject({ rule: "ImageNotInEngine", severity: "error", stage: "b" });
    expect(tools?.message).toContain(
      "the engine cannot reach its registry (127.0.0.1:5000), so the build fails before any step runs: dial tcp 127.0.0.1:5000: connect: connection refused",
    );
    expect(tools?.fix).toMatch(/^Seed the engine: docker load/);
    expect(p1?.checks.find((entry) => entry.reference === "stagecraft/b-base:1")?.severity).toBe(
      "warning",
    );
  });

  it("leaves a registry silent past the budget a warning, every engine asked at once", async () => {
    const engines = { main: new FakeEngine(), p1: new FakeEngine() };
    engines.main.setRegistryAnswer("stagecraft/a-base:1", "silent");
    engines.p1.setRegistryAnswer("stagecraft/b-base:1", "silent");
    engines.p1.setRegistryAnswer("127.0.0.1:5000/sc/tools:1", "silent");
    const checking = check(engines, { registryTimeoutMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Every question of every engine is out before any budget ends: one budget, not one per engine.
    expect(engines.main.distributionAsked).toHaveLength(1);
    expect(engines.p1.distributionAsked).toHaveLength(2);
    const [main, p1] = await checking;
    expect(main?.checks.map((entry) => entry.severity)).toEqual(["warning"]);
    expect(p1?.checks.map((entry) => entry.severity)).toEqual(["warning", "warning"]);
    for (const entry of [...(main?.checks ?? []), ...(p1?.checks ?? [])]) {
      expect(entry.message).toMatch(/did not answer the engine within 200 ms/);
    }
  });

  it("stops waiting for the registries when the caller aborts", async () => {
    const engines = pool();
    engines.p1.setRegistryAnswer("stagecraft/b-base:1", "silent");
    const controller = new AbortController();
    const analysis = analyzeDockerfile(DOCKERFILE, { targets: ["a", "b"] });
    const checking = runPoolEngineChecks(
      [
        { name: "main", engine: engines.main },
        { name: "p1", engine: engines.p1 },
      ],
      analysis,
      PLACEMENT,
      { pinBases: false, signal: controller.signal },
    );
    setTimeout(() => {
      controller.abort(new Error("interrupted"));
    }, 20);
    await expect(checking).rejects.toThrow("interrupted");
  });

  it("asks no registry when nothing can be pulled", async () => {
    const engines = pool();
    const [, p1] = await check(engines, { canPull: false });
    expect(engines.p1.distributionAsked).toEqual([]);
    expect(p1?.checks.map((entry) => entry.severity)).toEqual(["error", "error"]);
  });

  it("does not ask for a base another engine has when bases are pinned", async () => {
    const engines = pool();
    engines.main.addImage(["stagecraft/b-base:1"]);
    const analysis = analyzeDockerfile(DOCKERFILE, { targets: ["a", "b"] });
    const [, p1] = await runPoolEngineChecks(
      [
        { name: "main", engine: engines.main },
        { name: "p1", engine: engines.p1 },
      ],
      analysis,
      PLACEMENT,
      { pinBases: true },
    );
    expect(engines.p1.distributionAsked).toEqual(["127.0.0.1:5000/sc/tools:1"]);
    expect(p1?.checks.map((entry) => entry.reference)).toEqual(["127.0.0.1:5000/sc/tools:1"]);
  });
});

describe("engine checks on a standalone buildkitd", () => {
  it("skip it, saying why, and still check the pool's Docker Engines", async () => {
    const analysis = analyzeDockerfile(DOCKERFILE, { targets: ["a", "b"] });
    // Nothing listens there: a buildkitd is not asked at all.
    const bk = new BuildkitEngine({ address: "buildkit+unix:///nonexistent/bk.sock" });
    const [main, p1] = await runPoolEngineChecks(
      [
        { name: "main", engine: pool().main },
        { name: "p1", engine: bk },
      ],
      analysis,
      PLACEMENT,
      { pinBases: false },
    );
    expect(p1).toMatchObject({
      name: "p1",
      engine: "buildkit+unix:///nonexistent/bk.sock",
      skipped:
        "a standalone buildkitd has no image store to ask: it resolves each image when the build starts",
      checks: [],
    });
    expect(main?.skipped).toBeUndefined();
    const one = await runEngineChecks(bk, analysis, {});
    expect(one.skipped).toBe(p1?.skipped);
  });
});

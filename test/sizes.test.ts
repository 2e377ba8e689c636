import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  analyzeDockerfile,
  DockerEngine,
  runBuild,
  type BuildReport,
  type Engine,
} from "@stagecraft/core";
import { IMAGE_LABELS } from "@stagecraft/core/engine";
import type { TargetReport } from "@stagecraft/core/report";
import { docker, TEST_LABELS } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";

const example = (name: string): string =>
  fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const LABEL = ["--label", "org.stagecraft.test=1"];
const out = mkdtempSync(join(tmpdir(), "stagecraft-sizes-"));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

/** Builds the targets with a JSON report; returns the report and the CLI's output. */
async function build(
  dir: string,
  targets: string,
  extra: string[] = [],
): Promise<{ report: BuildReport; code: number | null; stdout: string }> {
  const file = join(out, `${targets.replaceAll(",", "-")}-${Date.now()}.json`);
  const run = await runStagecraft([
    "build",
    dir,
    "--target",
    targets,
    "--progress",
    "plain",
    "--report",
    file,
    ...LABEL,
    ...extra,
  ]);
  return {
    report: JSON.parse(readFileSync(file, "utf8")) as BuildReport,
    code: run.code,
    stdout: run.stdout,
  };
}

const target = (report: BuildReport, name: string): TargetReport => {
  const found = report.targets.find((entry) => entry.target === name);
  if (found === undefined) throw new Error(`no target ${name} in the report`);
  return found;
};

/** The engine's own `Size` of an image (`docker image inspect`). */
const engineSize = async (id: string | null): Promise<number> =>
  (await docker.getImage(id ?? "").inspect()).Size;

/** The 1-based line of the first Dockerfile line that starts with `text`. */
const lineOf = (dir: string, text: string): number =>
  readFileSync(join(dir, "Dockerfile"), "utf8")
    .split("\n")
    .findIndex((line) => line.startsWith(text)) + 1;

// This test's probes only (they carry its --label): the engine is shared with other test runs.
const probesLeft = async (): Promise<number> =>
  (
    await docker.listImages({
      filters: { label: ["org.stagecraft.size-probe", "org.stagecraft.test=1"] },
    })
  ).length;

describe("sizes against the engine's own numbers", () => {
  it("--no-stage-sizes: no probe build, no comparison, the target's own size still there", async () => {
    const dir = example("c-static");
    const { report, code, stdout } = await build(dir, "runtime", ["--no-stage-sizes"]);
    expect(code).toBe(0);
    const runtime = target(report, "runtime");
    expect(runtime.sizeComparison ?? null).toBeNull();
    expect(runtime.sizeBytes).toBe(await engineSize(runtime.imageId));
    expect(stdout).not.toContain("← build");
  });

  it("examples/c-static: runtime against build, which was not requested", async () => {
    const dir = example("c-static");
    const { report, code } = await build(dir, "runtime");
    expect(code).toBe(0);
    const runtime = target(report, "runtime");
    expect(runtime.sizeBytes).toBe(await engineSize(runtime.imageId));
    expect(runtime.sizeComparison?.from).toBe("build");
    // The probe's image is gone; the same stage built as a target (all cached) is the engine's number.
    expect(await probesLeft()).toBe(0);
    const again = await build(dir, "build");
    const built = target(again.report, "build");
    expect(runtime.sizeComparison?.fromSizeBytes).toBe(await engineSize(built.imageId));
    expect(runtime.sizeComparison?.changePercent).toBeLessThan(-90);
    // Every layer of the scratch image came from the one COPY --from=build.
    expect(runtime.layers?.filter((layer) => layer.sizeBytes > 0)).toEqual([
      expect.objectContaining({
        origin: "stage",
        stage: "runtime",
        copiedFrom: "build",
        line: lineOf(dir, "COPY --from=build"),
        sizeBytes: runtime.sizeBytes,
      }),
    ]);
    expect(report.sizeMeaning).toContain("uncompressed");
  });

  it("examples/node-service: runtime against build with test and lint requested", async () => {
    const dir = example("node-service");
    const { report, code, stdout } = await build(dir, "test,lint,runtime");
    expect(code).toBe(0);
    const runtime = target(report, "runtime");
    expect(runtime.sizeBytes).toBe(await engineSize(runtime.imageId));
    expect(runtime.sizeComparison?.from).toBe("build");
    const layers = runtime.layers ?? [];
    // The history's sizes add up to the image's: nothing is counted twice or left out.
    expect(layers.reduce((sum, layer) => sum + layer.sizeBytes, 0)).toBe(runtime.sizeBytes);
    expect(layers[0]).toMatchObject({
      origin: "base",
      baseImage: "stagecraft/debian:bookworm",
    });
    expect(layers.find((layer) => layer.copiedFrom === "build")).toMatchObject({
      stage: "runtime",
      line: lineOf(dir, "COPY --from=build"),
    });
    expect(layers.find((layer) => layer.createdBy.includes("nodejs"))).toMatchObject({
      stage: "node",
      origin: "stage",
    });
    expect(await probesLeft()).toBe(0);
    const again = await build(dir, "build");
    expect(runtime.sizeComparison?.fromSizeBytes).toBe(
      await engineSize(target(again.report, "build").imageId),
    );
    expect(stdout).toMatch(/size: runtime \S+ MB ← build \S+ MB \(−\d+%\)/);
    expect(stdout).toContain("largest layers of runtime:");
  });

  it("a size budget exceeded fails the run (exit 1) with how much over and the largest layers", async () => {
    const dir = example("c-static");
    const { report, code, stdout } = await build(dir, "runtime", [
      "--size-budget",
      "runtime=100kB",
    ]);
    expect(code).toBe(1);
    expect(report.status).toBe("succeeded");
    expect(report.sizeBudgets).toEqual([
      expect.objectContaining({ target: "runtime", budgetBytes: 100_000, exceeded: true }),
    ]);
    expect(stdout).toMatch(/✗ runtime is \S+ kB, \S+ kB over its size budget of 100\.0 kB/);
    const heaviest = stdout.split("the layers that weigh most:\n")[1]?.split("\n")[0] ?? "";
    expect(heaviest).toContain("COPY /out/wordcount /wordcount");
    expect(heaviest).toContain(`Dockerfile:${lineOf(dir, "COPY --from=build")}`);
    expect(heaviest).toContain("(from build)");
  });

  it("max-size in CONTEXT/.stagecraft/config.json is a budget too; --size-budget wins", async () => {
    const source = example("c-static");
    const dir = mkdtempSync(join(out, "c-static-config-"));
    cpSync(source, dir, { recursive: true });
    mkdirSync(join(dir, ".stagecraft"));
    writeFileSync(
      join(dir, ".stagecraft", "config.json"),
      JSON.stringify({
        targets: { runtime: { "max-size": "100kB" }, test: { "max-size": "1kB" } },
      }),
    );
    const over = await build(dir, "runtime");
    expect(over.code).toBe(1);
    expect(over.report.sizeBudgets).toEqual([
      expect.objectContaining({ target: "runtime", budgetBytes: 100_000, exceeded: true }),
    ]);
    expect(over.stdout).toContain("the layers that weigh most:");
    const allowed = await build(dir, "runtime", ["--size-budget", "runtime=10MB"]);
    expect(allowed.code).toBe(0);
    expect(allowed.report.sizeBudgets).toEqual([
      expect.objectContaining({ target: "runtime", budgetBytes: 10_000_000, exceeded: false }),
    ]);
  });

  it("a session context's stage size is remembered: a cached rebuild probes nothing", async () => {
    const dir = mkdtempSync(join(out, "c-static-session-"));
    cpSync(example("c-static"), dir, { recursive: true });
    writeFileSync(join(dir, ".dockerignore"), "*.log\n");
    const stageSizeFile = join(out, "session-stage-sizes.json");
    const real = new DockerEngine();
    // The stages this run sent a size probe for (the probe's build carries IMAGE_LABELS.sizeProbe).
    let probed: string[] = [];
    const engine: Engine = {
      local: real.local,
      info: (signal) => real.info(signal),
      build: (request) => {
        const stage = request.labels?.[IMAGE_LABELS.sizeProbe];
        if (stage !== undefined) probed.push(stage);
        return real.build(request);
      },
      cancelBuild: (buildId, signal) => real.cancelBuild(buildId, signal),
      inspectImage: (ref, signal) => real.inspectImage(ref, signal),
      imageHistory: (ref, signal) => real.imageHistory(ref, signal),
      removeImage: (ref, signal) => real.removeImage(ref, signal),
      openSession: (options, signal) => real.openSession(options, signal),
    };
    const analysis = analyzeDockerfile(readFileSync(join(dir, "Dockerfile"), "utf8"), {
      targets: ["runtime"],
    });
    const build = async (): Promise<{ probed: string[]; fromSizeBytes: number | undefined }> => {
      probed = [];
      const outcome = await runBuild({
        engine,
        analysis,
        context: { dir, dockerfile: join(dir, "Dockerfile"), transfer: "session" },
        stageSizeFile,
        labels: TEST_LABELS,
      });
      expect(outcome.status).toBe("succeeded");
      expect(outcome.report.context?.transfer).toBe("session");
      return {
        probed,
        fromSizeBytes: outcome.report.targets[0]?.sizeComparison?.fromSizeBytes,
      };
    };
    const first = await build();
    expect(first.probed).toEqual(["build"]);
    expect(first.fromSizeBytes).toBeGreaterThan(100_000_000);
    expect(await build()).toEqual({ probed: [], fromSizeBytes: first.fromSizeBytes });
    // An ignored file is not sent: still nothing to probe.
    writeFileSync(join(dir, "debug.log"), "not sent\n");
    expect(await build()).toEqual({ probed: [], fromSizeBytes: first.fromSizeBytes });
    // A file that is sent changed (no step copies it, so every step is cached): probed again.
    writeFileSync(join(dir, "README.md"), "changed\n");
    expect(await build()).toEqual({ probed: ["build"], fromSizeBytes: first.fromSizeBytes });
    expect(await probesLeft()).toBe(0);
  });
});

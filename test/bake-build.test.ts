import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";

// `stagecraft bake` on a compose project: three services on one Dockerfile (targets of one context,
// sharing its `base` stage) and one on another, each image run afterwards to see what it holds.
const run = promisify(execFile);
const project = mkdtempSync(join(tmpdir(), "stagecraft-bake-build-"));
const nonce = `${process.pid}-${Date.now()}`;
const tag = (service: string) => `stagecraft-test/bake-${service}:${nonce}`;
const failing = mkdtempSync(join(tmpdir(), "stagecraft-bake-fail-"));
const pushing = mkdtempSync(join(tmpdir(), "stagecraft-bake-push-"));
const contexts = mkdtempSync(join(tmpdir(), "stagecraft-bake-contexts-"));
const pushedTag = `127.0.0.1:5000/stagecraft-test/bake-push:${nonce}`;

afterAll(async () => {
  rmSync(project, { recursive: true, force: true });
  rmSync(failing, { recursive: true, force: true });
  rmSync(pushing, { recursive: true, force: true });
  rmSync(contexts, { recursive: true, force: true });
  await run("docker", [
    "rmi",
    "-f",
    ...["one", "two", "three", "other", "slow", "bad", "kept", "named"].map(tag),
    pushedTag,
  ]).catch(() => undefined);
});

interface JsonLine {
  type: string;
  time?: number;
  target?: string;
  reason?: unknown;
  targets?: unknown;
}
const jsonLines = (stdout: string): JsonLine[] =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as JsonLine);

describe("stagecraft bake builds a compose project", () => {
  it("builds every service with build: into the image each one names", async () => {
    mkdirSync(join(project, "app"));
    mkdirSync(join(project, "other"));
    writeFileSync(
      join(project, "app", "Dockerfile"),
      [
        "FROM stagecraft/busybox:latest AS base",
        `RUN echo base-${nonce} > /base.txt`,
        "FROM base AS one",
        "RUN echo one > /which.txt",
        "FROM base AS two",
        "RUN echo two > /which.txt",
        "FROM base AS three",
        "RUN echo three > /which.txt",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(project, "other", "Dockerfile"),
      `FROM stagecraft/busybox:latest\nRUN echo other-${nonce} > /which.txt\n`,
    );
    writeFileSync(
      join(project, "compose.yaml"),
      [
        "services:",
        ...["one", "two", "three"].flatMap((service) => [
          `  ${service}:`,
          `    build: { context: ./app, target: ${service} }`,
          `    image: ${tag(service)}`,
        ]),
        "  other:",
        "    build: ./other",
        `    image: ${tag("other")}`,
        "  db:",
        "    image: stagecraft/busybox:latest",
        "",
      ].join("\n"),
    );

    const result = await runStagecraft(
      [
        "bake",
        "--progress",
        "plain",
        "--report",
        "report.json",
        "--metadata-file",
        "metadata.json",
      ],
      { cwd: project },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    // One view: the summary table names every service once, whichever Dockerfile built it.
    for (const service of ["one", "two", "three", "other"]) {
      expect(result.stdout).toMatch(new RegExp(`^✓ ${service} `, "m"));
    }

    // One report over both Dockerfiles, with the shared `base` stage counted once.
    const report = JSON.parse(readFileSync(join(project, "report.json"), "utf8")) as {
      status: string;
      targets: { target: string; status: string; imageId: string; stepsShared: number }[];
      stages: { stage: string; neededBy: string[] }[];
    };
    expect(report.status).toBe("succeeded");
    // Bake sorts the services by name; the targets of one Dockerfile stay together.
    expect(report.targets.map((target) => [target.target, target.status])).toEqual([
      ["one", "succeeded"],
      ["three", "succeeded"],
      ["two", "succeeded"],
      ["other", "succeeded"],
    ]);
    expect(report.stages.find((stage) => stage.stage === "base")?.neededBy).toEqual([
      "one",
      "three",
      "two",
    ]);

    // bake's metadata file: per service the image's digests (its id, on this image store) and name.
    const metadata = JSON.parse(readFileSync(join(project, "metadata.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    expect(Object.keys(metadata).sort()).toEqual(["one", "other", "three", "two"]);
    for (const service of ["one", "two", "three", "other"]) {
      const { stdout: id } = await run("docker", [
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        tag(service),
      ]);
      expect(metadata[service]).toEqual({
        "containerimage.config.digest": id.trim(),
        "containerimage.digest": id.trim(),
        "image.name": `docker.io/${tag(service)}`,
      });
      expect(report.targets.find((target) => target.target === service)?.imageId).toBe(id.trim());
    }

    for (const service of ["one", "two", "three"]) {
      const { stdout } = await run("docker", [
        "run",
        "--rm",
        tag(service),
        "cat",
        "/base.txt",
        "/which.txt",
      ]);
      expect(stdout).toBe(`base-${nonce}\n${service}\n`);
    }
    const { stdout } = await run("docker", ["run", "--rm", tag("other"), "cat", "/which.txt"]);
    expect(stdout).toBe(`other-${nonce}\n`);
  }, 180_000);
});

describe("stagecraft bake runs every Dockerfile's targets as one run", () => {
  it("fails fast over both Dockerfiles, and with --keep-going holds one --concurrency", async () => {
    mkdirSync(join(failing, "slow"));
    mkdirSync(join(failing, "bad"));
    writeFileSync(
      join(failing, "slow", "Dockerfile"),
      `FROM stagecraft/busybox:latest\nRUN sleep 2 && echo slow-${nonce} > /which.txt\n`,
    );
    writeFileSync(
      join(failing, "bad", "Dockerfile"),
      `FROM stagecraft/busybox:latest\nRUN echo bad-${nonce} && exit 3\n`,
    );
    writeFileSync(
      join(failing, "compose.yaml"),
      [
        "services:",
        "  slow:",
        "    build: ./slow",
        `    image: ${tag("slow")}`,
        "  bad:",
        "    build: ./bad",
        `    image: ${tag("bad")}`,
        "",
      ].join("\n"),
    );

    const fast = await runStagecraft(["bake", "--progress", "json"], { cwd: failing });
    expect(fast.code).toBe(1);
    const events = jsonLines(fast.stdout);
    expect(events.filter((event) => event.type === "run-started")).toHaveLength(1);
    expect(events.filter((event) => event.type === "run-finished")).toHaveLength(1);
    expect(events.find((event) => event.type === "run-started")?.targets).toEqual(["bad", "slow"]);
    expect(events.find((event) => event.type === "target-failed")?.target).toBe("bad");
    const cancelled = events.find((event) => event.type === "target-cancelled");
    expect(cancelled?.target).toBe("slow");
    expect(cancelled?.reason).toEqual({ kind: "fail-fast", failedTarget: "bad" });

    const going = await runStagecraft(
      ["bake", "--progress", "json", "--keep-going", "--concurrency", "1"],
      { cwd: failing },
    );
    expect(going.code).toBe(1);
    const lines = jsonLines(going.stdout);
    const report = lines.find((event) => event.type === "report") as unknown as {
      targets: { target: string; status: string }[];
    };
    expect(report.targets.map((target) => [target.target, target.status])).toEqual([
      ["bad", "failed"],
      ["slow", "succeeded"],
    ]);
    // One build at a time over both Dockerfiles: each target starts after the other ended.
    const times = (type: string) =>
      Object.fromEntries(
        lines.filter((event) => event.type === type).map((event) => [event.target, event.time]),
      ) as Record<string, number>;
    const started = times("target-started");
    const ended = { ...times("target-finished"), ...times("target-failed") };
    const [first, second] = Object.entries(started).sort(([, a], [, b]) => a - b);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second?.[1]).toBeGreaterThanOrEqual(ended[first?.[0] ?? ""] ?? Infinity);
    const { stdout } = await run("docker", ["run", "--rm", tag("slow"), "cat", "/which.txt"]);
    expect(stdout).toBe(`slow-${nonce}\n`);
  }, 180_000);
});

describe("stagecraft bake pushes the targets whose output is the registry", () => {
  it("pushes type=registry targets, keeps the others, and writes the registry's digest", async () => {
    writeFileSync(
      join(pushing, "Dockerfile"),
      `FROM stagecraft/busybox:latest AS base\nRUN echo pushed-${nonce} > /which.txt\nFROM base AS kept\n`,
    );
    writeFileSync(
      join(pushing, "docker-bake.hcl"),
      [
        'group "default" {',
        '  targets = ["pushed", "kept"]',
        "}",
        'target "pushed" {',
        '  target = "base"',
        `  tags = ["${pushedTag}"]`,
        '  output = ["type=registry"]',
        "}",
        'target "kept" {',
        '  target = "kept"',
        `  tags = ["${tag("kept")}"]`,
        "}",
        "",
      ].join("\n"),
    );
    const result = await runStagecraft(
      ["bake", "--progress", "plain", "--metadata-file", "metadata.json"],
      { cwd: pushing },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);

    const [repository, reference] = pushedTag.slice("127.0.0.1:5000/".length).split(":");
    const manifest = await fetch(
      `http://127.0.0.1:5000/v2/${repository ?? ""}/manifests/${reference ?? ""}`,
      {
        method: "HEAD",
        headers: {
          accept: [
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
          ].join(", "),
        },
      },
    );
    expect(manifest.status).toBe(200);
    const digest = manifest.headers.get("docker-content-digest");
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const metadata = JSON.parse(readFileSync(join(pushing, "metadata.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    expect(metadata.pushed?.["containerimage.digest"]).toBe(digest);
    expect(metadata.pushed?.["image.name"]).toBe(pushedTag);
    // The other target made its image on the engine and was not pushed.
    const { stdout: id } = await run("docker", ["image", "inspect", "-f", "{{.Id}}", tag("kept")]);
    expect(metadata.kept?.["containerimage.digest"]).toBe(id.trim());
    const notPushed = await fetch(
      `http://127.0.0.1:5000/v2/stagecraft-test/bake-kept/manifests/${nonce}`,
      { method: "HEAD" },
    );
    expect(notPushed.status).toBe(404);
  }, 180_000);
});

describe("stagecraft bake gives targets their named contexts", () => {
  it("reads contexts: a directory beside the context and a docker-image:// base", async () => {
    mkdirSync(join(contexts, "app"));
    mkdirSync(join(contexts, "assets"));
    writeFileSync(join(contexts, "assets", "greeting.txt"), `named-${nonce}\n`);
    writeFileSync(
      join(contexts, "app", "Dockerfile"),
      "FROM base\nCOPY --from=assets greeting.txt /greeting.txt\n",
    );
    writeFileSync(
      join(contexts, "docker-bake.hcl"),
      [
        'target "named" {',
        '  context = "app"',
        "  contexts = {",
        // As buildx reads it: relative to the working directory, not to the target's context.
        '    assets = "assets"',
        '    base = "docker-image://stagecraft/busybox:latest"',
        "  }",
        `  tags = ["${tag("named")}"]`,
        "}",
        'group "default" {',
        '  targets = ["named"]',
        "}",
        "",
      ].join("\n"),
    );
    const result = await runStagecraft(["bake", "--progress", "plain"], { cwd: contexts });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { stdout } = await run("docker", ["run", "--rm", tag("named"), "cat", "/greeting.txt"]);
    expect(stdout).toBe(`named-${nonce}\n`);
  }, 180_000);
});

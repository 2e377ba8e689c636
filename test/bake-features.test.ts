import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";

// Bake features a build needs the engine for: a context made by another target, each image run
// afterwards to see what it holds.
const run = promisify(execFile);
const nonce = `${process.pid}-${Date.now()}`;
const tag = (name: string) => `stagecraft-test/bake-feature-${name}:${nonce}`;
const registryName = (name: string) =>
  `127.0.0.1:5000/stagecraft-test/bake-feature-${name}:${nonce}`;
const dirs: string[] = [];
const project = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-bake-features-"));
  dirs.push(dir);
  return dir;
};

afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await run("docker", ["rmi", "-f", ...["app", "base", "inline", "sizes"].map(tag)]).catch(
    () => undefined,
  );
});

interface Report {
  status: string;
  targets: { target: string; status: string }[];
}

async function images(reference: string): Promise<string[]> {
  const { stdout } = await run("docker", [
    "images",
    "--format",
    "{{.Repository}}:{{.Tag}}",
    reference,
  ]);
  return stdout.split("\n").filter((line) => line !== "");
}

describe("stagecraft bake: target:NAME contexts", () => {
  it("builds the target read as a context first and gives its image to the reader", async () => {
    const dir = project();
    writeFileSync(
      join(dir, "base.Dockerfile"),
      `FROM stagecraft/busybox:latest\nRUN echo base-${nonce} > /base.txt\n`,
    );
    writeFileSync(join(dir, "Dockerfile"), "FROM base\nRUN cat /base.txt > /app.txt\n");
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      [
        'target "base" {',
        '  dockerfile = "base.Dockerfile"',
        `  tags = ["${tag("base")}"]`,
        "}",
        'target "app" {',
        '  contexts = { base = "target:base" }',
        `  tags = ["${tag("app")}"]`,
        "}",
        "",
      ].join("\n"),
    );
    const result = await runStagecraft(
      ["bake", "--progress", "plain", "--report", "report.json", "app"],
      { cwd: dir },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
    expect(report.targets.map((target) => [target.target, target.status])).toEqual([
      ["app", "succeeded"],
      ["base", "succeeded"],
    ]);
    const { stdout } = await run("docker", ["run", "--rm", tag("app"), "cat", "/app.txt"]);
    expect(stdout).toBe(`base-${nonce}\n`);
    // base was only read (buildx: type=cacheonly): its own tag is not made, and the temporary
    // name the reader read it by is gone.
    expect(await images(tag("base"))).toEqual([]);
    expect(await images("stagecraft-context/*")).toEqual([]);
  }, 180_000);
});

describe("stagecraft bake: dockerfile-inline", () => {
  it("builds the Dockerfile the bake file holds, its lines named as the bake file's", async () => {
    const dir = project();
    writeFileSync(join(dir, "hello.txt"), `hello-${nonce}\n`);
    // A Dockerfile in the context that must not be read.
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nRUN false\n");
    const bakeFile = (run: string) =>
      [
        'target "inline" {',
        "  dockerfile-inline = <<EOT",
        "FROM stagecraft/busybox:latest",
        "COPY hello.txt /hello.txt",
        run,
        "EOT",
        `  tags = ["${tag("inline")}"]`,
        "}",
        'group "default" {',
        '  targets = ["inline"]',
        "}",
        "",
      ].join("\n");
    writeFileSync(join(dir, "docker-bake.hcl"), bakeFile("RUN cat /hello.txt > /copy.txt"));
    const result = await runStagecraft(["bake", "--progress", "plain"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { stdout } = await run("docker", ["run", "--rm", tag("inline"), "cat", "/copy.txt"]);
    expect(stdout).toBe(`hello-${nonce}\n`);

    // A failing step is named by its line in the bake file (line 5).
    writeFileSync(join(dir, "docker-bake.hcl"), bakeFile("RUN exit 3"));
    const failed = await runStagecraft(["bake", "--progress", "plain"], { cwd: dir });
    expect(failed.code).toBe(1);
    expect(`${failed.stdout}${failed.stderr}`).toContain("docker-bake.hcl:5");
  }, 180_000);
});

/** The digest the loopback registry stores for NAME:TAG, or undefined. */
async function registryDigest(reference: string): Promise<string | undefined> {
  const [repository, version] = reference.slice("127.0.0.1:5000/".length).split(":");
  const response = await fetch(
    `http://127.0.0.1:5000/v2/${repository ?? ""}/manifests/${version ?? ""}`,
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
  return response.status === 200
    ? (response.headers.get("docker-content-digest") ?? undefined)
    : undefined;
}

describe("stagecraft bake: output name=", () => {
  it("names and pushes the image by the output's name= when the target has no tags", async () => {
    const dir = project();
    writeFileSync(
      join(dir, "Dockerfile"),
      `FROM stagecraft/busybox:latest\nRUN echo named-${nonce} > /named.txt\n`,
    );
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      [
        'group "default" {',
        '  targets = ["image", "registry"]',
        "}",
        'target "image" {',
        `  output = ["type=image,name=${registryName("image")},push=true"]`,
        "}",
        'target "registry" {',
        // Another build setting: a run of its own, not the same image under two names.
        '  args = { WHICH = "registry" }',
        `  output = ["type=registry,name=${registryName("registry")}"]`,
        "}",
        "",
      ].join("\n"),
    );
    const result = await runStagecraft(
      ["bake", "--progress", "plain", "--metadata-file", "metadata.json"],
      { cwd: dir },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const metadata = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    for (const name of ["image", "registry"]) {
      const digest = await registryDigest(registryName(name));
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(metadata[name]?.["containerimage.digest"]).toBe(digest);
      expect(metadata[name]?.["image.name"]).toBe(registryName(name));
      // The name is the image's on the engine too, as buildx's image exporter gives it.
      const { stdout } = await run("docker", [
        "run",
        "--rm",
        registryName(name),
        "cat",
        "/named.txt",
      ]);
      expect(stdout).toBe(`named-${nonce}\n`);
    }
  }, 180_000);
});

describe("stagecraft bake: platforms", () => {
  it("refuses several platforms on this graph-driver engine before building, as buildx", async () => {
    const dir = project();
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      `target "multi" {\n  platforms = ["linux/amd64", "linux/arm64"]\n  tags = ["${tag("multi")}"]\n}\n`,
    );
    const result = await runStagecraft(["bake", "--progress", "plain", "multi"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'target "multi".platforms: Multi-platform build is not supported for the docker driver.',
    );
    expect(result.stderr).toContain("--set multi.platforms=linux/amd64");
    expect(result.stdout).toBe("");
    expect(await images(tag("multi"))).toEqual([]);
  }, 60_000);

  it("builds one foreign platform, saying the engine cannot run its programs", async () => {
    const dir = project();
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      `target "arm" {\n  platforms = ["linux/arm64"]\n  tags = ["${tag("arm")}"]\n}\n`,
    );
    const result = await runStagecraft(["bake", "--progress", "plain", "arm"], { cwd: dir });
    expect(result.code).toBe(0);
    // This machine has no emulation installed: BuildKit lists only amd64 (and 386) platforms.
    expect(result.stderr).toContain(
      'warning: target "arm": platform linux/arm64 is not the engine\'s own (linux/amd64) and its BuildKit cannot run linux/arm64 programs',
    );
    const { stdout } = await run("docker", [
      "image",
      "inspect",
      "-f",
      "{{.Os}}/{{.Architecture}}",
      tag("arm"),
    ]);
    expect(stdout.trim()).toBe("linux/arm64");
  }, 60_000);
});

describe("stagecraft bake: stage sizes", () => {
  it("compares a target with the stage it copies from, and --no-stage-sizes measures none", async () => {
    const dir = project();
    writeFileSync(
      join(dir, "Dockerfile"),
      [
        "FROM stagecraft/busybox:latest AS build",
        `RUN head -c 3000000 /dev/urandom > /big && echo ${nonce} > /small`,
        "FROM stagecraft/busybox:latest AS runtime",
        "COPY --from=build /small /small",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      `target "runtime" {\n  target = "runtime"\n  tags = ["${tag("sizes")}"]\n}\n`,
    );
    // Nothing remembered from another run: each build below decides by its flag alone.
    const env = { STAGECRAFT_CACHE_DIR: "" };
    const sized = async (flags: string[]) => {
      const result = await runStagecraft(
        ["bake", "--progress", "quiet", "--report", "report.json", ...flags, "runtime"],
        { cwd: dir, env },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as {
        targets: { target: string; sizeComparison: { from: string } | null }[];
      };
      return report.targets.find((target) => target.target === "runtime")?.sizeComparison;
    };
    expect(await sized(["--no-stage-sizes"])).toBeNull();
    expect((await sized([]))?.from).toBe("build");
    expect(await sized(["--no-stage-sizes"])).toBeNull();
  }, 120_000);
});

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { TEST_ENGINES, extraEngine, removeLabelled } from "./support/infra.js";

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
  await run("docker", [
    "rmi",
    "-f",
    ...["app", "base", "inline", "sizes", "pulled"].map(tag),
    registryName("pull-base"),
  ]).catch(() => undefined);
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

  it("--pull pulls the bases again, not the image of the target it reads", async () => {
    // A base only the loopback registry holds, so that a pull can be seen (and cannot fail).
    const base = registryName("pull-base");
    await run("docker", ["tag", "stagecraft/busybox:latest", base]);
    await run("docker", ["push", "-q", base]);
    await run("docker", ["rmi", base]);
    const dir = project();
    writeFileSync(
      join(dir, "base.Dockerfile"),
      `FROM ${base}\nRUN echo pulled-${nonce} > /base.txt\n`,
    );
    // The reader has an image of its own too: that one is pulled by the engine before it builds.
    writeFileSync(
      join(dir, "Dockerfile"),
      `FROM base\nCOPY --from=${base} /bin/busybox /copied\nRUN cat /base.txt > /app.txt\n`,
    );
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      [
        'target "base" {',
        '  dockerfile = "base.Dockerfile"',
        "}",
        'target "app" {',
        '  contexts = { base = "target:base" }',
        `  tags = ["${tag("pulled")}"]`,
        "}",
        "",
      ].join("\n"),
    );
    const result = await runStagecraft(["bake", "--pull", "--progress", "plain", "app"], {
      cwd: dir,
    });
    // BuildKit's pull mode would look for the read target's temporary name in Docker Hub.
    expect(result.stdout).not.toContain("load metadata for stagecraft-context/");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { stdout } = await run("docker", ["run", "--rm", tag("pulled"), "cat", "/app.txt"]);
    expect(stdout).toBe(`pulled-${nonce}\n`);
    // The engine pulled the reader's image into its store (BuildKit's pull would leave no tag).
    expect(await images(base)).toEqual([base]);
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
    expect(result.stderr).toContain(
      "on the containerd image store stagecraft builds them into one image index",
    );
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

describe("stagecraft bake: several platforms on the containerd image store", () => {
  afterAll(async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    await removeLabelled(c8d.docker, "org.stagecraft.test=bake-platforms");
  });

  it("builds one image index holding every platform, without emulation, and says so", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const dir = project();
    // No RUN: the build stage runs on the engine's platform, the rest only copies and sets.
    writeFileSync(
      join(dir, "Dockerfile"),
      [
        "FROM --platform=$BUILDPLATFORM stagecraft/busybox:latest AS build",
        "ARG TARGETPLATFORM",
        `COPY hello.txt /out/hello-${nonce}.txt`,
        "FROM scratch AS app",
        "ARG TARGETPLATFORM",
        "COPY --from=build /out /out",
        "ENV BUILT_FOR=$TARGETPLATFORM",
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "hello.txt"), "hello\n");
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      [
        'target "multi" {',
        '  target = "app"',
        '  platforms = ["linux/amd64", "linux/arm64"]',
        `  tags = ["${tag("multi")}"]`,
        '  labels = { "org.stagecraft.test" = "bake-platforms" }',
        "}",
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
        "--log-level",
        "debug",
        "--log-file",
        "bake.log",
        "multi",
      ],
      { cwd: dir, env: { DOCKER_HOST: c8d.host } },
    );
    expect(result.code, result.stderr).toBe(0);
    // The engine runs amd64 only: the arm64 half is explained, and has no RUN step to fail.
    expect(result.stderr).toContain(
      'warning: target "multi": platform linux/arm64 is not the engine\'s own (linux/amd64) and its BuildKit cannot run linux/arm64 programs',
    );
    expect(result.stderr).toContain("no RUN step is built for linux/arm64");
    expect(result.stdout).toContain("linux/amd64+linux/arm64");
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as {
      targets: { target: string; status: string; platforms?: string[]; imageId: string }[];
    };
    expect(report.targets).toMatchObject([
      { target: "multi", status: "succeeded", platforms: ["linux/amd64", "linux/arm64"] },
    ]);
    // It went through the Control API (POST /build takes one platform), said by --log-level.
    expect(readFileSync(join(dir, "bake.log"), "utf8")).toContain('"msg":"Control.Solve"');
    // The store holds an index whose manifests are the two platforms, each with its own config.
    const saved = join(dir, "saved.tar");
    await run("docker", ["save", "-o", saved, tag("multi")], {
      env: { ...process.env, DOCKER_HOST: c8d.host },
    });
    const blob = async (digest: string): Promise<unknown> => {
      const { stdout } = await run("tar", ["-xOf", saved, `blobs/sha256/${digest.slice(7)}`], {
        maxBuffer: 16 * 1024 * 1024,
      });
      return JSON.parse(stdout) as unknown;
    };
    const imageId = report.targets[0]?.imageId ?? "";
    const index = (await blob(imageId)) as {
      manifests: { digest: string; platform?: { os: string; architecture: string } }[];
    };
    const images = index.manifests.filter((entry) => entry.platform?.os !== "unknown");
    expect(images.map((entry) => `${entry.platform?.os}/${entry.platform?.architecture}`)).toEqual([
      "linux/amd64",
      "linux/arm64",
    ]);
    for (const entry of images) {
      const manifest = (await blob(entry.digest)) as { config: { digest: string } };
      const config = (await blob(manifest.config.digest)) as {
        architecture: string;
        config: { Env?: string[] };
      };
      expect(config.architecture).toBe(entry.platform?.architecture);
      expect(config.config.Env).toContain(`BUILT_FOR=linux/${config.architecture}`);
    }
  }, 180_000);
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

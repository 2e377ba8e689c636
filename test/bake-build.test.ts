import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

afterAll(async () => {
  rmSync(project, { recursive: true, force: true });
  await run("docker", ["rmi", "-f", ...["one", "two", "three", "other"].map(tag)]).catch(
    () => undefined,
  );
});

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

    const result = await runStagecraft(["bake", "--progress", "plain"], { cwd: project });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);

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

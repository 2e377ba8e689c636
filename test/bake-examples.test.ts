import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";

// The bake and compose examples build as their READMEs say (`stagecraft bake` in the example's
// directory), under a tag of this test's own, and each image holds what its target made.
const run = promisify(execFile);
const examples = fileURLToPath(new URL("../examples/", import.meta.url));
const tag = `test-${process.pid}-${Date.now()}`;
const out = mkdtempSync(join(tmpdir(), "stagecraft-bake-examples-"));
const made: string[] = [];

afterAll(async () => {
  rmSync(out, { recursive: true, force: true });
  if (made.length > 0) await run("docker", ["rmi", "-f", ...made]).catch(() => undefined);
});

interface Report {
  status: string;
  targets: { target: string; status: string; tags: string[] }[];
}

async function bake(example: string): Promise<Report> {
  const report = join(out, `${example}.json`);
  const result = await runStagecraft(["bake", "--progress", "plain", "--report", report], {
    cwd: join(examples, example),
    env: { TAG: tag },
  });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const parsed = JSON.parse(readFileSync(report, "utf8")) as Report;
  for (const target of parsed.targets) made.push(...target.tags);
  return parsed;
}

async function output(image: string, ...command: string[]): Promise<string> {
  const { stdout } = await run("docker", ["run", "--rm", image, ...command]);
  return stdout;
}

describe("the bake examples", () => {
  it("examples/bake-hcl: variables, a function, inherits and a matrix over two Dockerfiles", async () => {
    const report = await bake("bake-hcl");
    expect(report.targets.map((target) => [target.target, target.status])).toEqual([
      ["api", "succeeded"],
      ["api-test", "succeeded"],
      ["worker-fast", "succeeded"],
      ["worker-safe", "succeeded"],
    ]);
    const image = (name: string) => `stagecraft-example/${name}:${tag}`;
    expect(await output(image("api"))).toBe(`hello from api ${tag}\n`);
    expect(await output(image("api-test"), "cat", "/tested")).toBe("tested\n");
    expect(await output(image("worker-fast"))).toBe(`worker ${tag} in fast mode\n`);
    expect(await output(image("worker-safe"))).toBe(`worker ${tag} in safe mode\n`);
  }, 180_000);

  it("examples/compose-services: three services of one Dockerfile and one of another", async () => {
    const report = await bake("compose-services");
    expect(report.targets.map((target) => target.target).sort()).toEqual([
      "api",
      "migrate",
      "proxy",
      "web",
    ]);
    expect(report.status).toBe("succeeded");
    const image = (name: string) => `stagecraft-example/${name}:${tag}`;
    expect(await output(image("web"))).toBe("serving web\n");
    expect(await output(image("api"))).toBe("serving api\n");
    expect(await output(image("migrate"))).toBe("migrated\n");
    expect(await output(image("proxy"))).toBe("proxy for web api\n");
    expect(await output(image("web"), "cat", "/app/BUILD")).toBe("built from 2 files\n");

    // Again, cached, with the report as one HTML page over both Dockerfiles.
    const html = join(out, "compose-services.html");
    const again = await runStagecraft(["bake", "--progress", "quiet", "--report", html], {
      cwd: join(examples, "compose-services"),
      env: { TAG: tag },
    });
    expect(again.code).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toMatch(/^<!doctype html>/i);
    for (const service of ["web", "api", "migrate", "proxy"]) expect(page).toContain(service);
  }, 180_000);
});

import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, docker, makeProject, removeImages } from "./support/engine.js";

const made: string[] = [];
const projects: { remove: () => void }[] = [];
afterAll(async () => {
  for (const project of projects) project.remove();
  await removeImages(made);
});

function project(files: Record<string, string>): string {
  const made = makeProject(files);
  projects.push(made);
  return made.dir;
}

interface JsonReport {
  findings: { rule: string; severity: string; line: number; message: string }[];
  notes: string[];
}

async function checkJson(
  dir: string,
  args: string[] = [],
): Promise<{ code: number | null; report: JsonReport }> {
  const run = await runStagecraft(["check", dir, "--format", "json", ...args]);
  return { code: run.code, report: JSON.parse(run.stdout) as JsonReport };
}

describe("stagecraft check against the real engine (base images inspected, never pulled)", () => {
  it("sees root inherited from the base image's config, and judges UndefinedVar with the image's env", async () => {
    const dir = project({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`, // 1
        "RUN mkdir -p /out && echo app > /out/app", // 2
        `FROM ${BUSYBOX}`, // 3
        "COPY --from=build / /", // 4
        "COPY --from=build /out/app ${APP_DIR}/app", // 5
        "ENV HOME_DIR=/root", // 6
        "WORKDIR $HOME_DIR", // 7
        'CMD ["/app"]', // 8
      ].join("\n"),
    });
    const { code, report } = await checkJson(dir);
    expect(code).toBe(0);
    expect(
      report.notes.filter(
        (note) => note.includes("not inspected") || note.includes("not on the engine"),
      ),
    ).toEqual([]);
    const byRule = (rule: string) => report.findings.filter((finding) => finding.rule === rule);
    expect(byRule("StageRootUser")).toEqual([
      expect.objectContaining({
        severity: "warning",
        line: 3,
        message: `stage "stage-1" ships running as root, inherited from its base image ${BUSYBOX}, whose config sets no USER`,
      }),
    ]);
    expect(byRule("UndefinedVar")).toEqual([
      expect.objectContaining({ line: 5, message: "Usage of undefined variable '$APP_DIR'" }),
    ]);
    expect(byRule("ShippedBuildTools").map((finding) => finding.line)).toEqual([4]);
  });

  it("reads a non-root USER from a base image built here, and says which images the engine lacks", async () => {
    const base = `stagecraft-it/check-nonroot:${randomUUID().slice(0, 8)}`;
    made.push(base);
    const baseDir = project({ Dockerfile: `FROM ${BUSYBOX}\nUSER 1000:1000\n` });
    const built = await runStagecraft([
      "build",
      baseDir,
      "-t",
      base,
      "--label",
      "org.stagecraft.test=1",
      "--progress",
      "quiet",
    ]);
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    expect((await docker.getImage(base).inspect()).Config.User).toBe("1000:1000");

    const missing = `stagecraft-it/never-built:${randomUUID().slice(0, 8)}`;
    const dir = project({
      Dockerfile: `FROM ${missing} AS other\nFROM ${base} AS app\nCOPY --from=other /x /x\n`,
    });
    const { report } = await checkJson(dir, ["--target", "app"]);
    expect(report.findings.filter((finding) => finding.rule === "StageRootUser")).toEqual([]);
    const all = await checkJson(dir);
    expect(all.report.notes).toContain(
      `base images not on the engine (pull them to check what they set): ${missing}`,
    );
  });

  it("build --check stops a bad Dockerfile before anything reaches the engine", async () => {
    const tag = `stagecraft-it/check-refused:${randomUUID().slice(0, 8)}`;
    made.push(tag);
    const dir = project({
      Dockerfile: `FROM ${BUSYBOX}\nARG NPM_TOKEN=npm_${"a1B2c3D4e5".repeat(3)}abcdef\nUSER 1000\n`,
    });
    const run = await runStagecraft(["build", dir, "--check", "-t", tag, "--progress", "plain"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "Dockerfile:2:1: error SecretValueInArgOrEnv: ARG NPM_TOKEN holds a literal value that looks like an npm token",
    );
    expect(run.stderr).toContain("nothing was built");
    await expect(docker.getImage(tag).inspect()).rejects.toThrow();
  });
});

// The README's library example and the CLI are one engine: built the same way, they report the same.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, docker, makeProject, removeImages } from "./support/engine.js";

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

/** The README's "As a library" example, as the JavaScript Node runs. */
function readmeExample(): string {
  const section = readme.slice(readme.indexOf("## As a library"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined)
    throw new Error("README.md has no TypeScript example under 'As a library'");
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/**
 * The report without what differs between two runs of the same build: times, durations, and what
 * is derived from them (which steps were slowest, which chain of stages was longest).
 */
function comparable(report: unknown): unknown {
  if (Array.isArray(report)) return report.map(comparable);
  if (report !== null && typeof report === "object") {
    return Object.fromEntries(
      Object.entries(report)
        .filter(([key]) => !/(At|Ms|percentOfWall|slowestSteps|criticalPath)$/.test(key))
        .map(([key, value]) => [key, comparable(value)]),
    );
  }
  return report;
}

describe("the README's library example and the CLI", () => {
  it("build the same Dockerfile and produce the same report", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce`,
        `FROM base AS deps`,
        `COPY package.txt /app/`,
        `RUN cat /app/package.txt > /app/deps`,
        `FROM deps AS test`,
        `RUN echo testing && cat /app/deps`,
        `FROM deps AS build`,
        `COPY src/ /app/src/`,
        `RUN cat /app/src/* > /app/out`,
        `FROM ${BUSYBOX} AS app`,
        `COPY --from=build /app/out /out`,
      ].join("\n"),
      "package.txt": `deps ${nonce}\n`,
      "src/main.txt": "main\n",
    });
    // The example's own tag, as the README writes it.
    made.push("myorg/app:dev");
    const script = join(fileURLToPath(new URL(".", import.meta.url)), `.readme-${nonce}.mjs`);
    writeFileSync(
      script,
      `${readmeExample()}\nprocess.stdout.write("\\n@@report@@" + JSON.stringify(outcome.report));\n`,
    );
    try {
      const cli = async (): Promise<unknown> => {
        // Outside the context: a file written into it would change the next run's context.
        const reportFile = join(tmpdir(), `stagecraft-report-${nonce}.json`);
        const run = await runStagecraft(
          [
            "build",
            ".",
            "--target",
            "test,app",
            "-t",
            "app=myorg/app:dev",
            "--progress",
            "quiet",
            "--report",
            reportFile,
          ],
          { cwd: project.dir },
        );
        expect(run.code, run.stderr).toBe(0);
        const report = JSON.parse(readFileSync(reportFile, "utf8")) as unknown;
        rmSync(reportFile);
        return report;
      };
      // Warm the cache first, so both runs below find the same steps cached.
      await cli();
      const fromCli = await cli();
      const printed = execFileSync(process.execPath, [script], { cwd: project.dir }).toString();
      const fromLibrary = JSON.parse(printed.slice(printed.indexOf("@@report@@") + 10)) as unknown;
      expect(comparable(fromLibrary)).toEqual(comparable(fromCli));
      // And the report says what a person needs: both targets, their stages, where the app came from.
      expect(fromCli).toMatchObject({
        status: "succeeded",
        targets: [
          { target: "test", status: "succeeded" },
          { target: "app", status: "succeeded", tags: ["myorg/app:dev"] },
        ],
      });
      const image = await docker.getImage("myorg/app:dev").inspect();
      expect(image.Config.Labels["org.stagecraft.target"]).toBe("app");
    } finally {
      rmSync(script, { force: true });
      project.remove();
    }
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "@stagecraft/core";
import { docker, makeProject, TEST_LABEL } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";

// Everything multi-stage builds are meant to avoid, in one Dockerfile: the final stage runs as
// root, gets gcc through a whole-filesystem COPY --from, and takes a token as a build arg. The
// toolchain lines are examples/c-static's, so its cached steps and apt cache serve this build.
const DOCKERFILE = `FROM stagecraft/debian:bookworm AS toolchain
ARG NONCE=0
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\
    apt-get update -q && apt-get install -y -q --no-install-recommends gcc libc6-dev \\
 && gcc --version | head -1

FROM toolchain AS build
COPY hello.c /src/hello.c
RUN gcc -static -O2 -o /usr/local/bin/hello /src/hello.c

FROM scratch AS runtime
ARG API_TOKEN
COPY --from=build / /
USER root
ENTRYPOINT ["/usr/local/bin/hello"]
`;
const lineOf = (text: string): number =>
  DOCKERFILE.split("\n").findIndex((line) => line.startsWith(text)) + 1;

const project = makeProject({
  Dockerfile: DOCKERFILE,
  "hello.c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
});
afterAll(() => {
  project.remove();
});

describe("a deliberately bad multi-stage Dockerfile, built for real", () => {
  it("names each finding's rule and line, and the layer that brought the build tools", async () => {
    const report = join(project.dir, "report.json");
    const run = await runStagecraft([
      "build",
      project.dir,
      "--target",
      "runtime",
      "--check",
      "--fail-on",
      "never",
      "--progress",
      "plain",
      "--report",
      report,
      "--label",
      TEST_LABEL,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const built = JSON.parse(readFileSync(report, "utf8")) as BuildReport;
    const runtime = built.targets.find((target) => target.target === "runtime");
    expect(runtime?.status).toBe("succeeded");

    const findings = run.stderr.split("\n").filter((line) => /Dockerfile:\d+:\d+: /.test(line));
    const at = (rule: string, line: number): string[] =>
      findings.filter(
        (finding) => finding.includes(` ${rule}: `) && finding.includes(`Dockerfile:${line}:`),
      );
    // Before the build, from the Dockerfile.
    expect(at("StageRootUser", lineOf("USER root"))).toHaveLength(1);
    expect(at("SecretsUsedInArgOrEnv", lineOf("ARG API_TOKEN"))).toHaveLength(1);
    expect(at("ShippedBuildTools", lineOf("COPY --from=build / /"))[0]).toContain(
      "the whole filesystem",
    );
    // After the build, from the image's files: the layer of the COPY line, with gcc in it.
    const copyLayer = runtime?.layers?.find((layer) => layer.line === lineOf("COPY --from=build"));
    expect(copyLayer).toBeDefined();
    const scanned = at("ShippedBuildTools", lineOf("COPY --from=build / /")).filter((finding) =>
      finding.includes("layer "),
    );
    expect(scanned).toHaveLength(1);
    expect(scanned[0]).toMatch(
      /layer \d+ \(made by line \d+ of stage "runtime"\) adds .*\/usr\/bin\/gcc/,
    );
    expect(scanned[0]).toContain(`made by line ${lineOf("COPY --from=build / /")}`);

    const image = await docker.getImage(runtime?.imageId ?? "").inspect();
    expect(image.Config.User).toBe("root");
  });
});

import { describe, expect, it } from "vitest";
import { analyzeDockerfile } from "./analyze-dockerfile.js";
import { checkEngineReadiness, listEngineImages } from "./check-engine-readiness.js";

const PIN = `sha256:${"ab".repeat(32)}`;

const APP = [
  "# syntax=docker/dockerfile:1", // 1
  "FROM debian:12 AS build", // 2
  "RUN make", // 3
  `FROM alpine:3.20@${PIN} AS test`, // 4
  "COPY --from=busybox:1.36 /bin/busybox /bin/", // 5
  "FROM scratch AS app", // 6
  "COPY --from=build /out /", // 7
  "FROM node:22 AS docs", // 8 (not planned)
].join("\n");

describe("checkEngineReadiness", () => {
  it("lists the images the planned stages and the syntax directive need, pins looked up by digest", () => {
    const analysis = analyzeDockerfile(APP, { targets: ["app", "test"] });
    expect(listEngineImages(analysis)).toEqual([
      { reference: "docker/dockerfile:1", lookup: "docker/dockerfile:1" },
      { reference: "debian:12", lookup: "debian:12" },
      { reference: `alpine:3.20@${PIN}`, lookup: `alpine@${PIN}` },
      { reference: "busybox:1.36", lookup: "busybox:1.36" },
    ]);
  });

  it("says nothing when the engine has every image and the RUNs ask for nothing", () => {
    const analysis = analyzeDockerfile(APP, { targets: ["app", "test"] });
    const present = new Map(listEngineImages(analysis).map((query) => [query.reference, true]));
    expect(checkEngineReadiness(analysis, { present, canPull: false })).toEqual([]);
  });

  it("warns of missing images while pulling is possible, and errs when nothing can be pulled", () => {
    const analysis = analyzeDockerfile(APP, { targets: ["app", "test"] });
    const present = new Map([["debian:12", true]]);
    const online = checkEngineReadiness(analysis, { present, canPull: true });
    expect(online.map(({ rule, severity, stage, line }) => [rule, severity, stage, line])).toEqual([
      ["SyntaxFrontendImage", "warning", undefined, 1],
      ["DigestNotInEngine", "warning", "test", 4],
      ["ImageNotInEngine", "warning", "test", 5],
    ]);
    const offline = checkEngineReadiness(analysis, { present, canPull: false });
    expect(offline.every((check) => check.severity === "error")).toBe(true);
    expect(offline[2]?.message).toBe(
      "COPY --from busybox:1.36 is not in the engine: nothing can be pulled, so the build fails before any step runs",
    );
    expect(offline[1]?.fix).toContain(`docker pull alpine@${PIN}`);
    expect(offline[0]?.fix).toContain("Remove the # syntax= line");
  });

  it("checks only the stages the targets build", () => {
    const analysis = analyzeDockerfile(APP, { targets: ["app"] });
    const checks = checkEngineReadiness(analysis, { present: new Map(), canPull: false });
    expect(checks.map((check) => check.reference)).toEqual(["docker/dockerfile:1", "debian:12"]);
  });

  it("refuses RUN --network=host unless the build runs with --network host", () => {
    const text = "FROM debian:12\nRUN --network=host curl -fsS http://127.0.0.1:5000/v2/\n";
    const analysis = analyzeDockerfile(text);
    const present = new Map([["debian:12", true]]);
    const [check] = checkEngineReadiness(analysis, { present, canPull: true });
    expect(check).toMatchObject({ rule: "NetworkHostNotAllowed", severity: "error", line: 2 });
    expect(check?.fix).toBe("Build with --network host, or drop --network=host from the RUN.");
    expect(checkEngineReadiness(analysis, { present, canPull: true, network: "host" })).toEqual([]);
  });

  it("refuses RUN --security=insecure, saying why with and without a labs frontend", () => {
    const text = "FROM debian:12\nRUN --security=insecure mount -t tmpfs none /mnt\n";
    const present = new Map([
      ["debian:12", true],
      ["docker/dockerfile:1-labs", true],
    ]);
    const [builtIn] = checkEngineReadiness(analyzeDockerfile(text), { present, canPull: true });
    expect(builtIn).toMatchObject({ rule: "SecurityInsecureNotAllowed", severity: "error" });
    expect(builtIn?.message).toContain('"unknown flag: security"');
    const labs = `# syntax=docker/dockerfile:1-labs\n${text}`;
    const [entitled] = checkEngineReadiness(analyzeDockerfile(labs), { present, canPull: true });
    expect(entitled?.message).toContain("security.insecure entitlement");
  });

  it("checks RUN flags an ONBUILD trigger brings in", () => {
    const text = "FROM debian:12 AS base\nONBUILD RUN --network=host true\nFROM base\n";
    const checks = checkEngineReadiness(analyzeDockerfile(text), {
      present: new Map([["debian:12", true]]),
      canPull: true,
    });
    expect(checks.map((check) => [check.rule, check.stage])).toEqual([
      ["NetworkHostNotAllowed", "stage-1"],
    ]);
  });
});

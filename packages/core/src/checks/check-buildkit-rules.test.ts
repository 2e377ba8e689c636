import { describe, expect, it } from "vitest";
import { checkDockerfile } from "./check-dockerfile.js";
import type { BaseImageConfig, CheckOptions, CheckRuleName, ContextFacts } from "./check-types.js";

/** The findings of one rule: line and message. */
function found(text: string, rule: CheckRuleName, options: CheckOptions = {}): [number, string][] {
  return checkDockerfile(text, options)
    .findings.filter((finding) => finding.rule === rule)
    .map((finding) => [finding.location.line, finding.message]);
}

const alpine: BaseImageConfig = {
  user: "",
  env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  shell: [],
};
const images = (config = alpine): CheckOptions => ({
  baseImages: new Map([["alpine:3.22", config]]),
});

describe("BuildKit's parse-time rules", () => {
  it("StageNameCasing: an upper-case stage name, not a lower-case one", () => {
    expect(found("FROM alpine:3.22 AS Build\nFROM scratch AS app\n", "StageNameCasing")).toEqual([
      [1, "Stage name 'Build' should be lowercase"],
    ]);
  });

  it("FromAsCasing: AS in another case than FROM; a mixed-case FROM is left to ConsistentInstructionCasing", () => {
    const text =
      "FROM alpine:3.22 as a\nfrom alpine:3.22 AS b\nFROM alpine:3.22 AS c\nFrom alpine:3.22 as d\n";
    expect(found(text, "FromAsCasing")).toEqual([
      [1, "'as' and 'FROM' keywords' casing do not match"],
      [2, "'AS' and 'from' keywords' casing do not match"],
    ]);
  });

  it("MaintainerDeprecated: MAINTAINER, and nothing for a LABEL", () => {
    expect(found("FROM scratch\nMAINTAINER me\nLABEL a=b\n", "MaintainerDeprecated")).toEqual([
      [2, "Maintainer instruction is deprecated in favor of using label"],
    ]);
  });

  it("NoEmptyContinuation: an empty line inside a continued instruction", () => {
    const text = "FROM scratch\nCOPY a \\\n\n  /b\nCOPY c /d\n";
    expect(found(text, "NoEmptyContinuation")).toEqual([[4, "Empty continuation line"]]);
    expect(found("FROM scratch\nCOPY a \\\n  /b\n", "NoEmptyContinuation")).toEqual([]);
  });

  it("ConsistentInstructionCasing: the minority case, and self-inconsistent keywords", () => {
    const text = "FROM scratch\nCOPY a /a\ncopy b /b\nCopy c /c\n";
    expect(found(text, "ConsistentInstructionCasing")).toEqual([
      [3, "Command 'copy' should match the case of the command majority (uppercase)"],
      [4, "Command 'Copy' should match the case of the command majority (uppercase)"],
    ]);
    expect(found("from scratch\ncopy a /a\n", "ConsistentInstructionCasing")).toEqual([]);
  });

  it("DuplicateStageName and ReservedStageName", () => {
    const text = "FROM alpine:3.22 AS a\nFROM alpine:3.22 AS a\nFROM alpine:3.22 AS context\n";
    expect(found(text, "DuplicateStageName")).toEqual([
      [2, 'Duplicate stage name "a", stage names should be unique'],
    ]);
    expect(found(text, "ReservedStageName")).toEqual([
      [3, 'Stage name should not use the same name as reserved stage "context"'],
    ]);
    expect(found("FROM alpine:3.22 AS a\nFROM a AS b\n", "DuplicateStageName")).toEqual([]);
  });

  it("InvalidDefaultArgInFrom: a base name that is empty or invalid with the ARG defaults alone", () => {
    const text =
      "ARG IMAGE\nARG TAG=3.22\nFROM ${IMAGE}\nFROM alpine:${TAG}\nFROM alpine:${TAG2}\n";
    expect(found(text, "InvalidDefaultArgInFrom", { buildArgs: { IMAGE: "busybox" } })).toEqual([
      [3, "Default value for ARG ${IMAGE} results in empty or invalid base image name"],
      [5, "Default value for ARG alpine:${TAG2} results in empty or invalid base image name"],
    ]);
  });

  it("UndefinedArgInFrom: FROM uses a name no ARG declares, with BuildKit's suggestion", () => {
    const text =
      "ARG VERSION=3.22\nFROM alpine:${VERSON}\nFROM alpine:${VERSION}\nFROM --platform=$BUILDPLATFORM alpine:3.22\n";
    expect(found(text, "UndefinedArgInFrom")).toEqual([
      [2, "FROM argument 'VERSON' is not declared (did you mean VERSION?)"],
    ]);
  });

  it("RedundantTargetPlatform: --platform=$TARGETPLATFORM alone", () => {
    const text =
      "FROM --platform=$TARGETPLATFORM alpine:3.22\nFROM --platform=$BUILDPLATFORM alpine:3.22\n";
    expect(found(text, "RedundantTargetPlatform")).toEqual([
      [
        1,
        "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
      ],
    ]);
  });

  it("FromPlatformFlagConstDisallowed: a constant platform, unless the stage is named after it", () => {
    const text =
      "FROM --platform=linux/arm64 alpine:3.22 AS a\nFROM --platform=linux/arm64 alpine:3.22 AS build-arm64\nFROM --platform=$BUILDPLATFORM alpine:3.22\n";
    expect(found(text, "FromPlatformFlagConstDisallowed")).toEqual([
      [1, 'FROM --platform flag should not use constant value "linux/arm64"'],
    ]);
  });

  it("InvalidDefinitionDescription runs only when experimental enables it", () => {
    const text = "FROM scratch\n# the base args\nARG A\n# A sets the thing\nARG A2\n";
    expect(found(text, "InvalidDefinitionDescription")).toEqual([]);
    const enabled = `# check=experimental=InvalidDefinitionDescription\n${text}`;
    expect(found(enabled, "InvalidDefinitionDescription")).toEqual([
      [4, "Comment for ARG should follow the format: `# A <description>`"],
      [6, "Comment for ARG should follow the format: `# A2 <description>`"],
    ]);
  });
});

describe("BuildKit's dispatch-time rules", () => {
  it("JSONArgsRecommended: shell-form CMD and ENTRYPOINT, unless SHELL was set", () => {
    const text =
      'FROM scratch\nCMD run\nENTRYPOINT ["app"]\nFROM scratch\nSHELL ["/bin/sh", "-c"]\nCMD run\n';
    expect(found(text, "JSONArgsRecommended")).toEqual([
      [
        2,
        "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
      ],
    ]);
  });

  it("MultipleInstructionsDisallowed: reported at the earlier one, per stage", () => {
    const text =
      'FROM scratch AS a\nCMD ["a"]\nCMD ["b"]\nHEALTHCHECK NONE\nHEALTHCHECK NONE\nFROM a\nCMD ["c"]\n';
    expect(found(text, "MultipleInstructionsDisallowed")).toEqual([
      [
        2,
        "Multiple CMD instructions should not be used in the same stage because only the last one will be used",
      ],
      [
        4,
        "Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used",
      ],
    ]);
  });

  it("LegacyKeyValueFormat: ENV and LABEL without '='", () => {
    const text = "FROM scratch\nENV A b\nENV C=d\nLABEL e f\n";
    expect(found(text, "LegacyKeyValueFormat")).toEqual([
      [2, '"ENV key=value" should be used instead of legacy "ENV key value" format'],
      [4, '"LABEL key=value" should be used instead of legacy "LABEL key value" format'],
    ]);
  });

  it("WorkdirRelativePath: only the first WORKDIR of a stage chain, after expansion", () => {
    const text =
      "FROM scratch AS a\nWORKDIR app\nWORKDIR more\nFROM scratch AS b\nENV D=/srv\nWORKDIR $D\nFROM b\nWORKDIR rel\n";
    expect(found(text, "WorkdirRelativePath", { targets: ["a", "b"] })).toEqual([
      [2, 'Relative workdir "app" can have unexpected results if the base image changes'],
    ]);
  });

  it("SecretsUsedInArgOrEnv: BuildKit's name pattern, allow-list included", () => {
    const text =
      "FROM scratch\nARG GITHUB_TOKEN\nARG PUBLIC_KEY\nENV DB_PASSWORD=x\nENV MONKEY=1 AUTH_FILE=/a TOKENIZER=2\n";
    expect(found(text, "SecretsUsedInArgOrEnv")).toEqual([
      [2, 'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")'],
      [4, 'Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")'],
    ]);
  });

  it("InvalidBaseImagePlatform: a base the engine has for another OS or architecture", () => {
    const arm: BaseImageConfig = {
      ...alpine,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    };
    const amd: BaseImageConfig = { ...alpine, platform: { os: "linux", architecture: "amd64" } };
    const text =
      "FROM alpine:3.22 AS a\nFROM --platform=linux/arm64 alpine:3.22 AS b\nFROM scratch AS c\n";
    expect(found(text, "InvalidBaseImagePlatform", images(arm))).toEqual([
      [
        1,
        'Base image alpine:3.22 was pulled with platform "linux/arm64/v8", expected "linux/amd64" for current build',
      ],
    ]);
    expect(found(text, "InvalidBaseImagePlatform", images(amd))).toEqual([
      [
        2,
        'Base image alpine:3.22 was pulled with platform "linux/amd64", expected "linux/arm64" for current build',
      ],
    ]);
    // The target platform is the build's --platform; a variant alone is no mismatch (BuildKit
    // compares OS and architecture).
    expect(
      found("FROM alpine:3.22\n", "InvalidBaseImagePlatform", {
        ...images(arm),
        platform: "linux/arm64/v7",
      }),
    ).toEqual([]);
    // Not inspected, not on the engine, or no platform said: nothing to compare.
    expect(found(text, "InvalidBaseImagePlatform")).toEqual([]);
    expect(found(text, "InvalidBaseImagePlatform", images(alpine))).toEqual([]);
    expect(
      found(text, "InvalidBaseImagePlatform", {
        baseImages: new Map([["alpine:3.22", undefined]]),
      }),
    ).toEqual([]);
  });

  it("ExposeProtoCasing and ExposeInvalidFormat", () => {
    const text = "FROM scratch\nEXPOSE 80/TCP 443\nEXPOSE 127.0.0.1:8080:80 9000:90/udp\n";
    expect(found(text, "ExposeProtoCasing")).toEqual([
      [2, "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase"],
    ]);
    expect(found(text, "ExposeInvalidFormat")).toEqual([
      [
        3,
        "EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:8080:80'",
      ],
      [
        3,
        "EXPOSE instruction should not define an IP address or host-port mapping, found '9000:90/udp'",
      ],
    ]);
  });

  it("UndefinedVar: unset names, with ARG, ENV, the base image's env and build args known", () => {
    const text = [
      "FROM alpine:3.22",
      "ARG VERSION",
      "ENV APP=/app",
      "COPY app-$VERSION $APP/",
      "ENV PATH=$PAHT:/app/bin",
      "WORKDIR $HOME_DIR",
      "RUN echo $NOT_CHECKED_IN_RUN",
    ].join("\n");
    expect(found(text, "UndefinedVar", images())).toEqual([
      [5, "Usage of undefined variable '$PAHT' (did you mean $PATH?)"],
      [6, "Usage of undefined variable '$HOME_DIR'"],
    ]);
    const withHome = images({ ...alpine, env: [...alpine.env, "HOME_DIR=/root"] });
    expect(found(text, "UndefinedVar", withHome)).toEqual([
      [5, "Usage of undefined variable '$PAHT' (did you mean $PATH?)"],
    ]);
  });

  it("UndefinedVar is not judged on an image whose environment is unknown, and says so", () => {
    const report = checkDockerfile("FROM alpine:3.22\nWORKDIR $HOME_DIR\n");
    expect(report.findings.filter((finding) => finding.rule === "UndefinedVar")).toEqual([]);
    expect(report.notes.join("\n")).toContain("UndefinedVar not checked in stage stage-0");
    expect(report.unknownEnvStages).toEqual(["stage-0"]);
  });

  it("names a few of many stages UndefinedVar did not check, and their count; the field has all", () => {
    const stages = (count: number): string =>
      Array.from({ length: count }, (_, i) => `FROM alpine:3.22 AS s${i}\n`).join("");
    const note = (text: string): string | undefined =>
      checkDockerfile(text).notes.find((line) => line.startsWith("UndefinedVar"));
    expect(note(stages(4))).toBe(
      "UndefinedVar not checked in stages s0, s1, s2, s3: the environment of their base image is unknown",
    );
    const many = checkDockerfile(stages(500));
    expect(many.notes.find((line) => line.startsWith("UndefinedVar"))).toBe(
      "UndefinedVar not checked in 500 stages (s0, s1, s2, ...): the environment of their base image is unknown",
    );
    expect(many.unknownEnvStages).toEqual(Array.from({ length: 500 }, (_, i) => `s${i}`));
  });

  it("UndefinedVar in a stage built on a stage inherits its env and ARGs", () => {
    const text = "FROM scratch AS base\nARG A\nENV B=1\nFROM base\nCOPY $A$B$C /x\n";
    expect(found(text, "UndefinedVar")).toEqual([
      [5, "Usage of undefined variable '$C' (did you mean $B?)"],
    ]);
  });

  it("CopyIgnoredFile: a context source .dockerignore excludes, not a --from one", () => {
    const context: ContextFacts = {
      ignoreFile: ".dockerignore",
      ignorePatterns: ["secrets", "*.log"],
      isIgnored: (path) =>
        path === "secrets" || path.startsWith("secrets/") || path.endsWith(".log"),
      hazards: [],
    };
    const text =
      "FROM scratch AS a\nFROM scratch\nCOPY ./secrets/key /key\nCOPY --from=a /secrets /s\nADD app.log /\nCOPY src /src\n";
    expect(found(text, "CopyIgnoredFile", { context })).toEqual([
      [3, 'Attempting to Copy file "secrets/key" that is excluded by .dockerignore'],
      [5, 'Attempting to Add file "app.log" that is excluded by .dockerignore'],
    ]);
    // With an exception pattern BuildKit does not judge at all.
    expect(
      found(text, "CopyIgnoredFile", {
        context: { ...context, ignorePatterns: [...context.ignorePatterns, "!keep.log"] },
      }),
    ).toEqual([]);
  });

  it("runs dispatch-time rules only in the stages a requested target builds", () => {
    const text = "FROM scratch AS unused\nENV A b\nFROM scratch AS app\nENV C d\n";
    expect(found(text, "LegacyKeyValueFormat").map(([line]) => line)).toEqual([2, 4]);
    expect(found(text, "LegacyKeyValueFormat", { targets: ["app"] }).map(([line]) => line)).toEqual(
      [4],
    );
  });
});

describe("# check= as BuildKit reads it", () => {
  const text = "FROM scratch AS Build\nMAINTAINER me\nENV A b\n";

  it("skip= drops the named rules, skip=all every rule", () => {
    const rules = (source: string): string[] =>
      checkDockerfile(source)
        .findings.map((finding) => finding.rule)
        .filter((rule) => rule !== "StageRootUser");
    expect(rules(text)).toEqual([
      "StageNameCasing",
      "MaintainerDeprecated",
      "LegacyKeyValueFormat",
    ]);
    expect(rules(`# check=skip=StageNameCasing,LegacyKeyValueFormat\n${text}`)).toEqual([
      "MaintainerDeprecated",
    ]);
    expect(checkDockerfile(`# check=skip=all\n${text}`).findings).toEqual([]);
  });

  it("error=true makes every warning an error", () => {
    const report = checkDockerfile(`# check=error=true\n${text}`);
    expect(report.config.errorOnWarning).toBe(true);
    expect(
      report.findings.find((finding) => finding.rule === "MaintainerDeprecated")?.severity,
    ).toBe("error");
    expect(
      checkDockerfile(text).findings.find((finding) => finding.rule === "MaintainerDeprecated")
        ?.severity,
    ).toBe("warning");
  });

  it("a check= comment before an instruction skips rules for it alone", () => {
    const source = "FROM scratch\n# check=skip=LegacyKeyValueFormat\nENV A b\nENV C d\n";
    expect(found(source, "LegacyKeyValueFormat").map(([line]) => line)).toEqual([4]);
  });

  it("an invalid directive is a Dockerfile error with BuildKit's text", () => {
    expect(() => checkDockerfile(`# check=skip=A;bogus\n${text}`, { file: "Dockerfile" })).toThrow(
      'failed to parse check options: invalid check option "bogus"',
    );
  });
});

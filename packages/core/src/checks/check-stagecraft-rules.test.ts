import { describe, expect, it } from "vitest";
import { checkDockerfile } from "./check-dockerfile.js";
import type {
  BaseImageConfig,
  CheckOptions,
  CheckRuleName,
  ContextFacts,
  ContextHazard,
} from "./check-types.js";

function found(text: string, rule: CheckRuleName, options: CheckOptions = {}) {
  return checkDockerfile(text, options)
    .findings.filter((finding) => finding.rule === rule)
    .map((finding) => ({
      line: finding.location.line,
      severity: finding.severity,
      message: finding.message,
      stage: finding.stage,
    }));
}

const config = (user: string): BaseImageConfig => ({
  user,
  env: ["PATH=/usr/bin:/bin"],
  shell: [],
});

describe("StageRootUser", () => {
  const text = [
    "FROM debian:12 AS build",
    "RUN make",
    "FROM debian:12 AS app",
    "COPY --from=build /out /app",
  ].join("\n");

  it("flags root inherited from the base image's config, only in the stage that ships", () => {
    const images = new Map([["debian:12", config("")]]);
    expect(found(text, "StageRootUser", { baseImages: images })).toEqual([
      {
        line: 3,
        severity: "warning",
        message:
          'stage "app" ships running as root, inherited from its base image debian:12, whose config sets no USER',
        stage: "app",
      },
    ]);
  });

  it("accepts a base image whose config sets a non-root user", () => {
    const images = new Map([["debian:12", config("nonroot")]]);
    expect(found(text, "StageRootUser", { baseImages: images })).toEqual([]);
  });

  it("says when the base image could not be inspected, as info", () => {
    const [finding] = found(text, "StageRootUser", {
      baseImagesUnavailable: "no engine is reachable",
    });
    expect(finding?.severity).toBe("info");
    expect(finding?.message).toContain("could not be read (no engine is reachable)");
    const notOnEngine = found(text, "StageRootUser", {
      baseImages: new Map([["debian:12", undefined]]),
    });
    expect(notOnEngine[0]?.message).toContain("(debian:12 is not on the engine)");
  });

  it("flags USER root, its own or a base stage's, and follows the targets requested", () => {
    const source = [
      "FROM debian:12 AS base",
      "USER root",
      "FROM base AS test",
      "FROM base AS app",
      "USER 1000:1000",
    ].join("\n");
    expect(found(source, "StageRootUser", { targets: ["test", "app"] })).toEqual([
      {
        line: 2,
        severity: "warning",
        message:
          'stage "test" ships running as root: USER root at line 2 (in stage "base", which it is built on)',
        stage: "test",
      },
    ]);
    expect(found(source, "StageRootUser", { targets: ["app"] })).toEqual([]);
    expect(found("FROM scratch\nUSER 0:0\n", "StageRootUser")[0]?.message).toBe(
      'stage "stage-0" ships running as root: USER 0:0 at line 2',
    );
  });

  it("does not judge a USER, WORKDIR or EXPOSE whose variable the uninspected base image may set", () => {
    const text =
      "FROM mcr.microsoft.com/dotnet/aspnet:9.0\nUSER $APP_UID\nWORKDIR $APP_HOME\nEXPOSE $PORT\n";
    const report = checkDockerfile(text);
    expect(report.findings.map((finding) => finding.rule)).toEqual([]);
    const known = new Map([
      ["mcr.microsoft.com/dotnet/aspnet:9.0", { user: "", env: ["APP_UID=1654"], shell: [] }],
    ]);
    expect(
      checkDockerfile(text, { baseImages: known }).findings.map((finding) => finding.rule),
    ).toEqual(["UndefinedVar", "WorkdirRelativePath"]);
  });

  it("flags a scratch stage without USER", () => {
    expect(found("FROM scratch\nCOPY app /app\n", "StageRootUser")[0]?.message).toBe(
      'stage "stage-0" ships running as root: it is built from scratch and sets no USER',
    );
    expect(found("FROM scratch\nUSER 65532\n", "StageRootUser")).toEqual([]);
  });
});

describe("ShippedBuildTools", () => {
  it("names the line that installed compilers in the shipped stage", () => {
    const text =
      "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12 make curl\n";
    expect(found(text, "ShippedBuildTools")).toEqual([
      {
        line: 2,
        severity: "warning",
        message:
          'stage "stage-0" ships gcc, make (the C compiler; make): installed by apt-get install at line 2',
        stage: "stage-0",
      },
    ]);
  });

  it("leaves a build stage alone, and tools removed again", () => {
    const builder =
      "FROM debian:12 AS build\nRUN apt-get install -y gcc\nFROM debian:12\nCOPY --from=build /out/app /app\n";
    expect(found(builder, "ShippedBuildTools")).toEqual([]);
    const removed = [
      "FROM alpine:3.22",
      "RUN apk add --no-cache --virtual .build-deps gcc musl-dev && make && apk del .build-deps",
      "RUN deps='g++ make' && apt-get install -y $deps && apt-get purge -y $deps",
    ].join("\n");
    expect(found(removed, "ShippedBuildTools")).toEqual([]);
  });

  it("follows the base stages of the shipped stage", () => {
    const text = "FROM alpine:3.22 AS base\nRUN apk add build-base\nFROM base AS app\n";
    expect(found(text, "ShippedBuildTools")[0]?.message).toBe(
      'stage "app" ships build-base (the C/C++ toolchain): installed by apk add at line 2 in stage "base", which stage "app" is built on',
    );
  });

  it("flags a whole-filesystem or /usr COPY --from a stage with tools, not a copy of one file", () => {
    const text = [
      "FROM debian:12 AS build",
      "RUN apt-get install -y gcc",
      "FROM debian:12",
      "COPY --from=build / /",
      "COPY --from=build /usr /usr",
      "COPY --from=build /usr/local/bin/app /usr/local/bin/app",
    ].join("\n");
    const findings = found(text, "ShippedBuildTools");
    expect(findings.map((finding) => finding.line)).toEqual([4, 5]);
    expect(findings[0]?.message).toBe(
      'stage "stage-1" ships build tools copied in: COPY --from=build / at line 4 brings the whole filesystem of stage "build" (built on debian:12), with gcc (the C compiler) (installed at line 2)',
    );
  });

  it("does not flag a whole-filesystem copy of a scratch stage holding only artefacts", () => {
    const text =
      "FROM golang:1.26 AS build\nRUN go build -o /app .\nFROM scratch AS out\nCOPY --from=build /app /app\nFROM debian:12\nCOPY --from=out / /\n";
    expect(found(text, "ShippedBuildTools")).toEqual([]);
  });

  it("flags a shipped stage built on a toolchain image, and a copied Go toolchain", () => {
    expect(
      found("FROM golang:1.26-alpine\nRUN go build .\n", "ShippedBuildTools")[0]?.message,
    ).toBe(
      'stage "stage-0" ships the Go toolchain: it is built on golang:1.26-alpine (FROM at line 1)',
    );
    const copied = found(
      "FROM golang:1.26 AS go\nFROM debian:12\nCOPY --from=go /usr/local/go /usr/local/go\n",
      "ShippedBuildTools",
    );
    expect(copied.map((finding) => finding.line)).toEqual([3]);
  });

  it("reads a built image's layers when they are given (the image-aware half)", () => {
    const layers = new Map([
      [
        "stage-0",
        [
          {
            index: 0,
            line: undefined,
            stage: undefined,
            paths: ["/bin/sh", "/usr/bin/apt-get", "/usr/bin/gcc"],
          },
          { index: 1, line: 2, stage: "stage-0", paths: ["/app/server"] },
          { index: 2, line: 3, stage: "stage-0", paths: ["/usr/local/bin/pip"] },
        ],
      ],
    ]);
    expect(
      found(
        "FROM debian:12\nCOPY server /app/server\nCOPY tools/ /usr/local/\n",
        "ShippedBuildTools",
        {
          imageLayers: layers,
        },
      ),
    ).toEqual([
      {
        line: 1,
        severity: "warning",
        message:
          'stage "stage-0" ships the C compiler: layer 0 (from the base image) adds /usr/bin/gcc',
        stage: "stage-0",
      },
      {
        line: 3,
        severity: "warning",
        message:
          'stage "stage-0" ships a package manager: layer 2 (made by line 3 of stage "stage-0") adds /usr/local/bin/pip',
        stage: "stage-0",
      },
    ]);
  });

  it("notes a shipped stage's layer that could not be scanned, naming it and why", () => {
    const why = "it is compressed with zstd, which the zlib of Node v20.0.0 cannot decompress";
    const layers = new Map([
      [
        "runtime",
        [
          { index: 0, line: undefined, stage: undefined, paths: ["/bin/sh"] },
          { index: 1, line: 3, stage: "runtime", paths: [], unreadable: why },
        ],
      ],
      // A stage that only builds: its image is not scanned for build tools, so no note.
      ["build", [{ index: 0, line: 1, stage: "build", paths: [], unreadable: why }]],
    ]);
    const text = "FROM debian:12 AS build\nFROM debian:12 AS runtime\nCOPY app /app\n";
    const report = checkDockerfile(text, { targets: ["runtime"], imageLayers: layers });
    expect(report.notes.filter((note) => note.includes("not scanned"))).toEqual([
      `layer 1 (made by line 3 of stage "runtime") of stage "runtime"'s image was not scanned for build tools: ${why}`,
    ]);
    // Without unreadable layers there is no such note.
    const clean = new Map([["runtime", [{ index: 0, line: 3, stage: "runtime", paths: [] }]]]);
    const cleanReport = checkDockerfile(text, { targets: ["runtime"], imageLayers: clean });
    expect(cleanReport.notes.some((note) => note.includes("not scanned"))).toBe(false);
  });

  it("leaves a package manager that came with the base image alone (apt in debian, busybox's dpkg)", () => {
    const layers = new Map([
      [
        "stage-0",
        [{ index: 0, line: undefined, stage: undefined, paths: ["/bin/dpkg", "/usr/bin/apt-get"] }],
      ],
    ]);
    expect(
      found("FROM debian:12\nCOPY server /app/server\n", "ShippedBuildTools", {
        imageLayers: layers,
      }),
    ).toEqual([]);
  });
});

describe("CacheBustingCopyOrder", () => {
  it("flags COPY . before the install of the same stage, with the ecosystem's manifests", () => {
    const text = "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n";
    expect(found(text, "CacheBustingCopyOrder")).toEqual([
      {
        line: 3,
        severity: "warning",
        message:
          'COPY . at line 3 copies the whole build context before `npm ci` at line 4 in stage "build": any change to a source file re-runs the install',
        stage: "build",
      },
    ]);
    const fix = checkDockerfile(text).findings.find(
      (finding) => finding.rule === "CacheBustingCopyOrder",
    )?.fix;
    expect(fix).toBe(
      "COPY package.json and package-lock.json first, RUN npm ci, then COPY the rest of the sources.",
    );
  });

  it("accepts manifests first, and an install before the whole copy", () => {
    const good =
      "FROM golang:1.26\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build ./...\n";
    expect(found(good, "CacheBustingCopyOrder")).toEqual([]);
    const again =
      "FROM python:3.13\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\nRUN pip install -r requirements.txt\n";
    expect(found(again, "CacheBustingCopyOrder")).toEqual([]);
  });

  it("recognises pip, go, maven, bundler, yarn, pnpm, cargo, uv, dotnet", () => {
    for (const install of [
      "pip install -r requirements.txt",
      "go mod download",
      "mvn -B dependency:go-offline",
      "bundle install",
      "yarn install --frozen-lockfile",
      "pnpm install",
      "cargo fetch",
      "uv sync --locked",
      "dotnet restore",
    ]) {
      expect(
        found(`FROM scratch\nCOPY . /src\nRUN ${install}\n`, "CacheBustingCopyOrder"),
        install,
      ).toHaveLength(1);
    }
    expect(
      found("FROM scratch\nCOPY . /src\nRUN npm install -g typescript\n", "CacheBustingCopyOrder"),
    ).toEqual([]);
  });
});

describe("SecretValueInArgOrEnv", () => {
  it("flags literal tokens by their shape, without repeating them", () => {
    const token = `ghp_${"a1B2".repeat(9)}`;
    const text = `ARG GH=${token}\nFROM scratch\nENV AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n`;
    const findings = found(text, "SecretValueInArgOrEnv");
    expect(findings.map((finding) => [finding.line, finding.severity])).toEqual([
      [1, "error"],
      [3, "error"],
    ]);
    expect(findings[0]?.message).toBe(
      "ARG GH holds a literal value that looks like a GitHub token: it is in the Dockerfile and in the image's history",
    );
    expect(JSON.stringify(findings)).not.toContain(token);
  });

  it("flags a random-looking value of a secret-named key, not versions, paths, references or placeholders", () => {
    expect(
      found("FROM scratch\nENV API_KEY=Zx81kQp2LmN7vR4tYw\n", "SecretValueInArgOrEnv"),
    ).toHaveLength(1);
    const fine = [
      "FROM scratch",
      "ENV NODE_VERSION=22.11.0",
      "ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
      "ARG TOKEN_FILE=/run/secrets/token",
      "ARG PASSWORD=changeme",
      "ARG SECRET=${SECRET_FROM_CI}",
      "ENV DATABASE_URL=postgres://app@db/app",
    ].join("\n");
    expect(found(fine, "SecretValueInArgOrEnv")).toEqual([]);
  });
});

describe("StageNameTypo and UnpinnedBaseImage", () => {
  it("flags a --from one typo away from a stage, in a planned stage", () => {
    const text = "FROM alpine:3.22 AS builder\nFROM alpine:3.22\nCOPY --from=buidler /app /app\n";
    expect(found(text, "StageNameTypo")).toEqual([
      {
        line: 3,
        severity: "error",
        message:
          'COPY --from=buidler names no stage, so BuildKit will pull it as an image; did you mean "builder"?',
        stage: "stage-1",
      },
    ]);
    expect(found(text, "StageNameTypo", { targets: ["builder"] })).toEqual([]);
  });

  it("flags untagged and :latest bases, not versions, digests or stages", () => {
    const text =
      "FROM alpine AS a\nFROM nginx:latest AS b\nFROM alpine:3.22 AS c\nFROM alpine@sha256:" +
      "0".repeat(64) +
      " AS d\nFROM a AS e\nCOPY --from=b / /\n";
    expect(
      found(text, "UnpinnedBaseImage", { targets: ["a", "b", "c", "d", "e"] }).map((finding) => [
        finding.line,
        finding.message,
      ]),
    ).toEqual([
      [
        1,
        'FROM alpine (stage "a") has no tag, so it means alpine:latest, whatever that is when the build runs',
      ],
      [2, 'FROM nginx:latest (stage "b") uses the latest tag, which moves with every release'],
    ]);
  });
});

describe("SharedCacheMountRace", () => {
  const text = [
    "FROM debian:12 AS base",
    "FROM base AS test",
    "RUN --mount=type=cache,target=/var/cache/apt apt-get install -y jq",
    "FROM base AS app",
    "RUN --mount=type=cache,target=/var/cache/apt apt-get install -y curl",
    "FROM base AS locked",
    "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get install -y curl",
  ].join("\n");

  it("flags two targets' independent stages writing one shared cache", () => {
    expect(
      found(text, "SharedCacheMountRace", { targets: ["test", "app"] }).map((finding) => [
        finding.line,
        finding.message,
      ]),
    ).toEqual([
      [
        5,
        'the cache mount /var/cache/apt is written with sharing=shared by stage "app" (line 5, target app) and stage "test" (line 3, target test), which BuildKit runs at the same time',
      ],
    ]);
  });

  it("leaves one target, locked mounts, and Go's caches alone", () => {
    expect(found(text, "SharedCacheMountRace", { targets: ["app"] })).toEqual([]);
    expect(found(text, "SharedCacheMountRace", { targets: ["test", "locked"] })).toEqual([]);
    const go =
      "FROM golang:1.26 AS a\nRUN --mount=type=cache,target=/root/.cache/go-build go test\nFROM golang:1.26 AS b\nRUN --mount=type=cache,target=/root/.cache/go-build go build\n";
    expect(found(go, "SharedCacheMountRace", { targets: ["a", "b"] })).toEqual([]);
  });
});

describe("ContextNotIgnored", () => {
  const hazard = (
    path: string,
    kind: ContextHazard["kind"],
    bytes: number,
    ignored = false,
  ): ContextHazard => ({ path, kind, bytes, files: 3, truncated: false, ignored });
  const context = (hazards: ContextHazard[], ignoreFile?: string): ContextFacts => ({
    ignoreFile,
    ignorePatterns: ignoreFile === undefined ? [] : ["dist"],
    isIgnored: () => false,
    hazards,
  });

  it("names the directories, their sizes, and the COPY that takes them into an image", () => {
    const text = "FROM node:22\nWORKDIR /app\nCOPY . .\n";
    const facts = context([
      hazard(".git", "vcs", 2_500_000),
      hazard("node_modules", "dependencies", 120_000_000),
      hazard("build", "build-output", 2000),
    ]);
    expect(found(text, "ContextNotIgnored", { context: facts })).toEqual([
      {
        line: 3,
        severity: "warning",
        message:
          'the build context holds .git (version control, 2.5 MB, 3 files), node_modules (installed dependencies, 120.0 MB, 3 files) and there is no .dockerignore; COPY . at line 3 copies them into stage "stage-0"',
        stage: "stage-0",
      },
    ]);
  });

  it("is quiet when the ignore file excludes them, and without context facts", () => {
    const text = "FROM node:22\nCOPY package.json .\n";
    expect(
      found(text, "ContextNotIgnored", {
        context: context([hazard(".git", "vcs", 10, true)], ".dockerignore"),
      }),
    ).toEqual([]);
    expect(found(text, "ContextNotIgnored")).toEqual([]);
    expect(
      found(text, "ContextNotIgnored", {
        context: context([hazard("dist", "build-output", 5_000_000)], ".dockerignore"),
      })[0]?.message,
    ).toBe(
      "the build context holds dist (build output, 5.0 MB, 3 files) and .dockerignore does not exclude it; every build sends it to the engine",
    );
  });
});

import { describe, expect, it } from "vitest";
import { silentLogger } from "../../logger.js";
import type { BuildRequest, EngineSession } from "../engine.js";
import type { ControlClient } from "./control-client.js";
import { GRPC_NOT_FOUND, GrpcError } from "./grpc-connection.js";
import { isContextUrl, solveBuild, toSolveRequest } from "./solve-build.js";

const session: EngineSession = {
  id: "s1",
  output: undefined,
  contextDockerfile: "Dockerfile.app",
  failure: undefined,
  onFailure: () => () => undefined,
  close: () => Promise.resolve(),
};

describe("toSolveRequest", () => {
  it("maps the build settings to the Dockerfile frontend's attributes", () => {
    const request = toSolveRequest(
      {
        context: () => {
          throw new Error("no tar");
        },
        dockerfile: "Dockerfile.app",
        buildId: "b1",
        target: "app",
        tags: ["a:1", "b:2"],
        buildArgs: { A: "1" },
        labels: { team: "x" },
        platform: "linux/arm64",
        noCache: true,
        pull: true,
        network: "none",
        extraHosts: ["db:127.0.0.1", "cache:127.0.0.2"],
        cacheFrom: [{ type: "registry", attrs: { ref: "r/c:app" } }],
        cacheTo: [{ type: "registry", attrs: { ref: "r/c:app", mode: "max" } }],
        namedContexts: { lib: "../lib", base: "docker-image://stagecraft/busybox:latest" },
        session,
      },
      "moby",
    );
    expect(request).toEqual({
      ref: "b1",
      session: "s1",
      frontend: "dockerfile.v0",
      frontendAttrs: {
        filename: "Dockerfile.app",
        target: "app",
        "build-arg:A": "1",
        "label:team": "x",
        platform: "linux/arm64",
        "no-cache": "",
        "image-resolve-mode": "pull",
        "force-network-mode": "none",
        "add-hosts": "db:127.0.0.1,cache:127.0.0.2",
        "context:lib": "local:lib",
        "context:base": "docker-image://stagecraft/busybox:latest",
        "cache-imports": '[{"Type":"registry","Attrs":{"ref":"r/c:app"}}]',
      },
      exporter: { type: "moby", attrs: { name: "a:1,b:2" } },
      cacheImports: [{ type: "registry", attrs: { ref: "r/c:app" } }],
      cacheExports: [{ type: "registry", attrs: { ref: "r/c:app", mode: "max" } }],
    });
  });

  it("exports to the session's output, and refuses a build whose context is not in a session", () => {
    const base = { context: () => process.stdin, dockerfile: "Dockerfile", buildId: "b2" };
    expect(
      toSolveRequest({ ...base, session: { ...session, output: "tar" } }, "image").exporter,
    ).toEqual({ type: "tar", attrs: {} });
    expect(() => toSolveRequest(base, "moby")).toThrow(/session/);
    expect(() =>
      toSolveRequest({ ...base, session: { ...session, contextDockerfile: undefined } }, "moby"),
    ).toThrow(/FileSync/);
  });

  it("pushes through the image exporter under the names given, whatever the store's exporter", () => {
    const base = { context: () => process.stdin, dockerfile: "Dockerfile", buildId: "b3", session };
    for (const exporter of ["moby", "image"] as const) {
      expect(
        toSolveRequest({ ...base, tags: ["r/a:1"] }, exporter, { names: ["r/a:1", "r/b:1"] })
          .exporter,
      ).toEqual({ type: "image", attrs: { name: "r/a:1,r/b:1", push: "true" } });
    }
  });

  it("tells a directory from a source BuildKit reads", () => {
    expect(isContextUrl("docker-image://alpine:3")).toBe(true);
    expect(isContextUrl("target:base")).toBe(true);
    expect(isContextUrl("./lib")).toBe(false);
    expect(isContextUrl("/abs/dir")).toBe(false);
  });
});

describe("a size-only build", () => {
  const base: BuildRequest = {
    context: () => process.stdin,
    dockerfile: "Dockerfile",
    buildId: "probe",
    target: "build",
    session,
    sizeOnly: true,
  };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: "sha256:c",
      size: 1098,
    },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: "sha256:l1",
        size: 121_712_640,
      },
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: "sha256:l2", size: 5000 },
    ],
  });
  const descriptor = (mediaType: string, digest = "sha256:m", size = 403): string =>
    Buffer.from(JSON.stringify({ mediaType, digest, size })).toString("base64");
  /** A client whose Solve answers `response` and whose content store holds the manifest `sha256:m`. */
  const client = (response: Record<string, string>, read: string[] = []) =>
    ({
      solve: () => Promise.resolve(response),
      status: () => Promise.resolve(),
      readContent: (digest: string) => {
        read.push(digest);
        return digest === "sha256:m"
          ? Promise.resolve(new TextEncoder().encode(manifest))
          : Promise.reject(new GrpcError(GRPC_NOT_FOUND, `content digest ${digest}: not found`));
      },
    }) as unknown as ControlClient;
  const manifestType = "application/vnd.oci.image.manifest.v1+json";

  it("asks for no name and no dangling name, and only without tags", () => {
    expect(toSolveRequest(base, "moby").exporter).toEqual({
      type: "moby",
      attrs: { "dangling-name-prefix": "" },
    });
    expect(toSolveRequest({ ...base, tags: ["a:1"] }, "moby").exporter).toEqual({
      type: "moby",
      attrs: { name: "a:1" },
    });
    expect(toSolveRequest({ ...base, sizeOnly: undefined }, "moby").exporter?.attrs).toEqual({});
  });

  it("answers inspect's Size from the exported manifest: manifest, config and layers", async () => {
    const read: string[] = [];
    const response = {
      "containerimage.digest": "sha256:m",
      "containerimage.descriptor": descriptor(manifestType),
    };
    expect(await solveBuild(client(response, read), base, "moby", silentLogger)).toEqual({
      imageId: "",
      sizeBytes: 403 + 1098 + 121_712_640 + 5000,
    });
    expect(read).toEqual(["sha256:m"]);
  });

  it("answers the image when one was made: named, or the graph driver's exporter", async () => {
    const named = {
      "containerimage.digest": "sha256:m",
      "containerimage.descriptor": descriptor(manifestType),
      "image.name": "moby-dangling@sha256:m",
    };
    expect(await solveBuild(client(named), base, "moby", silentLogger)).toEqual({
      imageId: "sha256:m",
    });
    const graphDriver = {
      "containerimage.config.digest": "sha256:cfg",
      "containerimage.digest": "sha256:cfg",
    };
    expect(await solveBuild(client(graphDriver), base, "moby", silentLogger)).toEqual({
      imageId: "sha256:cfg",
    });
    const configOnly = {
      ...graphDriver,
      "containerimage.descriptor": descriptor(
        "application/vnd.docker.container.image.v1+json",
        "sha256:cfg",
      ),
    };
    expect(await solveBuild(client(configOnly), base, "moby", silentLogger)).toEqual({
      imageId: "sha256:cfg",
    });
  });

  it("answers no size, and no image, when the manifest is gone or is an index", async () => {
    const gone = {
      "containerimage.digest": "sha256:x",
      "containerimage.descriptor": descriptor(manifestType, "sha256:x"),
    };
    expect(await solveBuild(client(gone), base, "moby", silentLogger)).toEqual({
      imageId: "",
      sizeBytes: undefined,
    });
    const read: string[] = [];
    const index = {
      "containerimage.digest": "sha256:m",
      "containerimage.descriptor": descriptor("application/vnd.oci.image.index.v1+json"),
    };
    expect(await solveBuild(client(index, read), base, "moby", silentLogger)).toEqual({
      imageId: "",
      sizeBytes: undefined,
    });
    expect(read).toEqual([]);
  });
});

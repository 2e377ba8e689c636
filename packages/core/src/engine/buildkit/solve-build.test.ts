import { describe, expect, it } from "vitest";
import type { EngineSession } from "../engine.js";
import { isContextUrl, toSolveRequest } from "./solve-build.js";

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

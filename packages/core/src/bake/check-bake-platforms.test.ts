import { describe, expect, it } from "vitest";
import { FakeEngine } from "../testing/fake-engine.js";
import type { EngineCapabilities } from "../engine/engine-capabilities.js";
import { BakeError } from "../errors.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { checkBakePlatforms, type PlatformEngine } from "./check-bake-platforms.js";
import { planBakeRuns } from "./plan-bake-runs.js";
import type { BakeTarget } from "./bake-target.js";

// What every fake engine answers: Docker 26.1.5 on linux/amd64.
const INFO = await new FakeEngine().info();

/** An engine with this image store and these worker platforms; it counts what it was asked. */
function engineOf(kind: "graph-driver" | "containerd", workers: string[] | undefined) {
  const asked: string[] = [];
  const engine: PlatformEngine = {
    info: () => {
      asked.push("info");
      return Promise.resolve(INFO);
    },
    capabilities: () => {
      asked.push("capabilities");
      return Promise.resolve({
        ...INFO,
        imageStore: { kind, driver: kind === "containerd" ? "overlayfs" : "overlay2" },
      } as EngineCapabilities);
    },
    listWorkers: () => {
      asked.push("workers");
      return workers === undefined
        ? Promise.reject(new Error("no /grpc"))
        : Promise.resolve([{ id: "w", labels: {}, platforms: workers }]);
    },
  };
  return { engine, asked };
}

const runs = (target: Record<string, BakeTarget>) => planBakeRuns({ group: {}, target });
const AMD64 = ["linux/amd64", "linux/amd64/v2", "linux/386"];

async function refusal(promise: Promise<unknown>): Promise<BakeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BakeError) return error;
    throw error;
  }
  throw new Error("expected a BakeError");
}

describe("checkBakePlatforms", () => {
  it("asks the engine nothing when no target names a platform", async () => {
    const { engine, asked } = engineOf("graph-driver", AMD64);
    expect(await checkBakePlatforms(runs({ app: {} }), engine)).toEqual([]);
    expect(asked).toEqual([]);
  });

  it("refuses several platforms on a graph-driver store with buildx's reason and the way out", async () => {
    const { engine } = engineOf("graph-driver", AMD64);
    const error = await refusal(
      checkBakePlatforms(runs({ app: { platforms: ["linux/amd64", "linux/arm64"] } }), engine),
    );
    expect(error.code).toBe("BAKE_UNSUPPORTED");
    expect(error.key).toBe('target "app".platforms');
    expect(error.message).toContain(
      "Multi-platform build is not supported for the docker driver. Switch to a different driver, or turn on the containerd image store, and try again.",
    );
    expect(error.message).toContain("the overlay2 graph driver");
    expect(error.hint).toContain("--set app.platforms=linux/amd64");
    expect(error.hint).toContain("containerd-snapshotter");
  });

  it("counts the platforms of one entry with commas, as buildx splits it", async () => {
    const { engine } = engineOf("graph-driver", AMD64);
    const error = await refusal(
      checkBakePlatforms(runs({ app: { platforms: ["linux/amd64,linux/s390x"] } }), engine),
    );
    expect(error.message).toContain("(linux/amd64, linux/s390x;");
  });

  it("lets several platforms through on the containerd store, the foreign one explained", async () => {
    const { engine } = engineOf("containerd", AMD64);
    const warnings = await checkBakePlatforms(
      runs({ app: { platforms: ["linux/amd64", "linux/arm64"] } }),
      engine,
    );
    expect(warnings).toEqual([
      expect.stringContaining(
        'target "app": platform linux/arm64 is not the engine\'s own (linux/amd64) and its BuildKit cannot run linux/arm64 programs',
      ),
    ]);
  });

  it("names the RUN steps built for a platform the engine cannot run, or says there are none", async () => {
    const { engine } = engineOf("containerd", AMD64);
    const planned = runs({
      app: { platforms: ["linux/amd64", "linux/arm64"], target: "app" },
    });
    const dockerfile = (text: string) =>
      analyzeDockerfile(text, {
        file: "app/Dockerfile",
        platform: "linux/amd64",
        targets: ["app"],
      });
    // A stage on $BUILDPLATFORM runs the engine's programs; one on the target platform does not.
    const copying = dockerfile(
      [
        "FROM --platform=$BUILDPLATFORM stagecraft/busybox AS build",
        "RUN echo built > /out",
        "FROM scratch AS app",
        "COPY --from=build /out /out",
        "ENV APP=1",
        "",
      ].join("\n"),
    );
    const [copies] = await checkBakePlatforms(planned, engine, { analyses: [copying] });
    expect(copies).toContain("no RUN step is built for linux/arm64");
    expect(copies).toContain("so it builds");
    const running = dockerfile(
      [
        "FROM --platform=$BUILDPLATFORM stagecraft/busybox AS build",
        "RUN echo built > /out",
        "FROM --platform=$TARGETPLATFORM stagecraft/busybox AS tools",
        "RUN echo tools > /tools",
        "FROM stagecraft/busybox AS app",
        "COPY --from=build /out /out",
        "COPY --from=tools /tools /tools",
        "RUN cat /out",
        "",
      ].join("\n"),
    );
    const [runsThere] = await checkBakePlatforms(planned, engine, { analyses: [running] });
    expect(runsThere).toContain(
      'the RUN steps built for linux/arm64 at app/Dockerfile:4 (stage tools), app/Dockerfile:8 (stage app) fail with "exec format error"',
    );
    expect(runsThere).toContain("Install QEMU emulation (binfmt)");
  });

  it("says what the engine does with one platform that is not its own", async () => {
    const { engine } = engineOf("graph-driver", AMD64);
    const warnings = await checkBakePlatforms(
      runs({
        arm: { platforms: ["linux/arm64"] },
        i386: { platforms: ["linux/386"], args: { X: "1" } },
        own: { platforms: ["linux/amd64"], args: { X: "2" } },
      }),
      engine,
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      'target "arm": platform linux/arm64 is not the engine\'s own (linux/amd64) and its BuildKit cannot run linux/arm64 programs',
    );
    expect(warnings[0]).toContain('RUN steps fail with "exec format error"');
    expect(warnings[1]).toContain("its BuildKit runs linux/386 programs (natively or emulated)");
    const unknown = await checkBakePlatforms(
      runs({ arm: { platforms: ["linux/arm64"] } }),
      engineOf("graph-driver", undefined).engine,
    );
    expect(unknown[0]).toContain("is unknown");
  });
});

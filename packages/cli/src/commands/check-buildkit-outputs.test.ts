import { describe, expect, it } from "vitest";
import { EngineError } from "@stagecraft/core";
import {
  BuildkitEngine,
  type BuildkitDescription,
  type WorkerStore,
} from "@stagecraft/core/engine";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { checkBuildkitOutputs } from "./check-buildkit-outputs.js";

/** A BuildkitEngine that describes itself with `store`, asking no daemon. */
function engineWith(store: WorkerStore | Error, pushRefusal?: string): BuildkitEngine {
  const engine = new BuildkitEngine({ address: "buildkit+unix:///run/bk.sock" });
  engine.describe = (): Promise<BuildkitDescription> =>
    store instanceof Error
      ? Promise.reject(store)
      : Promise.resolve({
          endpoint: "buildkit+unix:///run/bk.sock",
          version: "v0.20.0",
          workers: [],
          store,
          platforms: ["linux/amd64"],
          pushRefusal,
          cache: undefined,
        });
  return engine;
}

describe("checkBuildkitOutputs", () => {
  it("refuses tags on an OCI worker before sending, and says what to do", async () => {
    const io = createMemoryIo();
    const code = await checkBuildkitOutputs(
      io,
      engineWith({ kind: "none", executor: "oci" }),
      { output: undefined, push: false },
      { app: ["me/app:1"] },
    );
    expect(code).toBe(2);
    expect(io.stderr.text()).toContain(
      "error: -t me/app:1: the buildkitd at buildkit+unix:///run/bk.sock (worker oci) keeps no images",
    );
    expect(io.stderr.text()).toContain("fix: export the files with -o type=local,dest=DIR");
    expect(io.stderr.text()).toContain("nothing was sent");
  });

  it("warns, and builds, when an OCI worker's result has nowhere to go but the cache", async () => {
    const io = createMemoryIo();
    const code = await checkBuildkitOutputs(
      io,
      engineWith({ kind: "none", executor: "oci" }),
      { output: undefined, push: false },
      { app: [] },
    );
    expect(code).toBeUndefined();
    expect(io.stderr.text()).toContain("the result stays in its build cache");
  });

  it("lets an output through on an OCI worker, and tags on moby's and containerd's", async () => {
    for (const [store, output] of [
      [{ kind: "none", executor: "oci" }, "type=tar,dest=out.tar"],
      [{ kind: "docker-engine" }, undefined],
      [{ kind: "containerd", namespace: "buildkit" }, undefined],
    ] as const) {
      const io = createMemoryIo();
      expect(
        await checkBuildkitOutputs(
          io,
          engineWith(store),
          { output, push: false },
          { app: ["me/app:1"] },
        ),
      ).toBeUndefined();
      expect(io.stderr.text()).toBe("");
    }
  });

  it("refuses --push before sending where the worker cannot push, and lets it through elsewhere", async () => {
    const refusal = "the BuildKit at buildkit+unix:///run/bk.sock cannot push images: …";
    const io = createMemoryIo();
    const code = await checkBuildkitOutputs(
      io,
      engineWith({ kind: "docker-engine" }, refusal),
      { output: undefined, push: true },
      { app: ["127.0.0.1:5000/me/app:1"] },
    );
    expect(code).toBe(2);
    expect(io.stderr.text()).toContain(`error: --push: ${refusal}`);
    expect(io.stderr.text()).toContain("fix: turn on the containerd image store there");
    expect(io.stderr.text()).toContain("nothing was sent");
    const other = createMemoryIo();
    expect(
      await checkBuildkitOutputs(
        other,
        engineWith({ kind: "docker-engine" }),
        { output: undefined, push: true },
        { app: ["127.0.0.1:5000/me/app:1"] },
      ),
    ).toBeUndefined();
    expect(other.stderr.text()).toBe("");
  });

  it("leaves a buildkitd that does not answer to the build, which says why", async () => {
    const io = createMemoryIo();
    const error = new EngineError("ENGINE_UNREACHABLE", "no BuildKit answers");
    expect(
      await checkBuildkitOutputs(
        io,
        engineWith(error),
        { output: undefined, push: false },
        { app: ["a:1"] },
      ),
    ).toBeUndefined();
    expect(io.stderr.text()).toBe("");
  });
});

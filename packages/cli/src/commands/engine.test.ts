import { describe, expect, it } from "vitest";
import { formatBuildkitDescription } from "./engine.js";

describe("formatBuildkitDescription", () => {
  it("says an OCI worker keeps no images, and lists buildkitd's cache backends", () => {
    const text = formatBuildkitDescription({
      endpoint: "buildkit+tcp://127.0.0.1:1234 (TLS)",
      version: "v0.20.1",
      workers: [
        {
          id: "w1",
          labels: {
            "org.mobyproject.buildkit.worker.executor": "oci",
            "org.mobyproject.buildkit.worker.snapshotter": "overlayfs",
          },
          platforms: ["linux/amd64", "linux/arm64"],
        },
        { id: "w2", labels: {}, platforms: [] },
      ],
      store: { kind: "none", executor: "oci" },
      platforms: ["linux/amd64", "linux/arm64"],
      cache: { exporters: ["inline", "registry"], importers: ["registry"] },
      pushRefusal: undefined,
    });
    expect(text.split("\n")).toEqual([
      "engine:            buildkit+tcp://127.0.0.1:1234 (TLS) (standalone buildkitd, BuildKit Control API)",
      "version:           BuildKit v0.20.1",
      "worker:            w1 (oci, snapshotter overlayfs), the default",
      "                   w2 (unknown)",
      "image store:       none (oci worker): a result stays in the build cache unless exported with -o; build refuses -t without -o",
      "cache export:      inline, registry (buildkitd's, not listed by the API)",
      "cache import:      registry",
      "platforms:         linux/amd64, linux/arm64 (the default worker's)",
      "session transport: Control.Session on the same connection",
      "push:              the image exporter with push=true, logins from the docker CLI's config.json",
      "",
    ]);
  });

  it("names a containerd worker's namespace", () => {
    const text = formatBuildkitDescription({
      endpoint: "buildkit+unix:///run/buildkit/buildkitd.sock",
      version: "v0.20.1",
      workers: [],
      store: { kind: "containerd", namespace: "buildkit" },
      platforms: [],
      cache: { exporters: [], importers: [] },
      pushRefusal: undefined,
    });
    expect(text).toContain(
      "image store:       containerd's, namespace buildkit: images land there under their tags",
    );
  });

  it("says why moby's worker on a graph driver cannot push", () => {
    const text = formatBuildkitDescription({
      endpoint: "buildkit+unix:///bk.sock",
      version: "v0.0.0+unknown",
      workers: [],
      store: { kind: "docker-engine" },
      platforms: [],
      cache: undefined,
      pushRefusal: "the BuildKit at buildkit+unix:///bk.sock cannot push images: …",
    });
    expect(text).toContain(
      "push:              no: the BuildKit at buildkit+unix:///bk.sock cannot push images: …",
    );
  });
});

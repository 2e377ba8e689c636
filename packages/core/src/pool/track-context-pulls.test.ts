import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../events.js";
import { trackContextPulls } from "./track-context-pulls.js";

/**
 * A reader's events on a real engine (pool1, Docker 26.1, Control API) as it read a shared stage
 * pushed to the loopback registry: the metadata step, the image step (done at once) and its
 * statuses (manifest, config, a 3 MB layer, the extraction), in BuildKit's timestamps.
 */
const recorded = JSON.parse(
  readFileSync(new URL("./__fixtures__/context-pull.events.json", import.meta.url), "utf8"),
) as BuildEvent[];
const REFERENCE =
  "127.0.0.1:5000/ci/shared@sha256:488f8b2d9ba1f45439ba0793c03ef4b0d1f4d29fdcb7b5bf5c3e3db5d38f9988";

const step = (name: string, digest: string) => ({
  digest,
  name,
  kind: "internal" as const,
  stage: null,
  index: null,
  total: null,
  line: null,
  instruction: name,
});

describe("trackContextPulls", () => {
  it("times a reader's pull from the metadata step to the last blob, and adds the blobs' bytes", () => {
    const pulls = trackContextPulls();
    for (const event of recorded) pulls.observe(event, "p1");
    // [context shared] load metadata: 120 → 161; the image and its blobs: 173 → 258 (extracted).
    expect(pulls.readersOf(REFERENCE)).toEqual([
      { engine: "p1", pullMs: 41 + 85, bytes: 3_001_278 + 738 + 965 },
    ]);
    expect(pulls.readersOf("127.0.0.1:5000/ci/other@sha256:00")).toEqual([]);
  });

  it("keeps engines apart, counts an engine's overlapping builds once, and a cached image as 0 bytes", () => {
    const pulls = trackContextPulls();
    // p1 and p2 replay the same stream (the same vertex digests: content-addressed).
    for (const event of recorded) pulls.observe(event, "p1");
    for (const event of recorded) pulls.observe(event, "p2");
    // A second build on p1 resolves it at the same time (BuildKit shares the vertices): no
    // second pull.
    for (const event of recorded) pulls.observe({ ...event, target: "c" } as BuildEvent, "p1");
    // p3 had the image: BuildKit reports the steps cached, with no blob statuses.
    const metadata = step(`[context shared] load metadata for ${REFERENCE}`, "sha256:m");
    const image = step(`[context shared] ${REFERENCE}`, "sha256:i");
    const quiet: BuildEvent[] = [
      { type: "step-started", time: 1000, target: "t", step: metadata },
      { type: "step-finished", time: 1030, target: "t", step: metadata, durationMs: 30 },
      { type: "step-cached", time: 1040, target: "t", step: image },
    ];
    for (const event of quiet) pulls.observe(event, "p3");
    const readers = pulls.readersOf(REFERENCE);
    expect(readers.map((reader) => reader.engine)).toEqual(["p1", "p2", "p3"]);
    expect(readers[0]).toEqual({ ...readers[1], engine: "p1" });
    expect(readers[0]?.pullMs).toBe(126);
    expect(readers[2]).toEqual({ engine: "p3", pullMs: 30, bytes: 0 });
  });

  it("leaves out steps and transfers that are not a named context's", () => {
    const pulls = trackContextPulls();
    const run = step("[a 1/1] RUN echo 127.0.0.1:5000/ci/x@sha256:00", "sha256:r");
    pulls.observe({ type: "step-started", time: 0, target: "a", step: run }, "p1");
    pulls.observe(
      {
        type: "transfer",
        time: 5,
        target: "a",
        step: "sha256:r",
        id: "sha256:blob",
        name: "done",
        current: 9,
        total: 9,
        completed: true,
      },
      "p1",
    );
    expect(pulls.readersOf("127.0.0.1:5000/ci/x@sha256:00")).toEqual([]);
  });
});

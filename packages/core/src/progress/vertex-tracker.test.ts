import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DaemonVertex } from "../events.js";
import { parseDaemonLine, type DecodedStatus, type DecodedVertexLog } from "./decode-status.js";
import { createVertexTracker, type VertexChange } from "./vertex-tracker.js";

const fixtures = join(import.meta.dirname, "__fixtures__", "buildkit-streams");

function traceMessages(folder: string, name: string): DecodedStatus[] {
  const messages: DecodedStatus[] = [];
  for (const line of readFileSync(join(fixtures, folder, `${name}.ndjson`), "utf8").split("\n")) {
    const parsed = parseDaemonLine(line);
    if (parsed?.kind === "trace") messages.push(parsed.status);
  }
  return messages;
}

function track(feed: (tracker: ReturnType<typeof createVertexTracker>) => void): VertexChange[] {
  const changes: VertexChange[] = [];
  const tracker = createVertexTracker({ onChange: (change) => changes.push(change) });
  feed(tracker);
  return changes;
}

const logLines = (changes: VertexChange[]): string[] =>
  changes.flatMap((change) => (change.type === "log" ? [change.line] : []));

function vertex(digest: string, name: string, fields: Partial<DaemonVertex> = {}): DaemonVertex {
  return {
    digest,
    inputs: [],
    name,
    cached: false,
    started: null,
    completed: null,
    error: null,
    progressGroup: null,
    ...fields,
  };
}

function message(parts: Partial<DecodedStatus>): DecodedStatus {
  return { vertexes: [], statuses: [], logs: [], warnings: [], ...parts };
}

const chunk = (
  vertexDigest: string,
  text: string,
  timestamp: number,
  stream = 1,
): DecodedVertexLog => ({
  vertex: vertexDigest,
  timestamp,
  stream,
  data: new TextEncoder().encode(text),
});

describe("createVertexTracker on recorded streams", () => {
  it("26.1 log-unaligned-chunks: a 70,000-byte line in four chunks, and a line split after `partial-`", () => {
    const changes = track((tracker) => {
      for (const status of traceMessages("docker-26.1", "log-unaligned-chunks")) {
        tracker.update("t", status);
      }
      tracker.endSource("t");
    });
    expect(logLines(changes)).toEqual(["x".repeat(70_000), "partial-line"]);
  });

  it.each(["docker-20.10", "docker-26.1"])(
    "%s log-clipped: lines, and the clip marker",
    (folder) => {
      const changes = track((tracker) => {
        for (const status of traceMessages(folder, "log-clipped")) tracker.update("t", status);
        tracker.endSource("t");
      });
      const lines = logLines(changes);
      const marker = "[output clipped, log limit 200KiB/s reached]";
      expect(lines).toContain(marker);
      expect(lines[0]).toBe(`line 0 ${"x".repeat(77)}`);
      // The clip cuts a line short: every line before it is whole, the cut one is a prefix.
      const beforeMarker = lines.slice(0, lines.indexOf(marker));
      const whole = (line: string, i: number): boolean => line === `line ${i} ${"x".repeat(77)}`;
      expect(beforeMarker.slice(0, -1).every(whole)).toBe(true);
      const cut = beforeMarker.length - 1;
      expect(`line ${cut} ${"x".repeat(77)}`.startsWith(beforeMarker[cut]!)).toBe(true);
      expect(whole(beforeMarker[cut]!, cut)).toBe(false);
      // stderr has its own limit: its one line came through.
      const stderr = changes.flatMap((c) => (c.type === "log" && c.stream === 2 ? [c.line] : []));
      expect(stderr).toEqual(["tail-marker"]);
      // Every byte delivered is in a line (plus its line break).
      const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
      expect(bytes).toBe(204_858);
      const run = changes.find((c) => c.type === "completed" && c.vertex.name.includes("while"));
      expect(run?.type === "completed" ? run.vertex.logClipped : null).toBe("200KiB/s");
    },
  );

  it("20.10 multistage-parallel: restarts are absorbed; one start and one end per vertex", () => {
    const changes = track((tracker) => {
      for (const status of traceMessages("docker-20.10", "multistage-parallel")) {
        tracker.update("t", status);
      }
    });
    const context = changes.filter(
      (c) =>
        (c.type === "started" || c.type === "completed") &&
        c.vertex.name === "[internal] load remote build context",
    );
    expect(context.map((c) => c.type)).toEqual(["started", "completed"]);
    const graph = changes.findIndex((c) => c.type === "graph");
    const firstRun = changes.findIndex(
      (c) => c.type === "started" && c.vertex.name.includes("RUN"),
    );
    expect(graph).toBeGreaterThan(-1);
    expect(graph).toBeLessThan(firstRun);
  });

  it("26.1 warning-empty-continuation: two warnings, on the context copy vertex", () => {
    const changes = track((tracker) => {
      for (const status of traceMessages("docker-26.1", "warning-empty-continuation")) {
        tracker.update("t", status);
      }
    });
    const warnings = changes.flatMap((c) => (c.type === "warning" ? [c] : []));
    expect(warnings.map((w) => [w.warning.short, w.warning.ranges[0]?.start.line])).toEqual([
      ["Empty continuation line found in: RUN echo one     && echo two", 4],
      ["Empty continuation line found in: RUN echo three     && echo four", 8],
    ]);
    expect(warnings[0]?.vertex?.name).toBe("copy /context /");
  });
});

describe("createVertexTracker log lines", () => {
  it("buffers partial lines per vertex and per stream, and flushes them at completion", () => {
    const changes = track((tracker) => {
      tracker.update("t", message({ vertexes: [vertex("v", "[1/1] RUN x", { started: 1 })] }));
      tracker.update(
        "t",
        message({
          logs: [chunk("v", "out-a", 2, 1), chunk("v", "err-a", 3, 2), chunk("v", "\nout-b", 4, 1)],
        }),
      );
      tracker.update("t", message({ logs: [chunk("v", "\n", 5, 2)] }));
      tracker.update(
        "t",
        message({ vertexes: [vertex("v", "[1/1] RUN x", { started: 1, completed: 6 })] }),
      );
    });
    expect(
      changes.flatMap((c) =>
        c.type === "log" ? [`${c.stream}:${c.line}`] : c.type === "completed" ? ["done"] : [],
      ),
    ).toEqual(["1:out-a", "2:err-a", "1:out-b", "done"]);
  });

  it("joins a UTF-8 character split across chunks, and strips \\r of \\r\\n", () => {
    const euro = new TextEncoder().encode("€\r\n");
    const changes = track((tracker) => {
      tracker.update("t", message({ vertexes: [vertex("v", "[1/1] RUN x", { started: 1 })] }));
      tracker.update(
        "t",
        message({ logs: [{ vertex: "v", timestamp: 2, stream: 1, data: euro.subarray(0, 1) }] }),
      );
      tracker.update(
        "t",
        message({ logs: [{ vertex: "v", timestamp: 3, stream: 1, data: euro.subarray(1) }] }),
      );
    });
    expect(logLines(changes)).toEqual(["€"]);
  });

  it("notes the 2 MiB clip marker as well", () => {
    const changes = track((tracker) => {
      tracker.update("t", message({ vertexes: [vertex("v", "[1/1] RUN x", { started: 1 })] }));
      tracker.update(
        "t",
        message({ logs: [chunk("v", "lots\n[output clipped, log limit 2MiB reached]\n", 2)] }),
      );
      tracker.update(
        "t",
        message({ vertexes: [vertex("v", "[1/1] RUN x", { started: 1, completed: 3 })] }),
      );
    });
    const done = changes.find((c) => c.type === "completed");
    expect(done?.vertex.logClipped).toBe("2MiB");
    expect(logLines(changes)).toEqual(["lots", "[output clipped, log limit 2MiB reached]"]);
  });

  it("reports a warning once when several streams carry it", () => {
    const changes = track((tracker) => {
      for (const status of traceMessages("docker-26.1", "warning-empty-continuation")) {
        tracker.update("a", status);
        tracker.update("b", status);
      }
    });
    const warnings = changes.flatMap((c) => (c.type === "warning" ? [c.source] : []));
    expect(warnings).toEqual(["a", "a"]);
  });

  it("flushes a source's unfinished lines when it ends", () => {
    const changes = track((tracker) => {
      tracker.update(
        "t",
        message({
          vertexes: [vertex("v", "[1/1] RUN x", { started: 1 })],
          logs: [chunk("v", "no newline", 2)],
        }),
      );
      tracker.endSource("t");
    });
    expect(logLines(changes)).toEqual(["no newline"]);
  });

  it("reads a shared vertex's logs from one stream, and from another once that one ended", () => {
    const shared = vertex("s", "[base 2/2] RUN x", { started: 1 });
    const changes = track((tracker) => {
      tracker.update("a", message({ vertexes: [shared], logs: [chunk("s", "one\n", 2)] }));
      // b joins: BuildKit replays the past output into its stream.
      tracker.update("b", message({ vertexes: [shared], logs: [chunk("s", "one\n", 2)] }));
      tracker.update("a", message({ logs: [chunk("s", "two\n", 3)] }));
      tracker.update("b", message({ logs: [chunk("s", "two\n", 3)] }));
      tracker.endSource("a");
      tracker.update("b", message({ logs: [chunk("s", "three\n", 4)] }));
    });
    expect(logLines(changes)).toEqual(["one", "two", "three"]);
    expect(changes.filter((c) => c.type === "started")).toHaveLength(1);
    expect(changes.filter((c) => c.type === "announced").map((c) => c.source)).toEqual(["a", "b"]);
  });

  it("settles a step one stream cancelled by how the streams that carry it end", () => {
    const shared = vertex("s", "[base 2/2] RUN x", { started: 1 });
    const cancelled = { ...shared, completed: 2, error: "context canceled" };
    const ends = (changes: VertexChange[]): string[] =>
      changes.flatMap((c) =>
        c.type === "completed"
          ? [`completed ${c.cached ? "cached" : "ran"} ${c.time}`]
          : c.type === "failed"
            ? [`failed ${c.error} ${c.time}`]
            : [],
      );
    // b's build stopped needing it; a ran it to the end.
    const ranInA = track((tracker) => {
      tracker.update("a", message({ vertexes: [shared] }));
      tracker.update("b", message({ vertexes: [cancelled] }));
      tracker.update("a", message({ vertexes: [{ ...shared, completed: 5 }] }));
      tracker.endSource("b", true);
      tracker.endSource("a", true);
    });
    expect(ends(ranInA)).toEqual(["completed ran 5"]);
    // Both builds made their images without it: not needed, as a skipped step is.
    const notNeeded: VertexChange[] = [];
    const tracker = createVertexTracker({ onChange: (change) => notNeeded.push(change) });
    tracker.update("a", message({ vertexes: [shared] }));
    tracker.update("b", message({ vertexes: [shared] }));
    tracker.update("a", message({ vertexes: [cancelled] }));
    tracker.endSource("a", true);
    // b may still complete it.
    expect(ends(notNeeded)).toEqual([]);
    tracker.endSource("b", true);
    expect(ends(notNeeded)).toEqual(["completed cached 2"]);
    // A build that failed (here: was cancelled) needed it: cancelled, at the cancel's time.
    const failedBuild = track((tracker) => {
      tracker.update("a", message({ vertexes: [cancelled] }));
      tracker.endSource("a", false);
    });
    expect(ends(failedBuild)).toEqual(["failed context canceled 2"]);
  });

  it("keeps exporter vertices apart per source even with the same digest (26.1 sessionless builds)", () => {
    const exporter = vertex("sha256:f1c9", "exporting to image", { started: 1 });
    const changes = track((tracker) => {
      tracker.update("a", message({ vertexes: [exporter] }));
      tracker.update("b", message({ vertexes: [exporter] }));
      tracker.update("b", message({ vertexes: [{ ...exporter, completed: 2 }] }));
    });
    const started = changes.flatMap((c) => (c.type === "started" ? [c.vertex.key] : []));
    expect(started).toEqual(["a\u0000sha256:f1c9", "b\u0000sha256:f1c9"]);
    expect(changes.filter((c) => c.type === "completed").map((c) => c.vertex.key)).toEqual([
      "b\u0000sha256:f1c9",
    ]);
  });

  it("reports an error that arrives after completion, and statuses only when they change", () => {
    const changes = track((tracker) => {
      tracker.update(
        "t",
        message({
          vertexes: [vertex("v", "importing cache manifest from x", { started: 1, completed: 2 })],
        }),
      );
      tracker.update(
        "t",
        message({
          vertexes: [
            vertex("v", "importing cache manifest from x", {
              started: 1,
              completed: 2,
              error: "not found",
            }),
          ],
        }),
      );
      const status = {
        id: "transferring context:",
        vertex: "v",
        name: "transferring",
        current: 10,
        total: 0,
        timestamp: 3,
        started: 3,
        completed: null,
      };
      tracker.update("t", message({ statuses: [status, status, { ...status, current: 20 }] }));
    });
    expect(changes.map((c) => c.type)).toEqual([
      "announced",
      "started",
      "completed",
      "failed",
      "status",
      "status",
    ]);
  });
});

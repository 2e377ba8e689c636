// Micro-benchmark of the progress pipeline: raw /build response bytes → lines → decoded
// StatusResponses → vertex states → BuildEvents → a renderer (plain, tty, json) writing to a sink.
// Run after `pnpm build`: `node bench/progress.mjs`.
// Goal: under 1 s of CPU for decoding and rendering a stream carrying 100,000 log lines.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRenderer } from "../packages/cli/dist/renderers/create-renderer.js";
import { createProgressTracker } from "../packages/core/dist/progress/create-progress-tracker.js";
import { createBuildStreamReader } from "../packages/core/dist/progress/read-build-stream.js";
import { BUILD_REPORT_SCHEMA_VERSION } from "../packages/core/dist/report/build-report.js";
import {
  createLineSplitter,
  parseDaemonLine,
} from "../packages/core/dist/progress/decode-status.js";

const LOG_LINES = 100_000;
const RUNS = 5;
const here = dirname(fileURLToPath(import.meta.url));

// The encoder: protobufjs (a dependency of core's session code) with the StatusResponse schema the
// decoder's tests use; stagecraft itself decodes with its own wire reader.
const protobuf = createRequire(join(here, "../packages/core/package.json"))("protobufjs");
const statusResponseType = protobuf.Root.fromJSON(
  JSON.parse(
    readFileSync(
      join(here, "../packages/core/src/progress/__fixtures__/status-response.proto.json"),
      "utf8",
    ),
  ),
).lookupType("moby.buildkit.v1.StatusResponse");

// A deterministic pseudo-random sequence, so every run measures the same stream.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

const encoder = new TextEncoder();
const ts = (ms) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const traceLine = (message) =>
  JSON.stringify({
    id: "moby.buildkit.trace",
    aux: Buffer.from(statusResponseType.encode(message).finish()).toString("base64"),
  });

/**
 * A build of three stages whose four RUN steps print LOG_LINES lines in total (compiler-like lines
 * of 40–160 bytes, one in ten on stderr). Two steps write line by line (one log chunk per line,
 * like a shell loop of `echo`; 1–300 chunks per trace message, as the 26.1 captures batch them),
 * two write blocks of 1–32 KiB that ignore line boundaries (1–40 per message). The body is sent as
 * HTTP chunks of 16 KiB that ignore NDJSON line boundaries.
 */
function makeStream() {
  const t0 = 1_795_316_000_000;
  const vertex = (digest, name, inputs = [], extra = {}) => ({ digest, name, inputs, ...extra });
  const steps = [
    vertex("sha256:from", "[base 1/3] FROM docker.io/library/busybox:local"),
    vertex("sha256:deps", "[base 2/3] RUN npm ci", ["sha256:from"]),
    vertex("sha256:copy", "[base 3/3] COPY . .", ["sha256:deps", "sha256:ctx"]),
    vertex("sha256:test", "[test 1/1] RUN npm test", ["sha256:copy"]),
    vertex("sha256:build", "[build 1/2] RUN npm run build", ["sha256:copy"]),
    vertex("sha256:lint", "[build 2/2] RUN npm run lint", ["sha256:build"]),
    vertex("sha256:final", "[final 1/1] COPY --from=build /app/dist /srv", [
      "sha256:lint",
      "sha256:from",
    ]),
  ];
  const lines = [
    traceLine({
      vertexes: [
        vertex("sha256:load", "[internal] load remote build context", [], { started: ts(t0) }),
      ],
    }),
    traceLine({
      vertexes: [
        vertex("sha256:ctx", "copy /context /", ["sha256:load"], {
          started: ts(t0 + 1),
          completed: ts(t0 + 2),
        }),
      ],
    }),
    traceLine({ vertexes: steps }),
  ];
  let now = t0 + 10;
  const noisy = ["sha256:deps", "sha256:test", "sha256:build", "sha256:lint"];
  const linesPerStep = LOG_LINES / noisy.length;
  let bytes = 0;
  for (const step of steps) {
    lines.push(traceLine({ vertexes: [{ ...step, started: ts(now) }] }));
    if (noisy.includes(step.digest)) {
      const pending = { 1: "", 2: "" };
      let logs = [];
      const flush = () => {
        if (logs.length > 0) lines.push(traceLine({ logs }));
        logs = [];
      };
      const lineByLine = step.digest === "sha256:deps" || step.digest === "sha256:test";
      const batch = lineByLine ? 300 : 40;
      const write = (stream, force) => {
        while (
          pending[stream].length > 0 &&
          (force || lineByLine || pending[stream].length > 32_768)
        ) {
          const size =
            force || lineByLine ? pending[stream].length : 1024 + Math.floor(random() * 31_744);
          const data = encoder.encode(pending[stream].slice(0, size));
          pending[stream] = pending[stream].slice(size);
          logs.push({ vertex: step.digest, stream, msg: data, timestamp: ts(now++) });
          bytes += data.length;
          if (logs.length >= 1 + Math.floor(random() * batch)) flush();
        }
      };
      for (let i = 0; i < linesPerStep; i++) {
        const stream = random() < 0.1 ? 2 : 1;
        const width = 40 + Math.floor(random() * 120);
        pending[stream] +=
          `${step.name.slice(0, 12)} ${i} ${"lorem ipsum dolor sit amet ".repeat(6).slice(0, width)}\n`;
        write(stream, false);
      }
      write(1, true);
      write(2, true);
      flush();
    }
    lines.push(traceLine({ vertexes: [{ ...step, started: ts(now - 1), completed: ts(now) }] }));
    now += 5;
  }
  lines.push(
    traceLine({
      vertexes: [
        vertex("sha256:export", "exporting to image", [], {
          started: ts(now),
          completed: ts(now + 30),
        }),
      ],
    }),
  );
  lines.push(JSON.stringify({ id: "moby.image.id", aux: { ID: "sha256:" + "0".repeat(64) } }));
  const body = encoder.encode(lines.map((line) => `${line}\r\n`).join(""));
  const chunks = [];
  for (let offset = 0; offset < body.length; offset += 16_384) {
    chunks.push(body.subarray(offset, offset + 16_384));
  }
  return { chunks, ndjsonLines: lines.length, bodyBytes: body.length, logBytes: bytes };
}

function measure(work) {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const result = work();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall, result };
}

function decodeOnly(chunks) {
  const splitter = createLineSplitter();
  let traces = 0;
  for (const chunk of chunks) {
    for (const line of splitter.push(chunk)) if (parseDaemonLine(line)?.kind === "trace") traces++;
  }
  for (const line of splitter.end()) if (parseDaemonLine(line)?.kind === "trace") traces++;
  return { traces };
}

/** What the engine does with a `/build` body: one reader splits and parses, the tracker follows. */
function feed(tracker, chunks) {
  const reader = createBuildStreamReader((status) => tracker.push("final", status));
  for (const chunk of chunks) reader.push(chunk);
  tracker.end("final", reader.end());
}

function decodeAndTrack(chunks) {
  let logs = 0;
  let events = 0;
  const tracker = createProgressTracker({
    targets: ["final"],
    onEvent: (event) => {
      events++;
      if (event.type === "log") logs++;
    },
  });
  feed(tracker, chunks);
  return { logs, events, steps: tracker.summary().targets[0].steps.length };
}

/** The whole pipeline into a renderer whose output goes nowhere (a terminal that is never slow). */
function decodeTrackAndRender(mode) {
  return (chunks) => {
    let written = 0;
    const sink = {
      write: (text) => void (written += text.length),
      isTTY: mode === "tty",
      columns: 120,
    };
    const io = {
      stdout: sink,
      stderr: sink,
      env: {},
      cwd: "/",
      signal: new AbortController().signal,
    };
    const renderer = createRenderer({ mode, io, targets: ["final"], color: mode === "tty" });
    const tracker = createProgressTracker({
      targets: ["final"],
      onEvent: (event) => renderer.onEvent(event),
    });
    feed(tracker, chunks);
    // The tty renderer redraws on a timer; the last frame is drawn when it finishes.
    renderer.finish({
      schemaVersion: BUILD_REPORT_SCHEMA_VERSION,
      status: "succeeded",
      startedAt: 0,
      wallMs: 0,
      targets: [],
      stages: [],
      steps: [],
      totals: { stepsRun: 0, stepsCached: 0, cachedPercent: null },
      criticalPath: null,
      slowestSteps: [],
      failures: [],
      warnings: [],
      context: null,
      published: null,
      cache: null,
    });
    return { written };
  };
}

const stream = makeStream();
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const scenarios = [
  ["split + decode", decodeOnly],
  ["split + decode + track + events", decodeAndTrack],
  ["… + plain renderer", decodeTrackAndRender("plain")],
  ["… + tty renderer", decodeTrackAndRender("tty")],
  ["… + json renderer", decodeTrackAndRender("json")],
];
const results = [];
for (const [name, work] of scenarios) {
  work(stream.chunks); // warm-up
  const runs = Array.from({ length: RUNS }, () => measure(() => work(stream.chunks)));
  const last = runs.at(-1).result;
  if (work === decodeAndTrack && last.logs !== LOG_LINES) {
    throw new Error(`expected ${LOG_LINES} log events, got ${last.logs}`);
  }
  results.push({
    scenario: name,
    cpuMsMedian: Number(median(runs.map((r) => r.cpuMs)).toFixed(1)),
    cpuMsMin: Number(Math.min(...runs.map((r) => r.cpuMs)).toFixed(1)),
    wallMsMedian: Number(median(runs.map((r) => r.wallMs)).toFixed(1)),
    ...last,
  });
}

console.log(
  `stream: ${LOG_LINES.toLocaleString("en")} log lines, ${stream.logBytes.toLocaleString("en")} log bytes, ` +
    `${stream.ndjsonLines.toLocaleString("en")} NDJSON lines, ${stream.bodyBytes.toLocaleString("en")} body bytes, ` +
    `${stream.chunks.length} HTTP chunks; ${RUNS} runs after a warm-up`,
);
console.table(
  results.map((r) => ({
    scenario: r.scenario,
    "CPU ms (median)": r.cpuMsMedian,
    "CPU ms (min)": r.cpuMsMin,
    "wall ms (median)": r.wallMsMedian,
    "log lines/s (CPU)": Math.round((LOG_LINES / r.cpuMsMedian) * 1000).toLocaleString("en"),
  })),
);
const slowest = Math.max(...results.map((r) => r.cpuMsMedian));
console.log(slowest < 1000 ? "goal met: < 1 s CPU in every mode" : "goal missed: ≥ 1 s CPU");

mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "progress.json"),
  `${JSON.stringify(
    {
      benchmark: "progress",
      node: process.version,
      date: new Date().toISOString(),
      stream: { logLines: LOG_LINES, ...stream, chunks: stream.chunks.length },
      goalCpuMs: 1000,
      results,
    },
    null,
    2,
  )}\n`,
);

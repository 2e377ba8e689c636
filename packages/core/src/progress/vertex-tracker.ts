import type { DaemonVertexStatus, DaemonVertexWarning } from "../events.js";
import {
  matchDockerfile,
  parseVertexName,
  type DockerfileMap,
  type VertexName,
} from "./attribute-stage.js";
import type { DecodedStatus } from "./decode-status.js";

/** Where a tracked vertex is in its life. */
export type VertexState = "announced" | "running" | "cached" | "completed" | "failed";

/** A vertex as merged from every stream that carried it. */
export interface TrackedVertex {
  /** The digest, or `<source>\0<digest>` for exporter vertices (one per build, see `createVertexTracker`). */
  readonly key: string;
  readonly digest: string;
  name: string;
  parsed: VertexName;
  inputs: readonly string[];
  state: VertexState;
  /** Epoch ms of the first start, and of the first completion or failure. */
  started: number | null;
  completed: number | null;
  /** The `cached` flag of the completing snapshot (unreliable on `FROM`). */
  cached: boolean;
  error: string | null;
  progressGroup: { id: string; name: string; weak: boolean } | null;
  /** The streams (sources) that announced this vertex, in the order they did. */
  readonly sources: string[];
  /** Complete log lines seen so far. */
  logLines: number;
  /** The last log lines (at most `logTailSize`), oldest first. */
  readonly logTail: string[];
  /** The limit of BuildKit's clip marker (`200KiB/s`, `2MiB`) when the step's output was cut. */
  logClipped: string | null;
}

/** What changed, in the order a consumer should report it. */
export type VertexChange =
  /** A source announced a vertex (once per vertex and source). */
  | { type: "announced"; vertex: TrackedVertex; source: string }
  /** The first message of a source that lists Dockerfile instruction vertices (its solve graph) was processed. */
  | { type: "graph"; source: string }
  | { type: "started"; vertex: TrackedVertex; time: number }
  | { type: "completed"; vertex: TrackedVertex; time: number; cached: boolean }
  | { type: "failed"; vertex: TrackedVertex; time: number; error: string }
  /** One complete line of a step's stdout (1) or stderr (2), without its line break. */
  | { type: "log"; vertex: TrackedVertex; stream: 1 | 2; line: string; time: number }
  /** A vertex status that differs from the last one seen with the same id. */
  | { type: "status"; vertex: TrackedVertex; status: DaemonVertexStatus }
  /** A warning not seen before (same text, source and range from another stream count as seen). */
  | { type: "warning"; warning: DaemonVertexWarning; vertex: TrackedVertex | null; source: string };

/** Options of `createVertexTracker`. */
export interface VertexTrackerOptions {
  onChange: (change: VertexChange) => void;
  /** Stage id of unlabelled `[i/n]` names (a single-stage Dockerfile); default `stage-0`. */
  singleStageId?: string | undefined;
  /** The Dockerfile being built: a `[stage i/n]` label it does not have is not trusted (see `matchDockerfile`). */
  dockerfileMap?: DockerfileMap | undefined;
  /** How many last log lines each vertex keeps; default 20. */
  logTailSize?: number | undefined;
}

/** Merges BuildKit status messages from one or more streams into vertex states; see `createVertexTracker`. */
export interface VertexTracker {
  /** Applies one decoded message from `source` (a build stream, e.g. a target name). */
  update(source: string, status: DecodedStatus): void;
  /**
   * The source's stream ended (its build made an image: `succeeded`): its unfinished log lines are
   * flushed, and the vertices it cancelled are settled once every stream that carries them ended.
   */
  endSource(source: string, succeeded?: boolean): void;
  /** The vertex a source's digest refers to. */
  get(source: string, digest: string): TrackedVertex | undefined;
  /** Every vertex, in announcement order. */
  vertices(): IterableIterator<TrackedVertex>;
  /** The digests of the vertices that list `digest` as an input. */
  consumersOf(digest: string): Iterable<string>;
  /** The latest daemon time seen in any message (epoch ms), or null before the first one. */
  latestTime(): number | null;
}

interface LogBuffer {
  decoder: InstanceType<typeof TextDecoder>;
  pending: string;
  /** The stream the chunks are taken from; copies from other streams are dropped. */
  source: string | null;
  lastTime: number;
}

const clipMarker = /^\[output clipped, log limit (.+) reached\]$/;

/**
 * Makes a vertex state machine for the streams of one run.
 *
 * Vertex updates are full snapshots, merged by digest: a start is reported once, and the first
 * completion or error ends the vertex (later snapshots that restart it, such as a second `FROM`
 * completion or a stream lagging behind another, are absorbed; only a later error is still reported).
 * A vertex carried by several streams (a step BuildKit shares between concurrent builds) is one
 * vertex; exporter vertices (`exporting …`) are kept per source, since every sessionless build on
 * Docker 26 exports under the same digest. Logs are split into lines per vertex and per stdio stream,
 * buffering partial lines (and partial UTF-8 characters) until the next line break, the vertex's
 * completion or the end of its source. A shared vertex's log chunks are read from one source only
 * (the first that sent one; another takes over, from newer chunks on, when that source ends), since
 * every stream replays them.
 */
export function createVertexTracker(options: VertexTrackerOptions): VertexTracker {
  const { onChange } = options;
  const singleStageId = options.singleStageId ?? "stage-0";
  const logTailSize = options.logTailSize ?? 20;
  const vertices = new Map<string, TrackedVertex>();
  const exporterKeys = new Map<string, Map<string, string>>();
  const consumers = new Map<string, Set<string>>();
  const logBuffers = new Map<string, LogBuffer>();
  const statuses = new Map<string, string>();
  const warnings = new Set<string>();
  const sourcesWithGraph = new Set<string>();
  const endedSources = new Set<string>();
  const succeededSources = new Set<string>();
  /** Vertices a stream cancelled that no stream completed yet, with the first cancel's time. */
  const cancels = new Map<TrackedVertex, { time: number; error: string }>();
  let latest: number | null = null;

  const seeTime = (time: number | null): void => {
    if (time !== null && (latest === null || time > latest)) latest = time;
  };

  const keyOf = (source: string, digest: string): string =>
    exporterKeys.get(source)?.get(digest) ?? digest;

  const ensure = (source: string, digest: string, name: string): TrackedVertex => {
    let key = keyOf(source, digest);
    let vertex = vertices.get(key);
    if (vertex === undefined || (vertex.name === "" && name !== "")) {
      const parsed = matchDockerfile(parseVertexName(name, singleStageId), options.dockerfileMap);
      if (parsed.kind === "export") {
        key = `${source}\u0000${digest}`;
        let keys = exporterKeys.get(source);
        if (keys === undefined) {
          keys = new Map<string, string>();
          exporterKeys.set(source, keys);
        }
        keys.set(digest, key);
        vertex = vertices.get(key);
      }
      if (vertex === undefined) {
        vertex = {
          key,
          digest,
          name,
          parsed,
          inputs: [],
          state: "announced",
          started: null,
          completed: null,
          cached: false,
          error: null,
          progressGroup: null,
          sources: [],
          logLines: 0,
          logTail: [],
          logClipped: null,
        };
        vertices.set(key, vertex);
      } else if (vertex.name === "") {
        vertex.name = name;
        vertex.parsed = parsed;
      }
    }
    return vertex;
  };

  const emitLine = (vertex: TrackedVertex, stream: 1 | 2, raw: string, time: number): void => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    vertex.logLines += 1;
    vertex.logTail.push(line);
    if (vertex.logTail.length > logTailSize) vertex.logTail.shift();
    const clipped = clipMarker.exec(line);
    if (clipped !== null) vertex.logClipped = clipped[1] ?? null;
    onChange({ type: "log", vertex, stream, line, time });
  };

  const flushBuffer = (vertex: TrackedVertex, stream: 1 | 2, buffer: LogBuffer): void => {
    const rest = buffer.pending + buffer.decoder.decode();
    buffer.pending = "";
    if (rest !== "") emitLine(vertex, stream, rest, buffer.lastTime);
  };

  const flushVertex = (vertex: TrackedVertex): void => {
    for (const stream of [1, 2] as const) {
      const buffer = logBuffers.get(`${vertex.key}\u0000${stream}`);
      if (buffer !== undefined) flushBuffer(vertex, stream, buffer);
    }
  };

  const finish = (
    vertex: TrackedVertex,
    completed: number | null,
    error: string | null,
    cached: boolean,
  ): void => {
    const time = completed ?? vertex.started ?? latest ?? 0;
    if (vertex.started === null) {
      vertex.started = time;
      if (!cached || error !== null) {
        vertex.state = "running";
        onChange({ type: "started", vertex, time });
      }
    }
    flushVertex(vertex);
    vertex.completed ??= time;
    if (error !== null) {
      vertex.state = "failed";
      vertex.error = error;
      onChange({ type: "failed", vertex, time, error });
    } else {
      vertex.state = cached ? "cached" : "completed";
      vertex.cached = cached;
      onChange({ type: "completed", vertex, time, cached });
    }
  };

  const acceptChunk = (buffer: LogBuffer, source: string, time: number): boolean => {
    if (buffer.source === null || buffer.source === source) {
      buffer.source = source;
      return true;
    }
    // Every stream of a shared step replays its logs: read one stream, and switch only when it ended.
    if (endedSources.has(buffer.source) && time > buffer.lastTime) {
      buffer.source = source;
      return true;
    }
    return false;
  };

  /** Announce every vertex first: a message's vertices are the graph the rest refers to. */
  const announce = (source: string, status: DecodedStatus): Touched => {
    const touched: Touched = [];
    let hasInstruction = false;
    for (const snapshot of status.vertexes) {
      const vertex = ensure(source, snapshot.digest, snapshot.name);
      if (snapshot.inputs.length > 0 && vertex.inputs.length === 0) {
        vertex.inputs = snapshot.inputs;
        for (const input of snapshot.inputs) {
          let set = consumers.get(input);
          if (set === undefined) consumers.set(input, (set = new Set()));
          set.add(snapshot.digest);
        }
      }
      if (snapshot.progressGroup !== null) vertex.progressGroup = snapshot.progressGroup;
      if (vertex.parsed.kind === "instruction") hasInstruction = true;
      if (!vertex.sources.includes(source)) {
        vertex.sources.push(source);
        onChange({ type: "announced", vertex, source });
      }
      seeTime(snapshot.started);
      seeTime(snapshot.completed);
      touched.push([vertex, snapshot]);
    }
    if (hasInstruction && !sourcesWithGraph.has(source)) {
      sourcesWithGraph.add(source);
      onChange({ type: "graph", source });
    }
    return touched;
  };

  /** Starts, before the logs and statuses of this message. */
  const start = (touched: Touched): void => {
    for (const [vertex, snapshot] of touched) {
      if (vertex.started === null && snapshot.started !== null && vertex.state === "announced") {
        vertex.started = snapshot.started;
        // A step that starts and comes from the cache in one snapshot never ran: no "started".
        if (isCachedAtOnce(snapshot)) continue;
        vertex.state = "running";
        onChange({ type: "started", vertex, time: snapshot.started });
      }
    }
  };

  /** Logs, split into lines per vertex and stdio stream. */
  const acceptLogs = (source: string, status: DecodedStatus): void => {
    for (const log of status.logs) {
      seeTime(log.timestamp);
      const vertex = vertices.get(keyOf(source, log.vertex)) ?? ensure(source, log.vertex, "");
      const stream: 1 | 2 = log.stream === 2 ? 2 : 1;
      const bufferKey = `${vertex.key}\u0000${stream}`;
      let buffer = logBuffers.get(bufferKey);
      if (buffer === undefined) {
        buffer = { decoder: new TextDecoder(), pending: "", source: null, lastTime: -Infinity };
        logBuffers.set(bufferKey, buffer);
      }
      const time = log.timestamp ?? latest ?? 0;
      if (!acceptChunk(buffer, source, time)) continue;
      buffer.lastTime = time;
      const text = buffer.decoder.decode(log.data, { stream: true });
      let start = 0;
      let end = text.indexOf("\n");
      while (end !== -1) {
        const piece = text.slice(start, end);
        emitLine(vertex, stream, buffer.pending === "" ? piece : buffer.pending + piece, time);
        buffer.pending = "";
        start = end + 1;
        end = text.indexOf("\n", start);
      }
      if (start < text.length) buffer.pending += text.slice(start);
    }
  };

  /** Statuses (byte progress, exporter phases), reported when they change. */
  const acceptStatuses = (source: string, status: DecodedStatus): void => {
    for (const item of status.statuses) {
      seeTime(item.timestamp);
      const vertex = vertices.get(keyOf(source, item.vertex)) ?? ensure(source, item.vertex, "");
      const statusKey = `${vertex.key}\u0000${item.id}`;
      const value = `${item.current}/${item.total}/${item.completed ?? ""}`;
      if (statuses.get(statusKey) === value) continue;
      statuses.set(statusKey, value);
      onChange({ type: "status", vertex, status: item });
    }
  };

  /** Completions and errors, after the logs they end. */
  const complete = (touched: Touched): void => {
    for (const [vertex, snapshot] of touched) {
      const terminal =
        vertex.state === "cached" || vertex.state === "completed" || vertex.state === "failed";
      if (snapshot.error !== null && isCancellation(snapshot.error)) {
        // BuildKit cancels a step in a build that stops needing it (a later step came from the
        // cache, or the build itself was cancelled); a build sharing the step may still complete
        // it. Which it was is known when the streams that carry it have ended (`endSource`).
        if (!terminal && !cancels.has(vertex)) {
          cancels.set(vertex, { time: snapshot.completed ?? latest ?? 0, error: snapshot.error });
        }
        continue;
      }
      if (terminal) {
        if (snapshot.error !== null && vertex.state !== "failed") {
          vertex.state = "failed";
          vertex.error = snapshot.error;
          onChange({
            type: "failed",
            vertex,
            time: snapshot.completed ?? latest ?? 0,
            error: snapshot.error,
          });
        }
      } else if (snapshot.error !== null || snapshot.completed !== null) {
        finish(vertex, snapshot.completed, snapshot.error, snapshot.cached);
      }
    }
  };

  /** Warnings, once per distinct warning. */
  const acceptWarnings = (source: string, status: DecodedStatus): void => {
    for (const warning of status.warnings) {
      const key = JSON.stringify([
        warning.short,
        warning.detail,
        warning.url,
        warning.info?.filename,
        warning.ranges,
      ]);
      if (warnings.has(key)) continue;
      warnings.add(key);
      const vertex =
        warning.vertex === "" ? null : (vertices.get(keyOf(source, warning.vertex)) ?? null);
      onChange({ type: "warning", warning, vertex, source });
    }
  };

  return {
    update(source, status) {
      // In this order: the graph, then starts, logs, statuses, completions, warnings.
      const touched = announce(source, status);
      start(touched);
      acceptLogs(source, status);
      acceptStatuses(source, status);
      complete(touched);
      acceptWarnings(source, status);
    },
    endSource(source, succeeded = false) {
      endedSources.add(source);
      if (succeeded) succeededSources.add(source);
      for (const [key, buffer] of logBuffers) {
        if (buffer.source !== source) continue;
        const separator = key.lastIndexOf("\u0000");
        const vertex = vertices.get(key.slice(0, separator));
        if (vertex !== undefined) flushBuffer(vertex, key.endsWith("2") ? 2 : 1, buffer);
      }
      for (const [vertex, cancel] of cancels) {
        if (vertex.state !== "announced" && vertex.state !== "running") {
          cancels.delete(vertex);
          continue;
        }
        if (!vertex.sources.every((other) => endedSources.has(other))) continue;
        cancels.delete(vertex);
        // Every build that carried it made its image without it: it was not needed, as a step
        // BuildKit skips is not; else it was cancelled with the build that needed it.
        if (vertex.sources.every((other) => succeededSources.has(other))) {
          finish(vertex, cancel.time, null, true);
        } else {
          finish(vertex, cancel.time, cancel.error, false);
        }
      }
    },
    get: (source, digest) => vertices.get(keyOf(source, digest)),
    vertices: () => vertices.values(),
    consumersOf: (digest) => consumers.get(digest) ?? [],
    latestTime: () => latest,
  };
}

/** The vertices a status message named, with their snapshots in it. */
type Touched = [TrackedVertex, DecodedStatus["vertexes"][number]][];

/** BuildKit's error for a step whose build stopped waiting for it (`context.Canceled`). */
function isCancellation(error: string): boolean {
  return error.endsWith("context canceled");
}

/** Whether a vertex snapshot says the step was taken from the cache without running. */
function isCachedAtOnce(snapshot: DecodedStatus["vertexes"][number]): boolean {
  return snapshot.cached && snapshot.completed !== null && snapshot.error === null;
}

import protobuf from "protobufjs";
import type {
  DaemonStatus,
  DaemonVertex,
  DaemonVertexLog,
  DaemonVertexStatus,
  DaemonVertexWarning,
  SourceRange,
} from "../events.js";

// `moby.buildkit.v1.StatusResponse` (buildkit api/services/control/control.proto), the superset of
// what Docker 20.10 (BuildKit 0.8: fields 1-3) and 26.1 (BuildKit 0.13: + warnings, progressGroup)
// send. Timestamps are `google.protobuf.Timestamp` on the wire; SourceInfo.definition is an LLB
// `pb.Definition` upstream, kept as bytes here.
const schema: protobuf.INamespace = {
  nested: {
    moby: {
      nested: {
        buildkit: {
          nested: {
            v1: {
              nested: {
                Timestamp: {
                  fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } },
                },
                StatusResponse: {
                  fields: {
                    vertexes: { rule: "repeated", type: "Vertex", id: 1 },
                    statuses: { rule: "repeated", type: "VertexStatus", id: 2 },
                    logs: { rule: "repeated", type: "VertexLog", id: 3 },
                    warnings: { rule: "repeated", type: "VertexWarning", id: 4 },
                  },
                },
                Vertex: {
                  fields: {
                    digest: { type: "string", id: 1 },
                    inputs: { rule: "repeated", type: "string", id: 2 },
                    name: { type: "string", id: 3 },
                    cached: { type: "bool", id: 4 },
                    started: { type: "Timestamp", id: 5 },
                    completed: { type: "Timestamp", id: 6 },
                    error: { type: "string", id: 7 },
                    progressGroup: { type: "ProgressGroup", id: 8 },
                  },
                },
                ProgressGroup: {
                  fields: {
                    id: { type: "string", id: 1 },
                    name: { type: "string", id: 2 },
                    weak: { type: "bool", id: 3 },
                  },
                },
                VertexStatus: {
                  fields: {
                    ID: { type: "string", id: 1 },
                    vertex: { type: "string", id: 2 },
                    name: { type: "string", id: 3 },
                    current: { type: "int64", id: 4 },
                    total: { type: "int64", id: 5 },
                    timestamp: { type: "Timestamp", id: 6 },
                    started: { type: "Timestamp", id: 7 },
                    completed: { type: "Timestamp", id: 8 },
                  },
                },
                VertexLog: {
                  fields: {
                    vertex: { type: "string", id: 1 },
                    timestamp: { type: "Timestamp", id: 2 },
                    stream: { type: "int64", id: 3 },
                    msg: { type: "bytes", id: 4 },
                  },
                },
                VertexWarning: {
                  fields: {
                    vertex: { type: "string", id: 1 },
                    level: { type: "int64", id: 2 },
                    short: { type: "bytes", id: 3 },
                    detail: { rule: "repeated", type: "bytes", id: 4 },
                    url: { type: "string", id: 5 },
                    info: { type: "SourceInfo", id: 6 },
                    ranges: { rule: "repeated", type: "Range", id: 7 },
                  },
                },
                SourceInfo: {
                  fields: {
                    filename: { type: "string", id: 1 },
                    data: { type: "bytes", id: 2 },
                    definition: { type: "bytes", id: 3 },
                    language: { type: "string", id: 4 },
                  },
                },
                Range: {
                  fields: { start: { type: "Position", id: 1 }, end: { type: "Position", id: 2 } },
                },
                Position: {
                  fields: { line: { type: "int32", id: 1 }, character: { type: "int32", id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
};

/** The protobuf type `moby.buildkit.v1.StatusResponse`, built from our own schema (no .proto file read). */
export const statusResponseType: protobuf.Type = protobuf.Root.fromJSON(schema).lookupType(
  "moby.buildkit.v1.StatusResponse",
);

/** A `VertexLog` as decoded: the chunk stays bytes, since a chunk can end inside a UTF-8 character. */
export interface DecodedVertexLog {
  vertex: string;
  /** Epoch milliseconds (with a fraction: microsecond precision), or null when absent. */
  timestamp: number | null;
  /** 1 = stdout, 2 = stderr. */
  stream: number;
  data: Uint8Array;
}

/** A decoded `moby.buildkit.trace` message: times in epoch milliseconds, log chunks as bytes. */
export interface DecodedStatus {
  vertexes: DaemonVertex[];
  statuses: DaemonVertexStatus[];
  logs: DecodedVertexLog[];
  warnings: DaemonVertexWarning[];
}

// The shapes protobufjs hands back for our schema (fields absent on the wire read as defaults;
// message fields as null).
type Int64 = number | protobuf.Long;
interface RawTimestamp {
  seconds: Int64;
  nanos: number;
}
interface RawVertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started: RawTimestamp | null;
  completed: RawTimestamp | null;
  error: string;
  progressGroup: { id: string; name: string; weak: boolean } | null;
}
interface RawStatus {
  ID: string;
  vertex: string;
  name: string;
  current: Int64;
  total: Int64;
  timestamp: RawTimestamp | null;
  started: RawTimestamp | null;
  completed: RawTimestamp | null;
}
interface RawLog {
  vertex: string;
  timestamp: RawTimestamp | null;
  stream: Int64;
  msg: Uint8Array;
}
interface RawPosition {
  line: number;
  character: number;
}
interface RawWarning {
  vertex: string;
  level: Int64;
  short: Uint8Array;
  detail: Uint8Array[];
  url: string;
  info: { filename: string; data: Uint8Array; definition: Uint8Array; language: string } | null;
  ranges: { start: RawPosition | null; end: RawPosition | null }[];
}
interface RawStatusResponse {
  vertexes: RawVertex[];
  statuses: RawStatus[];
  logs: RawLog[];
  warnings: RawWarning[];
}

const utf8 = new TextDecoder();

function toNumber(value: Int64): number {
  if (typeof value === "number") return value;
  // protobufjs reads int64 into a Long when the `long` package is present.
  return (value.unsigned ? value.high >>> 0 : value.high) * 4294967296 + (value.low >>> 0);
}

function toMillis(timestamp: RawTimestamp | null): number | null {
  if (timestamp === null) return null;
  return toNumber(timestamp.seconds) * 1000 + timestamp.nanos / 1e6;
}

function toPosition(position: RawPosition | null): { line: number; character: number } {
  return { line: position?.line ?? 0, character: position?.character ?? 0 };
}

/** Decodes the bytes of a `moby.buildkit.v1.StatusResponse`; throws on malformed protobuf. */
export function decodeStatusResponse(bytes: Uint8Array): DecodedStatus {
  const raw = statusResponseType.decode(bytes) as unknown as RawStatusResponse;
  return {
    vertexes: raw.vertexes.map((v) => ({
      digest: v.digest,
      inputs: v.inputs,
      name: v.name,
      cached: v.cached,
      started: toMillis(v.started),
      completed: toMillis(v.completed),
      error: v.error === "" ? null : v.error,
      progressGroup:
        v.progressGroup === null
          ? null
          : { id: v.progressGroup.id, name: v.progressGroup.name, weak: v.progressGroup.weak },
    })),
    statuses: raw.statuses.map((s) => ({
      id: s.ID,
      vertex: s.vertex,
      name: s.name,
      current: toNumber(s.current),
      total: toNumber(s.total),
      timestamp: toMillis(s.timestamp),
      started: toMillis(s.started),
      completed: toMillis(s.completed),
    })),
    logs: raw.logs.map((l) => ({
      vertex: l.vertex,
      timestamp: toMillis(l.timestamp),
      stream: toNumber(l.stream),
      data: l.msg,
    })),
    warnings: raw.warnings.map((w) => ({
      vertex: w.vertex,
      level: toNumber(w.level),
      short: utf8.decode(w.short),
      detail: w.detail.map((d) => utf8.decode(d)),
      url: w.url,
      info:
        w.info === null
          ? null
          : {
              filename: w.info.filename,
              data: utf8.decode(w.info.data),
              definition: encodeBase64(w.info.definition),
              language: w.info.language,
            },
      ranges: w.ranges.map((r): SourceRange => ({
        start: toPosition(r.start),
        end: toPosition(r.end),
      })),
    })),
  };
}

/** Decodes standard (padded) base64, as Go's encoding/json writes a `[]byte`. */
export function decodeBase64(text: string): Uint8Array {
  const bytes = new Uint8Array(protobuf.util.base64.length(text));
  const length = protobuf.util.base64.decode(text, bytes, 0);
  return length === bytes.length ? bytes : bytes.subarray(0, length);
}

function encodeBase64(bytes: Uint8Array): string {
  return protobuf.util.base64.encode(bytes, 0, bytes.length);
}

/** Turns a decoded status into plain JSON values (log chunks as UTF-8 text), for `daemon-status` events. */
export function toDaemonStatus(status: DecodedStatus): DaemonStatus {
  return {
    vertexes: status.vertexes,
    statuses: status.statuses,
    logs: status.logs.map((l): DaemonVertexLog => ({
      vertex: l.vertex,
      timestamp: l.timestamp,
      stream: l.stream,
      msg: utf8.decode(l.data),
    })),
    warnings: status.warnings,
  };
}

/** One line of a `/build` response stream, classified. */
export type DaemonLine =
  /** `{"id":"moby.buildkit.trace","aux":"<base64>"}`: BuildKit progress. */
  | { kind: "trace"; status: DecodedStatus }
  /** `{"id":"moby.image.id","aux":{"ID":"sha256:…"}}`: the built image (moby exporter only). */
  | { kind: "image-id"; imageId: string }
  /** `{"stream":"…"}`: `Successfully tagged …` (20.10) or legacy-builder output; text as sent. */
  | { kind: "stream"; text: string }
  /** `{"errorDetail":{"message":…}}` (the build failed), or an HTTP error body `{"message":…}`. */
  | { kind: "error"; message: string; code: number | null }
  /** Anything else, including lines that are not JSON or whose trace does not decode. */
  | { kind: "unknown"; raw: string; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Classifies one NDJSON line of a `/build` response (without its line break); never throws.
 * Returns undefined for a blank line.
 * @example
 * const line = parseDaemonLine('{"id":"moby.image.id","aux":{"ID":"sha256:ab…"}}');
 * if (line?.kind === "image-id") console.log(line.imageId);
 */
export function parseDaemonLine(line: string): DaemonLine | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "unknown", raw: line, reason: "not JSON" };
  }
  if (!isRecord(value)) return { kind: "unknown", raw: line, reason: "not a JSON object" };
  const { id, aux } = value;
  if (id === "moby.buildkit.trace") {
    if (typeof aux !== "string") {
      return { kind: "unknown", raw: line, reason: "trace without a base64 aux" };
    }
    try {
      return { kind: "trace", status: decodeStatusResponse(decodeBase64(aux)) };
    } catch (error) {
      return { kind: "unknown", raw: line, reason: `undecodable trace: ${String(error)}` };
    }
  }
  if (id === "moby.image.id") {
    if (isRecord(aux) && typeof aux.ID === "string") return { kind: "image-id", imageId: aux.ID };
    return { kind: "unknown", raw: line, reason: "image id without aux.ID" };
  }
  if (isRecord(value.errorDetail)) {
    const { message, code } = value.errorDetail;
    return {
      kind: "error",
      message:
        typeof message === "string"
          ? message
          : typeof value.error === "string"
            ? value.error
            : "unknown error",
      code: typeof code === "number" ? code : null,
    };
  }
  if (typeof value.error === "string") return { kind: "error", message: value.error, code: null };
  if (typeof value.stream === "string") return { kind: "stream", text: value.stream };
  if (typeof value.message === "string" && Object.keys(value).length === 1) {
    return { kind: "error", message: value.message, code: null };
  }
  return { kind: "unknown", raw: line, reason: "unrecognised line" };
}

/** Splits a byte or text stream into lines across chunk boundaries; see `createLineSplitter`. */
export interface LineSplitter {
  /** Feeds a chunk; returns the lines it completed (without `\r\n`, blank lines dropped). */
  push(chunk: string | Uint8Array): string[];
  /** Returns what is left after the last line break, if anything. */
  end(): string[];
}

/**
 * Makes a splitter for the daemon's `\r\n`-separated NDJSON: a line may span several chunks, and a
 * chunk may end inside a UTF-8 character.
 * @example
 * const splitter = createLineSplitter();
 * for await (const chunk of body) for (const line of splitter.push(chunk)) handle(parseDaemonLine(line));
 * for (const line of splitter.end()) handle(parseDaemonLine(line));
 */
export function createLineSplitter(): LineSplitter {
  const decoder = new TextDecoder();
  // Pieces of the unfinished line, joined once its end arrives (a trace line can span many chunks).
  let pending: string[] = [];
  const take = (text: string): string[] => {
    const lines: string[] = [];
    let start = 0;
    let end = text.indexOf("\n");
    while (end !== -1) {
      let line = text.slice(start, end);
      if (pending.length > 0) {
        pending.push(line);
        line = pending.join("");
        pending = [];
      }
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.trim() !== "") lines.push(line);
      start = end + 1;
      end = text.indexOf("\n", start);
    }
    if (start < text.length) pending.push(text.slice(start));
    return lines;
  };
  return {
    push(chunk) {
      return take(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    },
    end() {
      pending.push(decoder.decode());
      const rest = pending.join("");
      pending = [];
      const line = rest.endsWith("\r") ? rest.slice(0, -1) : rest;
      return line.trim() === "" ? [] : [line];
    },
  };
}

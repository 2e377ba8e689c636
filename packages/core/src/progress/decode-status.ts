import { WIRE_BYTES, WIRE_VARINT, WireReader, eachField } from "./protobuf-wire.js";
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
// send, read straight off the protobuf wire format: a general-purpose protobuf library costs more
// start-up than a whole cached build (the field numbers are listed with each reader below).
// Timestamps are `google.protobuf.Timestamp` (seconds 1, nanos 2); SourceInfo.definition is an LLB
// `pb.Definition` upstream, kept as bytes. Unknown fields are skipped, as protobuf requires.

const utf8 = new TextDecoder();

/** `google.protobuf.Timestamp` → epoch milliseconds (microsecond fraction kept). */
function readTimestamp(reader: WireReader): number {
  let seconds = 0;
  let nanos = 0;
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_VARINT) return false;
    if (field === 1) seconds = r.varint();
    else if (field === 2) nanos = r.varint() | 0;
    else return false;
    return true;
  });
  return seconds * 1000 + nanos / 1e6;
}

// Vertex: digest 1, inputs 2 (repeated), name 3, cached 4, started 5, completed 6, error 7,
// progressGroup 8 (id 1, name 2, weak 3).
function readVertex(reader: WireReader): DaemonVertex {
  const vertex: DaemonVertex = {
    digest: "",
    inputs: [],
    name: "",
    cached: false,
    started: null,
    completed: null,
    error: null,
    progressGroup: null,
  };
  eachField(reader, (field, wire, r) => {
    if (field === 4 && wire === WIRE_VARINT) {
      vertex.cached = r.varint() !== 0;
      return true;
    }
    if (wire !== WIRE_BYTES) return false;
    switch (field) {
      case 1:
        vertex.digest = r.string();
        return true;
      case 2:
        vertex.inputs.push(r.string());
        return true;
      case 3:
        vertex.name = r.string();
        return true;
      case 5:
        vertex.started = readTimestamp(r.nested());
        return true;
      case 6:
        vertex.completed = readTimestamp(r.nested());
        return true;
      case 7: {
        const error = r.string();
        vertex.error = error === "" ? null : error;
        return true;
      }
      case 8:
        vertex.progressGroup = readProgressGroup(r.nested());
        return true;
      default:
        return false;
    }
  });
  return vertex;
}

function readProgressGroup(reader: WireReader): { id: string; name: string; weak: boolean } {
  const group = { id: "", name: "", weak: false };
  eachField(reader, (field, wire, r) => {
    if (field === 3 && wire === WIRE_VARINT) group.weak = r.varint() !== 0;
    else if (field === 1 && wire === WIRE_BYTES) group.id = r.string();
    else if (field === 2 && wire === WIRE_BYTES) group.name = r.string();
    else return false;
    return true;
  });
  return group;
}

// VertexStatus: ID 1, vertex 2, name 3, current 4, total 5, timestamp 6, started 7, completed 8.
function readVertexStatus(reader: WireReader): DaemonVertexStatus {
  const status: DaemonVertexStatus = {
    id: "",
    vertex: "",
    name: "",
    current: 0,
    total: 0,
    timestamp: null,
    started: null,
    completed: null,
  };
  eachField(reader, (field, wire, r) => {
    if (wire === WIRE_VARINT) {
      if (field === 4) status.current = r.varint();
      else if (field === 5) status.total = r.varint();
      else return false;
      return true;
    }
    if (wire !== WIRE_BYTES) return false;
    switch (field) {
      case 1:
        status.id = r.string();
        return true;
      case 2:
        status.vertex = r.string();
        return true;
      case 3:
        status.name = r.string();
        return true;
      case 6:
        status.timestamp = readTimestamp(r.nested());
        return true;
      case 7:
        status.started = readTimestamp(r.nested());
        return true;
      case 8:
        status.completed = readTimestamp(r.nested());
        return true;
      default:
        return false;
    }
  });
  return status;
}

// VertexLog: vertex 1, timestamp 2, stream 3, msg 4 (bytes).
function readVertexLog(reader: WireReader): DecodedVertexLog {
  const log: DecodedVertexLog = { vertex: "", timestamp: null, stream: 0, data: new Uint8Array() };
  eachField(reader, (field, wire, r) => {
    if (field === 3 && wire === WIRE_VARINT) log.stream = r.varint();
    else if (wire !== WIRE_BYTES) return false;
    else if (field === 1) log.vertex = r.string();
    else if (field === 2) log.timestamp = readTimestamp(r.nested());
    else if (field === 4) log.data = r.bytes();
    else return false;
    return true;
  });
  return log;
}

// VertexWarning: vertex 1, level 2, short 3, detail 4 (repeated bytes), url 5, info 6
// (SourceInfo: filename 1, data 2, definition 3, language 4), ranges 7 (Range: start 1, end 2;
// Position: line 1, character 2).
function readVertexWarning(reader: WireReader): DaemonVertexWarning {
  const warning: DaemonVertexWarning = {
    vertex: "",
    level: 0,
    short: "",
    detail: [],
    url: "",
    info: null,
    ranges: [],
  };
  eachField(reader, (field, wire, r) => {
    if (field === 2 && wire === WIRE_VARINT) warning.level = r.varint();
    else if (wire !== WIRE_BYTES) return false;
    else if (field === 1) warning.vertex = r.string();
    else if (field === 3) warning.short = r.string();
    else if (field === 4) warning.detail.push(r.string());
    else if (field === 5) warning.url = r.string();
    else if (field === 6) warning.info = readSourceInfo(r.nested());
    else if (field === 7) warning.ranges.push(readRange(r.nested()));
    else return false;
    return true;
  });
  return warning;
}

function readSourceInfo(reader: WireReader): NonNullable<DaemonVertexWarning["info"]> {
  const info = { filename: "", data: "", definition: "", language: "" };
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_BYTES) return false;
    if (field === 1) info.filename = r.string();
    else if (field === 2) info.data = r.string();
    else if (field === 3) info.definition = encodeBase64(r.bytes());
    else if (field === 4) info.language = r.string();
    else return false;
    return true;
  });
  return info;
}

function readRange(reader: WireReader): SourceRange {
  const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_BYTES || (field !== 1 && field !== 2)) return false;
    const position = readPosition(r.nested());
    if (field === 1) range.start = position;
    else range.end = position;
    return true;
  });
  return range;
}

function readPosition(reader: WireReader): { line: number; character: number } {
  const position = { line: 0, character: 0 };
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_VARINT) return false;
    if (field === 1) position.line = r.varint() | 0;
    else if (field === 2) position.character = r.varint() | 0;
    else return false;
    return true;
  });
  return position;
}

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

/** Decodes the bytes of a `moby.buildkit.v1.StatusResponse`; throws on malformed protobuf. */
export function decodeStatusResponse(bytes: Uint8Array): DecodedStatus {
  const status: DecodedStatus = { vertexes: [], statuses: [], logs: [], warnings: [] };
  eachField(new WireReader(bytes), (field, wire, r) => {
    if (wire !== WIRE_BYTES) return false;
    if (field === 1) status.vertexes.push(readVertex(r.nested()));
    else if (field === 2) status.statuses.push(readVertexStatus(r.nested()));
    else if (field === 3) status.logs.push(readVertexLog(r.nested()));
    else if (field === 4) status.warnings.push(readVertexWarning(r.nested()));
    else return false;
    return true;
  });
  return status;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUES = new Int16Array(128).fill(-1);
for (let index = 0; index < BASE64.length; index++) BASE64_VALUES[BASE64.charCodeAt(index)] = index;
// URL-safe letters too, as protobufjs accepted them.
BASE64_VALUES[45] = 62;
BASE64_VALUES[95] = 63;

/** Decodes standard (padded) base64, as Go's encoding/json writes a `[]byte`; throws on other text. */
export function decodeBase64(text: string): Uint8Array {
  let length = text.length;
  while (length > 0 && text.charCodeAt(length - 1) === 61) length--;
  const bytes = new Uint8Array(Math.floor((length * 3) / 4));
  let out = 0;
  let buffer = 0;
  let bits = 0;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    const value = code < 128 ? (BASE64_VALUES[code] ?? -1) : -1;
    if (value < 0) throw new Error(`invalid base64 at offset ${index}`);
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = (buffer >>> bits) & 0xff;
    }
  }
  return out === bytes.length ? bytes : bytes.subarray(0, out);
}

function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  for (let index = 0; index < bytes.length; index += 3) {
    const a = bytes[index] ?? 0;
    const b = bytes[index + 1] ?? 0;
    const c = bytes[index + 2] ?? 0;
    const left = bytes.length - index;
    text += BASE64.charAt(a >>> 2) + BASE64.charAt(((a & 3) << 4) | (b >>> 4));
    text += left > 1 ? BASE64.charAt(((b & 15) << 2) | (c >>> 6)) : "=";
    text += left > 2 ? BASE64.charAt(c & 63) : "=";
  }
  return text;
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

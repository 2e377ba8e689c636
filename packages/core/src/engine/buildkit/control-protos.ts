import {
  WIRE_BYTES,
  WIRE_VARINT,
  WireReader,
  WireWriter,
  eachField,
} from "../../progress/protobuf-wire.js";

// The messages of `moby.buildkit.v1.Control` that stagecraft sends and reads, by field number
// (moby/buildkit `api/services/control/control.proto`, `api/types/worker.proto`,
// `solver/pb/ops.proto`). Only the fields used are here; unknown fields are skipped on reading.

const utf8 = new TextEncoder();

/** A cache import or export: `type=registry,ref=…,mode=max` as a type and its attributes. */
export interface CacheOptionsEntry {
  type: string;
  attrs: Readonly<Record<string, string>>;
}

/** What `Control.Solve` is asked to do: a frontend build with one exporter and cache options. */
export interface SolveRequest {
  /** The build's id: `Control.Status` follows it, the history records it. */
  ref: string;
  /** The session (`Control.Session` or `/session`) serving the build's files, secrets and outputs. */
  session: string;
  frontend: string;
  frontendAttrs: Readonly<Record<string, string>>;
  /** One exporter, or none (a cache-only build). */
  exporter?: { type: string; attrs: Readonly<Record<string, string>> } | undefined;
  cacheImports?: readonly CacheOptionsEntry[] | undefined;
  cacheExports?: readonly CacheOptionsEntry[] | undefined;
}

/** A BuildKit worker as `ListWorkers` describes it. */
export interface WorkerRecord {
  id: string;
  labels: Record<string, string>;
  /** `os/arch[/variant]`. */
  platforms: string[];
}

/** One build-cache record from `DiskUsage`. */
export interface UsageRecord {
  id: string;
  mutable: boolean;
  inUse: boolean;
  sizeBytes: number;
  description: string;
  recordType: string;
  shared: boolean;
  usageCount: number;
}

function writeString(writer: WireWriter, field: number, value: string): void {
  if (value !== "") writer.bytes(field, utf8.encode(value));
}

function writeMap(writer: WireWriter, field: number, map: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(map)) {
    writer.message(field, (entry) => {
      writeString(entry, 1, key);
      writeString(entry, 2, value);
    });
  }
}

function writeCacheEntries(
  writer: WireWriter,
  field: number,
  entries: readonly CacheOptionsEntry[],
): void {
  for (const entry of entries) {
    writer.message(field, (message) => {
      writeString(message, 1, entry.type);
      writeMap(message, 2, entry.attrs);
    });
  }
}

/**
 * Encodes a `SolveRequest`. The exporter goes in the fields every BuildKit reads (3 and 4, named
 * `…Deprecated` since v0.13, which turns them into `Exporters` in `translateLegacySolveRequest`).
 */
export function encodeSolveRequest(request: SolveRequest): Uint8Array {
  const writer = new WireWriter(256);
  writeString(writer, 1, request.ref);
  if (request.exporter !== undefined) {
    writeString(writer, 3, request.exporter.type);
    writeMap(writer, 4, request.exporter.attrs);
  }
  writeString(writer, 5, request.session);
  writeString(writer, 6, request.frontend);
  writeMap(writer, 7, request.frontendAttrs);
  const imports = request.cacheImports ?? [];
  const exports = request.cacheExports ?? [];
  if (imports.length > 0 || exports.length > 0) {
    writer.message(8, (cache) => {
      writeCacheEntries(cache, 4, exports);
      writeCacheEntries(cache, 5, imports);
    });
  }
  return writer.finish();
}

/** Decodes a `SolveResponse`: the exporter's answer (`containerimage.digest`, …). */
export function decodeSolveResponse(bytes: Uint8Array): Record<string, string> {
  const response: Record<string, string> = {};
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    const [key, value] = readMapEntry(reader.nested());
    response[key] = value;
    return true;
  });
  return response;
}

/** Encodes a message whose only field is a string in field 1 (`StatusRequest.Ref`). */
export function encodeStatusRequest(ref: string): Uint8Array {
  const writer = new WireWriter(64);
  writeString(writer, 1, ref);
  return writer.finish();
}

/**
 * Encodes `ReadContentRequest{digest}` of containerd's `containerd.services.content.v1.Content`
 * (api/services/content/v1/content.proto), which BuildKit serves read-only beside `Control`
 * (control.go `Register`): the whole blob, from offset 0.
 */
export function encodeReadContentRequest(digest: string): Uint8Array {
  const writer = new WireWriter(80);
  writeString(writer, 1, digest);
  return writer.finish();
}

/** Decodes a `ReadContentResponse{offset, data}`: one chunk of the blob. */
export function decodeReadContentResponse(bytes: Uint8Array): { offset: number; data: Uint8Array } {
  const chunk: { offset: number; data: Uint8Array } = { offset: 0, data: new Uint8Array(0) };
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field === 1 && wire === WIRE_VARINT) chunk.offset = reader.varint();
    else if (field === 2 && wire === WIRE_BYTES) chunk.data = reader.bytes();
    else return false;
    return true;
  });
  return chunk;
}

/** Encodes `BytesMessage{data}`. */
export function encodeBytesMessage(data: Uint8Array): Uint8Array {
  const writer = new WireWriter(data.length + 8);
  if (data.length > 0) writer.bytes(1, data);
  return writer.finish();
}

/** Decodes `BytesMessage{data}`. */
export function decodeBytesMessage(bytes: Uint8Array): Uint8Array {
  let data: Uint8Array = new Uint8Array(0);
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    data = reader.bytes();
    return true;
  });
  return data;
}

/** Decodes a `ListWorkersResponse`. */
export function decodeListWorkersResponse(bytes: Uint8Array): WorkerRecord[] {
  const workers: WorkerRecord[] = [];
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    const worker: WorkerRecord = { id: "", labels: {}, platforms: [] };
    eachField(reader.nested(), (f, w, r) => {
      if (w !== WIRE_BYTES) return false;
      if (f === 1) worker.id = r.string();
      else if (f === 2) {
        const [key, value] = readMapEntry(r.nested());
        worker.labels[key] = value;
      } else if (f === 3) worker.platforms.push(readPlatform(r.nested()));
      else return false;
      return true;
    });
    workers.push(worker);
    return true;
  });
  return workers;
}

/** Decodes a `DiskUsageResponse`. */
export function decodeDiskUsageResponse(bytes: Uint8Array): UsageRecord[] {
  const records: UsageRecord[] = [];
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    const record: UsageRecord = {
      id: "",
      mutable: false,
      inUse: false,
      sizeBytes: 0,
      description: "",
      recordType: "",
      shared: false,
      usageCount: 0,
    };
    eachField(reader.nested(), (f, w, r) => {
      if (w === WIRE_VARINT) {
        if (f === 2) record.mutable = r.varint() !== 0;
        else if (f === 3) record.inUse = r.varint() !== 0;
        else if (f === 4) record.sizeBytes = r.varint();
        else if (f === 8) record.usageCount = r.varint();
        else if (f === 11) record.shared = r.varint() !== 0;
        else return false;
        return true;
      }
      if (w !== WIRE_BYTES) return false;
      if (f === 1) record.id = r.string();
      else if (f === 9) record.description = r.string();
      else if (f === 10) record.recordType = r.string();
      else return false;
      return true;
    });
    records.push(record);
    return true;
  });
  return records;
}

/** Decodes an `InfoResponse`: BuildKit's version. */
export function decodeInfoResponse(bytes: Uint8Array): { package: string; version: string } {
  const info = { package: "", version: "" };
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    eachField(reader.nested(), (f, w, r) => {
      if (w !== WIRE_BYTES) return false;
      if (f === 1) info.package = r.string();
      else if (f === 2) info.version = r.string();
      else return false;
      return true;
    });
    return true;
  });
  return info;
}

function readMapEntry(reader: WireReader): [string, string] {
  let key = "";
  let value = "";
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_BYTES) return false;
    if (field === 1) key = r.string();
    else if (field === 2) value = r.string();
    else return false;
    return true;
  });
  return [key, value];
}

function readPlatform(reader: WireReader): string {
  let architecture = "";
  let os = "";
  let variant = "";
  eachField(reader, (field, wire, r) => {
    if (wire !== WIRE_BYTES) return false;
    if (field === 1) architecture = r.string();
    else if (field === 2) os = r.string();
    else if (field === 3) variant = r.string();
    else return false;
    return true;
  });
  return variant === "" ? `${os}/${architecture}` : `${os}/${architecture}/${variant}`;
}

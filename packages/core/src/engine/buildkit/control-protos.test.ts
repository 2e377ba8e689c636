import { describe, expect, it } from "vitest";
import {
  WIRE_BYTES,
  WIRE_VARINT,
  WireReader,
  WireWriter,
  eachField,
} from "../../progress/protobuf-wire.js";
import {
  decodeBytesMessage,
  decodeListWorkersResponse,
  decodeReadContentResponse,
  decodeSolveResponse,
  encodeBytesMessage,
  encodeReadContentRequest,
  encodeSolveRequest,
} from "./control-protos.js";
import { createMessageReader, frame } from "./grpc-connection.js";

const text = new TextDecoder();

/** Every field of a message as [number, bytes] pairs (all fields here are length-delimited). */
function fields(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (wire !== WIRE_BYTES) return false;
    out.push([field, reader.bytes()]);
    return true;
  });
  return out;
}

function mapOf(entries: Uint8Array[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((entry) => {
      const pair = fields(entry);
      return [text.decode(pair[0]?.[1]), text.decode(pair[1]?.[1])];
    }),
  );
}

describe("Control API messages", () => {
  it("encodes a SolveRequest with the exporter in fields 3/4 and cache options in 8", () => {
    const bytes = encodeSolveRequest({
      ref: "b1",
      session: "s1",
      frontend: "dockerfile.v0",
      frontendAttrs: { filename: "Dockerfile", target: "app" },
      exporter: { type: "moby", attrs: { name: "a:1,b:2" } },
      cacheImports: [{ type: "registry", attrs: { ref: "r/c:1" } }],
      cacheExports: [{ type: "registry", attrs: { ref: "r/c:1", mode: "max" } }],
    });
    const all = fields(bytes);
    const of = (n: number): Uint8Array[] => all.filter(([f]) => f === n).map(([, v]) => v);
    expect(text.decode(of(1)[0])).toBe("b1");
    expect(text.decode(of(3)[0])).toBe("moby");
    expect(mapOf(of(4))).toEqual({ name: "a:1,b:2" });
    expect(text.decode(of(5)[0])).toBe("s1");
    expect(text.decode(of(6)[0])).toBe("dockerfile.v0");
    expect(mapOf(of(7))).toEqual({ filename: "Dockerfile", target: "app" });
    const cache = fields(of(8)[0] ?? new Uint8Array());
    const exports = cache.filter(([f]) => f === 4).map(([, v]) => fields(v));
    const imports = cache.filter(([f]) => f === 5).map(([, v]) => fields(v));
    expect(exports.map((entry) => text.decode(entry[0]?.[1]))).toEqual(["registry"]);
    expect(mapOf(exports[0]?.slice(1).map(([, v]) => v) ?? [])).toEqual({
      ref: "r/c:1",
      mode: "max",
    });
    expect(mapOf(imports[0]?.slice(1).map(([, v]) => v) ?? [])).toEqual({ ref: "r/c:1" });
  });

  it("sends an attribute with an empty value as its key alone (Go reads it as present and empty)", () => {
    const bytes = encodeSolveRequest({
      ref: "b1",
      session: "s1",
      frontend: "dockerfile.v0",
      frontendAttrs: {},
      exporter: { type: "moby", attrs: { "dangling-name-prefix": "" } },
    });
    const entries = fields(bytes)
      .filter(([f]) => f === 4)
      .map(([, v]) => fields(v));
    expect(entries).toEqual([[[1, new TextEncoder().encode("dangling-name-prefix")]]]);
  });

  it("asks containerd's Content.Read for a blob and decodes its chunks", () => {
    expect(fields(encodeReadContentRequest("sha256:m"))).toEqual([
      [1, new TextEncoder().encode("sha256:m")],
    ]);
    const chunk = new WireWriter(16);
    chunk.key(1, WIRE_VARINT);
    chunk.varint(300);
    chunk.bytes(2, new Uint8Array([123, 125]));
    expect(decodeReadContentResponse(chunk.finish())).toEqual({
      offset: 300,
      data: new Uint8Array([123, 125]),
    });
  });

  it("decodes a SolveResponse map and worker records", () => {
    const encoder = new TextEncoder();
    const response = new WireWriter(64);
    response.message(1, (entry) => {
      entry.bytes(1, encoder.encode("containerimage.digest"));
      entry.bytes(2, encoder.encode("sha256:abc"));
    });
    expect(decodeSolveResponse(response.finish())).toEqual({
      "containerimage.digest": "sha256:abc",
    });
    const workers = new WireWriter(64);
    workers.message(1, (worker) => {
      worker.bytes(1, encoder.encode("w1"));
      worker.message(2, (label) => {
        label.bytes(1, encoder.encode("k"));
        label.bytes(2, encoder.encode("v"));
      });
      worker.message(3, (platform) => {
        platform.bytes(1, encoder.encode("amd64"));
        platform.bytes(2, encoder.encode("linux"));
        platform.bytes(3, encoder.encode("v3"));
      });
    });
    expect(decodeListWorkersResponse(workers.finish())).toEqual([
      { id: "w1", labels: { k: "v" }, platforms: ["linux/amd64/v3"] },
    ]);
  });

  it("round-trips BytesMessage and splits gRPC frames across chunks", () => {
    const data = new Uint8Array([1, 2, 3, 250]);
    expect(decodeBytesMessage(encodeBytesMessage(data))).toEqual(data);
    expect(decodeBytesMessage(encodeBytesMessage(new Uint8Array()))).toEqual(new Uint8Array());
    const received: number[][] = [];
    const reader = createMessageReader((message) => received.push([...message]));
    const bytes = Buffer.concat([
      frame(new Uint8Array([7, 8])),
      frame(new Uint8Array([])),
      frame(data),
    ]);
    for (let at = 0; at < bytes.length; at += 3) reader.push(bytes.subarray(at, at + 3));
    expect(received).toEqual([[7, 8], [], [1, 2, 3, 250]]);
    expect(reader.pending).toBe(0);
    expect(() => {
      createMessageReader(() => undefined).push(Buffer.from([1, 0, 0, 0, 0]));
    }).toThrow(/compressed/);
  });
});

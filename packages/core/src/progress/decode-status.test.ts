import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createLineSplitter,
  decodeBase64,
  decodeStatusResponse,
  parseDaemonLine,
  toDaemonStatus,
  type DaemonLine,
} from "./decode-status.js";
import { statusResponseType } from "./status-response-type.test-support.js";

// Generated inputs: an explicit, generous limit, so that a loaded machine cannot trip vitest's
// 5 s default (these take 1-4 s on a busy 2-core machine).
const TIMEOUT_MS = 60_000;

const fixtures = join(import.meta.dirname, "__fixtures__", "buildkit-streams");
const folders = ["docker-20.10", "docker-26.1"] as const;
const captures = (folder: string): string[] =>
  readdirSync(join(fixtures, folder))
    .filter((file) => file.endsWith(".ndjson"))
    .map((file) => file.slice(0, -".ndjson".length))
    .sort();

function splitAll(bytes: Uint8Array, chunkSize: number): string[] {
  const splitter = createLineSplitter();
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    lines.push(...splitter.push(bytes.subarray(offset, offset + chunkSize)));
  }
  lines.push(...splitter.end());
  return lines;
}

// The `.decoded.jsonl` files write Timestamps as RFC 3339 with nanoseconds; ours are epoch ms.
function rfc3339ToMillis(text: string): number {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(text);
  if (match === null) throw new Error(`not a timestamp: ${text}`);
  const seconds = Date.parse(`${match[1]}Z`) / 1000;
  return seconds * 1000 + Number((match[2] ?? "").padEnd(9, "0")) / 1e6;
}

const timeKeys = new Set(["started", "completed", "timestamp"]);

/** Drops proto3 defaults and turns timestamps into ms, so both sides compare. */
function normalise(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((item) => normalise(item));
  if (typeof value === "string" && timeKeys.has(key)) return rfc3339ToMillis(value);
  if (typeof value !== "object" || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === false || v === 0 || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    result[k === "ID" ? "id" : k] = normalise(v, k);
  }
  return result;
}

describe.each(folders)("decoding every capture in %s", (folder) => {
  it.each(captures(folder))("%s", (name) => {
    const raw = readFileSync(join(fixtures, folder, `${name}.ndjson`));
    const expected = readFileSync(join(fixtures, folder, `${name}.decoded.jsonl`), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const lines = splitAll(raw, 4093);
    expect(splitAll(raw, 1)).toEqual(lines);
    expect(lines).toHaveLength(expected.length);
    lines.forEach((line, index) => {
      const want = expected[index]!;
      const got = parseDaemonLine(line);
      if (want.id === "moby.buildkit.trace") {
        expect(got?.kind).toBe("trace");
        if (got?.kind !== "trace") return;
        expect(normalise(toDaemonStatus(got.status))).toEqual(normalise(want.decoded));
      } else if (want.id === "moby.image.id") {
        expect(got).toEqual({
          kind: "image-id",
          imageId: (want.aux as { ID: string }).ID,
        } satisfies DaemonLine);
      } else if (typeof want.stream === "string") {
        expect(got).toEqual({ kind: "stream", text: want.stream });
      } else if (want.errorDetail !== undefined) {
        const detail = want.errorDetail as { message: string; code?: number };
        expect(got).toEqual({ kind: "error", message: detail.message, code: detail.code ?? null });
      } else if (typeof want.message === "string") {
        expect(got).toEqual({ kind: "error", message: want.message, code: null });
      } else {
        expect(got?.kind).toBe("unknown");
      }
    });
  });
});

describe("decodeStatusResponse", () => {
  it("decodes the fields newer daemons add: progressGroup (Vertex 8) and warnings (4)", () => {
    const bytes = statusResponseType
      .encode({
        vertexes: [
          {
            digest: "sha256:link",
            inputs: ["sha256:copy"],
            name: "[final 3/6] LINK COPY --link hello.txt /hello.txt",
            started: { seconds: 1_795_316_000, nanos: 500_000_000 },
            progressGroup: { id: "group-1", name: "COPY --link hello.txt /hello.txt", weak: true },
          },
        ],
        statuses: [
          {
            ID: "pulling sha256:layer",
            vertex: "sha256:link",
            current: 5_000_000_000,
            total: 6_000_000_000,
          },
        ],
        warnings: [
          {
            vertex: "sha256:link",
            level: 1,
            short: new TextEncoder().encode("careful"),
            detail: [new TextEncoder().encode("first"), new TextEncoder().encode("second")],
            url: "https://example.invalid/why",
            info: {
              filename: "Dockerfile",
              data: new TextEncoder().encode("FROM x\n"),
              language: "Dockerfile",
            },
            ranges: [{ start: { line: 1 }, end: { line: 1, character: 6 } }],
          },
        ],
      })
      .finish();
    const status = decodeStatusResponse(bytes);
    expect(status.vertexes[0]).toEqual({
      digest: "sha256:link",
      inputs: ["sha256:copy"],
      name: "[final 3/6] LINK COPY --link hello.txt /hello.txt",
      cached: false,
      started: 1_795_316_000_500,
      completed: null,
      error: null,
      progressGroup: { id: "group-1", name: "COPY --link hello.txt /hello.txt", weak: true },
    });
    // int64 beyond 2^32 survive (protobufjs reads them as Long).
    expect(status.statuses[0]).toMatchObject({ current: 5_000_000_000, total: 6_000_000_000 });
    expect(status.warnings[0]).toEqual({
      vertex: "sha256:link",
      level: 1,
      short: "careful",
      detail: ["first", "second"],
      url: "https://example.invalid/why",
      info: { filename: "Dockerfile", data: "FROM x\n", definition: "", language: "Dockerfile" },
      ranges: [{ start: { line: 1, character: 0 }, end: { line: 1, character: 6 } }],
    });
  });

  it("keeps log chunks as bytes (a chunk may end inside a UTF-8 character)", () => {
    const euro = new TextEncoder().encode("€");
    const bytes = statusResponseType
      .encode({ logs: [{ vertex: "sha256:v", stream: 2, msg: euro.subarray(0, 2) }] })
      .finish();
    const [log] = decodeStatusResponse(bytes).logs;
    expect(log?.stream).toBe(2);
    expect([...(log?.data ?? [])]).toEqual([...euro.subarray(0, 2)]);
  });
});

describe("decodeStatusResponse on the wire format", () => {
  /** Field key + varint helpers to write messages protobufjs would not (unknown fields, bad bytes). */
  const varint = (value: bigint): number[] => {
    const out: number[] = [];
    let rest = BigInt.asUintN(64, value);
    do {
      const byte = Number(rest & 0x7fn);
      rest >>= 7n;
      out.push(rest === 0n ? byte : byte | 0x80);
    } while (rest !== 0n);
    return out;
  };
  const key = (field: number, wire: number): number[] => varint(BigInt(field * 8 + wire));
  const bytesField = (field: number, content: number[]): number[] => [
    ...key(field, 2),
    ...varint(BigInt(content.length)),
    ...content,
  ];
  const text = (value: string): number[] => [...new TextEncoder().encode(value)];

  it("skips fields it does not know, of every wire type, and known numbers of another type", () => {
    const log = [
      ...bytesField(1, text("sha256:v")),
      ...key(99, 0),
      ...varint(300n),
      ...key(98, 1),
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...key(97, 5),
      ...[1, 2, 3, 4],
      ...bytesField(96, text("future")),
      // `stream` as bytes instead of a varint: not what field 3 is, so skipped.
      ...bytesField(3, [1]),
      ...key(3, 0),
      ...varint(2n),
      ...bytesField(4, text("hi")),
    ];
    const status = decodeStatusResponse(
      Uint8Array.from([...bytesField(3, log), ...key(50, 0), ...varint(7n)]),
    );
    expect(status.logs).toHaveLength(1);
    expect(status.logs[0]).toMatchObject({ vertex: "sha256:v", stream: 2, timestamp: null });
    expect(new TextDecoder().decode(status.logs[0]?.data)).toBe("hi");
  });

  it("reads int64 beyond 2^53's safe range approximately and negatives as negatives", () => {
    const status = decodeStatusResponse(
      Uint8Array.from(
        bytesField(2, [
          ...key(4, 0),
          ...varint(-5n),
          ...key(5, 0),
          ...varint(2n ** 40n + 3n),
          ...bytesField(6, [...key(1, 0), ...varint(-1n), ...key(2, 0), ...varint(250_000n)]),
        ]),
      ),
    );
    expect(status.statuses[0]).toMatchObject({
      current: -5,
      total: 2 ** 40 + 3,
      timestamp: -1000 + 0.25,
    });
  });

  it("throws on truncated or impossible input instead of reading past it", () => {
    expect(() => decodeStatusResponse(Uint8Array.from([0x0a, 0x05, 0x0a]))).toThrow(
      "length beyond the message",
    );
    expect(() => decodeStatusResponse(Uint8Array.from([0x08, 0x80]))).toThrow("truncated varint");
    expect(() => decodeStatusResponse(Uint8Array.from([0x0b]))).toThrow("unsupported wire type 3");
    expect(() => decodeStatusResponse(Uint8Array.from([0x00]))).toThrow("field number 0");
    expect(() => decodeStatusResponse(Uint8Array.from([0x09, 1, 2]))).toThrow("truncated field");
  });

  it("agrees with protobufjs on 2,000 random StatusResponses", { timeout: TIMEOUT_MS }, () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const maybe = <T>(make: () => T): T | undefined => (random() < 0.5 ? make() : undefined);
    const word = (): string => pick(["", "a", "sha256:abc", "[stage 1/2] RUN x", "ünï €", "\n"]);
    const int = (): number => Math.floor(random() * 2 ** (random() < 0.5 ? 10 : 45));
    const time = () => ({ seconds: int(), nanos: Math.floor(random() * 1e9) });
    const many = <T>(make: () => T): T[] => Array.from({ length: Math.floor(random() * 3) }, make);
    const bytes = (): Uint8Array => Uint8Array.from(many(() => Math.floor(random() * 256)));
    for (let round = 0; round < 2000; round++) {
      const message = {
        vertexes: many(() => ({
          digest: word(),
          inputs: many(word),
          name: word(),
          cached: random() < 0.5,
          started: maybe(time),
          completed: maybe(time),
          error: word(),
          progressGroup: maybe(() => ({ id: word(), name: word(), weak: random() < 0.5 })),
        })),
        statuses: many(() => ({
          ID: word(),
          vertex: word(),
          name: word(),
          current: int(),
          total: int(),
          timestamp: maybe(time),
          started: maybe(time),
          completed: maybe(time),
        })),
        logs: many(() => ({ vertex: word(), timestamp: maybe(time), stream: int(), msg: bytes() })),
        warnings: many(() => ({
          vertex: word(),
          level: int(),
          short: new TextEncoder().encode(word()),
          detail: many(() => new TextEncoder().encode(word())),
          url: word(),
          info: maybe(() => ({
            filename: word(),
            data: new TextEncoder().encode(word()),
            definition: bytes(),
            language: word(),
          })),
          ranges: many(() => ({
            start: maybe(() => ({ line: int() % 1000, character: int() % 100 })),
            end: maybe(() => ({ line: int() % 1000, character: int() % 100 })),
          })),
        })),
      };
      const encoded = statusResponseType.encode(message).finish();
      const ours = decodeStatusResponse(encoded);
      const theirs = statusResponseType.toObject(statusResponseType.decode(encoded), {
        longs: Number,
        defaults: true,
      }) as typeof message;
      const millis = (t: { seconds: number; nanos: number } | undefined | null): number | null =>
        t === undefined || t === null ? null : t.seconds * 1000 + t.nanos / 1e6;
      expect(ours.vertexes).toEqual(
        theirs.vertexes.map((v) => ({
          digest: v.digest,
          inputs: v.inputs,
          name: v.name,
          cached: v.cached,
          started: millis(v.started),
          completed: millis(v.completed),
          error: v.error === "" ? null : v.error,
          progressGroup: v.progressGroup ?? null,
        })),
      );
      expect(ours.statuses).toEqual(
        theirs.statuses.map((s) => ({
          id: s.ID,
          vertex: s.vertex,
          name: s.name,
          current: s.current,
          total: s.total,
          timestamp: millis(s.timestamp),
          started: millis(s.started),
          completed: millis(s.completed),
        })),
      );
      expect(ours.logs.map((l) => ({ ...l, data: [...l.data] }))).toEqual(
        theirs.logs.map((l) => ({
          vertex: l.vertex,
          timestamp: millis(l.timestamp),
          stream: l.stream,
          data: [...l.msg],
        })),
      );
      const utf8 = new TextDecoder();
      expect(ours.warnings).toEqual(
        theirs.warnings.map((w) => ({
          vertex: w.vertex,
          level: w.level,
          short: utf8.decode(w.short),
          detail: w.detail.map((d) => utf8.decode(d)),
          url: w.url,
          // protobufjs writes an absent message as null with `defaults`.
          info: [w.info ?? null].map((info) =>
            info === null
              ? null
              : {
                  filename: info.filename,
                  data: utf8.decode(info.data),
                  definition: Buffer.from(info.definition).toString("base64"),
                  language: info.language,
                },
          )[0],
          ranges: w.ranges.map((r) => ({
            start: { line: r.start?.line ?? 0, character: r.start?.character ?? 0 },
            end: { line: r.end?.line ?? 0, character: r.end?.character ?? 0 },
          })),
        })),
      );
    }
  });
});

describe("decodeBase64", () => {
  it("decodes padded and unpadded base64 like Go's encoding/json writes it", () => {
    expect(new TextDecoder().decode(decodeBase64("aGVsbG8="))).toBe("hello");
    expect(new TextDecoder().decode(decodeBase64("aGVsbG8h"))).toBe("hello!");
    expect(decodeBase64("")).toHaveLength(0);
  });

  it("matches Buffer on every length and byte value, and refuses other text", () => {
    for (let length = 0; length < 300; length++) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 37 + length) % 256);
      const encoded = Buffer.from(bytes).toString("base64");
      expect([...decodeBase64(encoded)]).toEqual([...bytes]);
    }
    expect(() => decodeBase64("aGV*bG8=")).toThrow("invalid base64 at offset 3");
  });
});

describe("parseDaemonLine", () => {
  it("classifies the line kinds of a /build stream", () => {
    expect(parseDaemonLine('{"id":"moby.image.id","aux":{"ID":"sha256:abc"}}')).toEqual({
      kind: "image-id",
      imageId: "sha256:abc",
    });
    expect(parseDaemonLine('{"stream":"Successfully tagged x:y\\n"}')).toEqual({
      kind: "stream",
      text: "Successfully tagged x:y\n",
    });
    expect(
      parseDaemonLine('{"errorDetail":{"message":"context canceled"},"error":"context canceled"}'),
    ).toEqual({ kind: "error", message: "context canceled", code: null });
    expect(
      parseDaemonLine('{"errorDetail":{"code":3,"message":"returned 3"},"error":"x"}'),
    ).toEqual({ kind: "error", message: "returned 3", code: 3 });
  });

  it("never throws: blank lines are undefined, anything else unknown", () => {
    expect(parseDaemonLine("")).toBeUndefined();
    expect(parseDaemonLine("  \r")).toBeUndefined();
    expect(parseDaemonLine("not json")).toMatchObject({ kind: "unknown", reason: "not JSON" });
    expect(parseDaemonLine("[1,2]")).toMatchObject({ kind: "unknown" });
    expect(parseDaemonLine('{"aux":{"ID":"sha256:legacy"}}')).toMatchObject({ kind: "unknown" });
    expect(parseDaemonLine('{"id":"moby.buildkit.trace","aux":42}')).toMatchObject({
      kind: "unknown",
    });
    // 0x0a as a field tag with a truncated length: not a valid StatusResponse.
    const broken = parseDaemonLine('{"id":"moby.buildkit.trace","aux":"Cv8="}');
    expect(broken?.kind).toBe("unknown");
    expect(broken?.kind === "unknown" ? broken.reason : "").toMatch(/^undecodable trace/);
  });
});

describe("createLineSplitter", () => {
  it("splits on \\r\\n across chunk boundaries, including inside a UTF-8 character", () => {
    const bytes = new TextEncoder().encode(
      '{"stream":"€1"}\r\n{"stream":"2"}\r\n\r\n{"stream":"3"}',
    );
    for (const size of [1, 2, 3, 5, 100]) {
      expect(splitAll(bytes, size)).toEqual([
        '{"stream":"€1"}',
        '{"stream":"2"}',
        '{"stream":"3"}',
      ]);
    }
  });

  it("accepts text chunks too", () => {
    const splitter = createLineSplitter();
    expect(splitter.push("a\r")).toEqual([]);
    expect(splitter.push("\nb")).toEqual(["a"]);
    expect(splitter.push("c\n")).toEqual(["bc"]);
    expect(splitter.end()).toEqual([]);
  });
});

// The protobuf wire format, read and written by hand where a general-purpose library costs more than
// the work: the daemon's StatusResponse (decoded for every progress message; protobufjs's start-up
// alone was longer than a cached build) and fsutil's FileSync packets (5,000 STATs of a context were
// ~30 ms through protobufjs). The gRPC services of the session keep protobufjs (session-protos.ts).
// https://protobuf.dev/programming-guides/encoding/

const utf8 = new TextDecoder();

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** A cursor over protobuf bytes; every read checks the bounds and throws on malformed input. */
export class WireReader {
  readonly #bytes: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#at >= this.#end;
  }

  /** A varint as a number: exact below 2^53, int64 negatives as their (approximate) value. */
  varint(): number {
    let low = 0;
    let high = 0;
    let shift = 0;
    for (let index = 0; index < 10; index++) {
      if (this.#at >= this.#end) throw new Error("truncated varint");
      const byte = this.#bytes[this.#at++] ?? 0;
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high = (byte & 0x7f) >>> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) {
        // `high` holds bits 32-63; bit 63 set means a negative int64.
        return (high | 0) * 4294967296 + (low >>> 0);
      }
      shift += 7;
    }
    throw new Error("varint longer than 10 bytes");
  }

  /** The next field's number and wire type, or undefined at the end. */
  tag(): { field: number; wire: number } | undefined {
    if (this.done) return undefined;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new Error("field number 0");
    return { field, wire: key % 8 };
  }

  /** A length-delimited field's bounds, as a reader of its own. */
  nested(): WireReader {
    const length = this.varint();
    const start = this.#at;
    if (length < 0 || start + length > this.#end) throw new Error("length beyond the message");
    this.#at = start + length;
    return new WireReader(this.#bytes, start, start + length);
  }

  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.#at;
    if (length < 0 || start + length > this.#end) throw new Error("length beyond the message");
    this.#at = start + length;
    return this.#bytes.subarray(start, start + length);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.#advance(8);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.#advance(4);
        return;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
  }

  #advance(count: number): void {
    if (this.#at + count > this.#end) throw new Error("truncated field");
    this.#at += count;
  }
}

/**
 * Walks a message's fields: `read` handles the ones it knows (by number, with the wire type it
 * expects) and returns true; the rest, and known numbers with another wire type, are skipped.
 */
export function eachField(
  reader: WireReader,
  read: (field: number, wire: number, reader: WireReader) => boolean,
): void {
  for (let tag = reader.tag(); tag !== undefined; tag = reader.tag()) {
    if (!read(tag.field, tag.wire, reader)) reader.skip(tag.wire);
  }
}

/** Writes protobuf bytes into a buffer that grows as needed. */

export class WireWriter {
  #bytes: Uint8Array;
  #at = 0;

  constructor(capacity: number) {
    this.#bytes = new Uint8Array(capacity);
  }

  #reserve(count: number): void {
    if (this.#at + count <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + count));
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
  }

  /** An unsigned varint below 2^53, or an int64 as a bigint (negatives as ten bytes). */
  varint(value: number | bigint): void {
    this.#reserve(10);
    if (typeof value === "number" && value >= 0 && value <= 0xffffffff) {
      let rest = value >>> 0;
      while (rest > 0x7f) {
        this.#bytes[this.#at++] = (rest & 0x7f) | 0x80;
        rest >>>= 7;
      }
      this.#bytes[this.#at++] = rest;
      return;
    }
    let rest = BigInt.asUintN(64, BigInt(value));
    while (rest > 0x7fn) {
      this.#bytes[this.#at++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.#bytes[this.#at++] = Number(rest);
  }

  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, value: Uint8Array): void {
    this.key(field, WIRE_BYTES);
    this.varint(value.length);
    this.#reserve(value.length);
    this.#bytes.set(value, this.#at);
    this.#at += value.length;
  }

  /** A nested message, written by `write` into a writer of its own and copied in with its length. */
  message(field: number, write: (writer: WireWriter) => void): void {
    const nested = new WireWriter(64);
    write(nested);
    this.bytes(field, nested.finish());
  }

  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#at);
  }
}

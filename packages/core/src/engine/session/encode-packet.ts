import { encodePath } from "../../context/context-path.js";
import type { Packet, Stat } from "./session-protos.js";

// fsutil `types/wire.proto` Packet (type 1, stat 2, ID 3, data 4) and `types/stat.proto` Stat
// (path 1, mode 2, uid 3, gid 4, size 5, modTime 6, linkname 7, devmajor 8, devminor 9,
// xattrs 10 as map<string, bytes>), written straight to bytes. A FileSync of a 5,000-file context
// sends 5,000 STAT packets; through protobufjs's `fromObject` + `encode` that was ~30 ms of CPU.
// Fields holding their proto3 default are left out, as proto3 encoders do.

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const utf8 = new TextEncoder();

class ByteWriter {
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
  message(field: number, write: (writer: ByteWriter) => void): void {
    const nested = new ByteWriter(64);
    write(nested);
    this.bytes(field, nested.finish());
  }

  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#at);
  }
}

function writeVarintField(writer: ByteWriter, field: number, value: number | bigint): void {
  if (value === 0 || value === 0n) return;
  writer.key(field, WIRE_VARINT);
  writer.varint(value);
}

function writeStringField(writer: ByteWriter, field: number, value: string): void {
  if (value !== "") writer.bytes(field, utf8.encode(value));
}

/** An int64 given as a number, a decimal string (nanoseconds beyond 2^53) or a bigint. */
function toInt64(value: number | string | bigint): number | bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`int64 ${value} is not an integer`);
    return value;
  }
  return BigInt(value);
}

/** A path field: its bytes, which need not be UTF-8 (the daemon takes them so from buildx too). */
function writePathField(writer: ByteWriter, field: number, value: string): void {
  if (value !== "") writer.bytes(field, encodePath(value));
}

function writeStat(writer: ByteWriter, stat: Stat): void {
  writePathField(writer, 1, stat.path);
  writeVarintField(writer, 2, stat.mode >>> 0);
  writeVarintField(writer, 3, stat.uid >>> 0);
  writeVarintField(writer, 4, stat.gid >>> 0);
  writeVarintField(writer, 5, toInt64(stat.size));
  writeVarintField(writer, 6, toInt64(stat.modTime));
  writePathField(writer, 7, stat.linkname);
  writeVarintField(writer, 8, toInt64(stat.devmajor));
  writeVarintField(writer, 9, toInt64(stat.devminor));
  for (const [name, value] of Object.entries(stat.xattrs)) {
    writer.message(10, (entry) => {
      writeStringField(entry, 1, name);
      if (value.length > 0) entry.bytes(2, value);
    });
  }
}

/** Encodes an fsutil Packet as protobuf bytes (what `Packet` means in session-protos.ts). */
export function encodePacket(packet: Packet): Buffer {
  const writer = new ByteWriter(96 + packet.data.length + (packet.stat?.path.length ?? 0) * 3);
  writeVarintField(writer, 1, packet.type);
  const stat = packet.stat;
  if (stat !== undefined && stat !== null) {
    writer.message(2, (nested) => {
      writeStat(nested, stat);
    });
  }
  writeVarintField(writer, 3, packet.ID >>> 0);
  if (packet.data.length > 0) writer.bytes(4, packet.data);
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

import { describe, expect, it } from "vitest";
import { encodePacket } from "./encode-packet.js";
import { PacketType, packetType, services, type Packet } from "./session-protos.js";

// Generated inputs: an explicit, generous limit, so that a loaded machine cannot trip vitest's
// 5 s default (these take 1-4 s on a busy 2-core machine).
const TIMEOUT_MS = 60_000;

// protobufjs, with the schema the session has always used, reads what encodePacket writes.
const decode = (bytes: Buffer): Packet => services.fileSync.DiffCopy.requestDeserialize(bytes);

describe("encodePacket", { timeout: TIMEOUT_MS }, () => {
  it("writes a STAT the way protobufjs reads it, nanosecond times and large sizes included", () => {
    const stat = {
      path: "dir/ünïcode €.txt",
      mode: (0x80000000 | 0o755) >>> 0,
      uid: 1000,
      gid: 1000,
      size: 2 ** 40 + 5,
      modTime: "1795328340203123456",
      linkname: "../target",
      devmajor: 0,
      devminor: 0,
      xattrs: { "user.note": Uint8Array.from([1, 2, 3]), "user.empty": new Uint8Array() },
    };
    const decoded = decode(
      encodePacket({ type: PacketType.STAT, stat, ID: 0, data: new Uint8Array() }),
    );
    expect(decoded.type).toBe(PacketType.STAT);
    expect(decoded.ID).toBe(0);
    expect(decoded.stat).toMatchObject({
      path: stat.path,
      mode: stat.mode,
      uid: 1000,
      gid: 1000,
      size: 2 ** 40 + 5,
      linkname: "../target",
    });
    // protobufjs hands int64 back as a number, which cannot hold every nanosecond.
    expect(BigInt(Math.round(Number(decoded.stat?.modTime)))).toBeGreaterThan(1795328340203123000n);
    expect(Object.keys(decoded.stat?.xattrs ?? {}).sort()).toEqual(["user.empty", "user.note"]);
    expect([...(decoded.stat?.xattrs["user.note"] ?? [])]).toEqual([1, 2, 3]);
  });

  it("agrees with protobufjs's own encoder on 1,000 random packets", () => {
    let seed = 11;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const serialize = (packet: Packet): Buffer =>
      Buffer.from(packetType.encode(packetType.fromObject(packet)).finish());
    for (let round = 0; round < 1000; round++) {
      const withStat = random() < 0.6;
      const packet: Packet = {
        type: pick([0, 1, 2, 3, 4]),
        ID: pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1]),
        data: Uint8Array.from({ length: pick([0, 1, 200]) }, () => Math.floor(random() * 256)),
        ...(withStat
          ? {
              stat: {
                path: pick(["", "a", "dir/file.bin", "ü/€/😀"]),
                mode: pick([0, 0o644, 0x80000000 | 0o755, 0xffffffff]),
                uid: pick([0, 1, 65534]),
                gid: pick([0, 1, 65534]),
                size: pick([0, 1, 10_240, 2 ** 33]),
                modTime: pick([0, "0", "1795328340203123456", 1_700_000_000_000_000]),
                linkname: pick(["", "target", "../x/ÿ"]),
                devmajor: pick([0, 8]),
                devminor: pick([0, 1]),
                xattrs: pick([{}, { a: Uint8Array.from([9]) }]),
              },
            }
          : {}),
      };
      // Different bytes are allowed (protobufjs writes zero values, we leave them out); what
      // the daemon reads must be the same.
      expect(decode(encodePacket(packet))).toEqual(decode(serialize(packet)));
    }
  });

  it("refuses an int64 that is not an integer instead of writing garbage", () => {
    expect(() =>
      encodePacket({
        type: PacketType.STAT,
        ID: 0,
        data: new Uint8Array(),
        stat: {
          path: "x",
          mode: 0,
          uid: 0,
          gid: 0,
          size: 1.5,
          modTime: 0,
          linkname: "",
          devmajor: 0,
          devminor: 0,
          xattrs: {},
        },
      }),
    ).toThrow(RangeError);
  });
});

import { describe, expect, it } from "vitest";

import { decodeName, encodePath, hasRawBytes, toFsPath } from "./context-path.js";

describe("context paths", () => {
  it("reads UTF-8 names as they are", () => {
    const name = Buffer.from("héllo-😀.txt");
    expect(decodeName(name)).toBe("héllo-😀.txt");
    expect(hasRawBytes("héllo-😀.txt")).toBe(false);
    expect(encodePath("héllo-😀.txt")).toEqual(name);
    expect(toFsPath("/ctx/héllo")).toBe("/ctx/héllo");
    // A name may start with a byte-order mark; it stays part of the name.
    expect(decodeName(Buffer.from("\ufeffname"))).toBe("\ufeffname");
  });

  it("keeps every byte of a name that is not UTF-8, and gives it back", () => {
    const names = [
      Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x74]), // a lone 0xff
      Buffer.from([0x6e, 0xe9, 0x65]), // latin-1 "née"
      Buffer.from([0xe2, 0x82]), // a cut-off three-byte sequence
      Buffer.from([0xc0, 0xaf]), // an overlong "/"
      Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate in UTF-8
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
      Buffer.from([0xf0, 0x90, 0x80, 0x80, 0xff]), // U+10000, then a bad byte
    ];
    for (const name of names) {
      const path = decodeName(name);
      expect(hasRawBytes(path), name.toString("hex")).toBe(true);
      expect(encodePath(path), name.toString("hex")).toEqual(name);
      expect(toFsPath(`/ctx/${path}`)).toEqual(Buffer.concat([Buffer.from("/ctx/"), name]));
    }
    // One escaped character per bad byte, so "?" matches one byte, as Go's RuneError does.
    expect(Array.from(decodeName(Buffer.from([0x61, 0xe2, 0x82, 0x62])))).toHaveLength(4);
  });

  it("does not take the low half of a valid surrogate pair for an escaped byte", () => {
    // U+10080 is the pair D800 DC80: a real character, not the byte 0x80.
    const path = String.fromCodePoint(0x10080);
    expect(hasRawBytes(path)).toBe(false);
    expect(encodePath(path)).toEqual(Buffer.from(path));
  });
});

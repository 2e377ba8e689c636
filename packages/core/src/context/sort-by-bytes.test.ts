import { describe, expect, it } from "vitest";
import { sortByBytes } from "./sort-by-bytes.js";

describe("sortByBytes", () => {
  it("orders ASCII names as Go does (upper case before lower, dot and dash before letters)", () => {
    expect(sortByBytes(["b", "B", "a.txt", "a-b", "a", "_x", "10", "9"])).toEqual([
      "10",
      "9",
      "B",
      "_x",
      "a",
      "a-b",
      "a.txt",
      "b",
    ]);
  });

  it("orders by UTF-8 bytes where UTF-16 order differs (astral characters after U+FFFD)", () => {
    const names = ["\u{1F600}", "\uFFFD", "z", "\u00E9"];
    // UTF-16: U+1F600 is a surrogate pair (0xD83D…) and sorts before U+FFFD; in UTF-8 it is after.
    expect([...names].sort()).toEqual(["z", "\u00E9", "\u{1F600}", "\uFFFD"]);
    expect(sortByBytes(names)).toEqual(["z", "\u00E9", "\uFFFD", "\u{1F600}"]);
  });

  it("agrees with a byte-wise comparison on random names", () => {
    const alphabet = ["a", "Z", ".", "-", "0", "é", "€", "\u{1F600}", "\uFFFD", "_"];
    let seed = 3;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 200; round++) {
      const names = Array.from({ length: 20 }, () =>
        Array.from(
          { length: 1 + Math.floor(random() * 4) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join(""),
      );
      const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(sortByBytes(names)).toEqual(expected);
    }
  });
});

import { describe, expect, it } from "vitest";
import { unionMs } from "./union-ms.js";

describe("unionMs", () => {
  it("counts overlapping and nested intervals once, in any order", () => {
    expect(unionMs([])).toBe(0);
    expect(unionMs([[10, 20]])).toBe(10);
    expect(
      unionMs([
        [30, 40],
        [10, 20],
        [15, 25],
        [16, 18],
      ]),
    ).toBe(25);
  });
});

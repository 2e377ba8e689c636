import { describe, expect, it } from "vitest";
import { formatDuration } from "./format-duration.js";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [-5, "0 ms"],
    [450, "450 ms"],
    [999.6, "1.0 s"],
    [1_300, "1.3 s"],
    [12_340, "12.3 s"],
    [59_960, "1 min 00 s"],
    [125_000, "2 min 05 s"],
    [3_599_600, "1 h 00 min"],
    [3_720_000, "1 h 02 min"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

import { describe, expect, it } from "vitest";
import { formatBytes } from "./format-bytes.js";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [999, "999 B"],
    [1000, "1.0 kB"],
    [48_213_000, "48.2 MB"],
    [1_100_000_000, "1.1 GB"],
    [999_960, "1.0 MB"],
    [-2_500_000, "-2.5 MB"],
    [Number.NaN, "? B"],
  ])("formats %d as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

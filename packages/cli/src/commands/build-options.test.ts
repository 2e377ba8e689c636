import { describe, expect, it } from "vitest";
import { parseSize, sizeBudgetOption } from "./build-options.js";

describe("parseSize", () => {
  it("reads decimal and binary units, and plain bytes", () => {
    expect(parseSize("50MB")).toBe(50_000_000);
    expect(parseSize("1.2GiB")).toBe(Math.round(1.2 * 2 ** 30));
    expect(parseSize("700 kB")).toBe(700_000);
    expect(parseSize("512")).toBe(512);
    expect(parseSize("3mib")).toBe(3 * 2 ** 20);
  });

  it("refuses what is not a size", () => {
    for (const text of ["", "MB", "-5MB", "5 parsecs", "0", "1.2.3GB"]) {
      expect(parseSize(text), text).toBeUndefined();
    }
  });
});

describe("sizeBudgetOption", () => {
  it("gives bytes per lower-cased target, the last value of a repeated target winning", () => {
    expect(sizeBudgetOption(["App=50MB", "test=1GB", "app=40MB"])).toEqual({
      app: 40_000_000,
      test: 1_000_000_000,
    });
    expect(sizeBudgetOption([])).toBeUndefined();
  });
});

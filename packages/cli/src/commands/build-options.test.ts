import { describe, expect, it } from "vitest";
import { UsageError } from "@stagecraft/core";
import { parseCommandLine } from "../parse-command-line.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import {
  BUILD_OPTIONS,
  needsControlApi,
  parseSize,
  readBuildFlags,
  sizeBudgetOption,
} from "./build-options.js";

const flagsOf = (argv: readonly string[]) => {
  const { values, positionals } = parseCommandLine("build", argv, BUILD_OPTIONS);
  return readBuildFlags(values, positionals, createMemoryIo());
};

describe("--pin-bases / --no-pin-bases", () => {
  it("reads a mirror, off, or the default", () => {
    expect(flagsOf(["--pin-bases", "127.0.0.1:5000/stagecraft-bases/"]).pinBases).toBe(
      "127.0.0.1:5000/stagecraft-bases",
    );
    expect(flagsOf(["--no-pin-bases"]).pinBases).toBe(false);
    expect(flagsOf([]).pinBases).toBeUndefined();
  });

  it("refuses a mirror without a registry host, with a tag, or both flags", () => {
    for (const [argv, says] of [
      [["--pin-bases", "stagecraft-bases"], "it names no registry host"],
      [["--pin-bases", "127.0.0.1:5000/bases:1"], "a mirror takes no tag or digest"],
      [["--pin-bases", "127.0.0.1:5000/Bases"], "must be lowercase"],
      [["--pin-bases", "127.0.0.1:5000/b", "--no-pin-bases"], "exclude each other"],
    ] as const) {
      expect(() => flagsOf(argv), argv.join(" ")).toThrow(UsageError);
      expect(() => flagsOf(argv), argv.join(" ")).toThrow(says);
    }
  });
});

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

describe("--platform", () => {
  it("reads one platform, or a comma-separated list as docker does (the first one analysed)", () => {
    expect(flagsOf(["--platform", "linux/arm64"])).toMatchObject({
      platform: "linux/arm64",
      platforms: undefined,
    });
    expect(flagsOf(["--platform", "linux/amd64, linux/arm64,linux/amd64"])).toMatchObject({
      platform: "linux/amd64",
      platforms: ["linux/amd64", "linux/arm64"],
    });
    expect(flagsOf(["--platform", "linux/arm64,"])).toMatchObject({
      platform: "linux/arm64",
      platforms: undefined,
    });
    expect(() => flagsOf(["--platform", ","])).toThrow('--platform "," names no platform');
  });
});

describe("needsControlApi", () => {
  // The one rule for a build on one engine and over a pool (build-on-pool.ts used to leave out
  // all three, so a pool build with --platform a,b reached /build and was refused there).
  it("is true for named contexts, several platforms and a registry cache export", () => {
    expect(needsControlApi(flagsOf(["."]))).toBe(false);
    expect(needsControlApi(flagsOf([".", "--platform", "linux/amd64"]))).toBe(false);
    expect(needsControlApi(flagsOf([".", "--platform", "linux/amd64,linux/arm64"]))).toBe(true);
    expect(
      needsControlApi(flagsOf([".", "--build-context", "base=docker-image://stagecraft/busybox"])),
    ).toBe(true);
    expect(
      needsControlApi(flagsOf([".", "--cache-to", "type=registry,ref=127.0.0.1:5000/c:x"])),
    ).toBe(true);
    expect(needsControlApi(flagsOf([".", "--cache-to", "type=inline"]))).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import {
  formatPlatform,
  formatPlatformAll,
  parsePlatform,
  type Platform,
} from "./parse-platform.js";

function parsed(specifier: string, host?: Platform): string {
  const result = parsePlatform(specifier, host);
  if (!result.ok) throw new Error(result.message);
  return formatPlatformAll(result.platform);
}

describe("parsePlatform (containerd platforms.Parse)", () => {
  it.each([
    ["linux/amd64", "linux/amd64"],
    ["linux/x86_64", "linux/amd64"],
    ["Linux/AARCH64", "linux/arm64"],
    ["linux/arm64/v8", "linux/arm64/v8"],
    ["linux/arm64/8", "linux/arm64/v8"],
    ["linux/arm", "linux/arm"],
    ["linux/arm/7", "linux/arm/v7"],
    ["linux/armhf", "linux/arm"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["linux", "linux/amd64"],
    ["arm64", "linux/arm64"],
    ["macos/arm64", "darwin/arm64"],
    ["windows(10.0.17763+win32k)/amd64", "windows(10.0.17763+win32k)/amd64"],
  ])("%s → %s", (specifier, expected) => {
    expect(parsed(specifier)).toBe(expected);
  });

  it("fills a lone OS with the host's architecture", () => {
    const host: Platform = {
      os: "linux",
      architecture: "arm64",
      variant: "",
      osVersion: "",
      osFeatures: [],
    };
    expect(parsed("windows", host)).toBe("windows/arm64");
  });

  it.each([
    ["", '"" is an invalid OS component of "": OSAndVersion specifier component must match'],
    ["linux/*", '"linux/*": wildcards not yet supported: invalid argument'],
    ["bogus", '"bogus": unknown operating system or architecture: invalid argument'],
    [
      "linux/amd 64",
      '"amd 64" is an invalid component of "linux/amd 64": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument',
    ],
    ["a/b/c/d", '"a/b/c/d": cannot parse platform specifier: invalid argument'],
  ])("rejects %j", (specifier, message) => {
    const result = parsePlatform(specifier);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it("formats without the OS options in platforms.Format", () => {
    const result = parsePlatform("windows(10.0)/amd64");
    expect(result.ok && formatPlatform(result.platform)).toBe("windows/amd64");
  });
});

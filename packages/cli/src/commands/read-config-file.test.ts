import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "@stagecraft/core";
import { readProjectConfig } from "./read-config-file.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function contextWithConfig(text: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-config-"));
  dirs.push(dir);
  if (text !== undefined) {
    mkdirSync(join(dir, ".stagecraft"));
    writeFileSync(join(dir, ".stagecraft", "config.json"), text);
  }
  return dir;
}

describe("readProjectConfig", () => {
  it("reads max-size per target in bytes, target names lower-cased", () => {
    const dir = contextWithConfig(
      JSON.stringify({
        targets: { Runtime: { "max-size": "50MB" }, test: {}, big: { "max-size": "1.5GiB" } },
      }),
    );
    expect(readProjectConfig("/", dir).maxSizes).toEqual({
      runtime: 50_000_000,
      big: 1.5 * 1024 ** 3,
    });
  });

  it("is empty without a file", () => {
    expect(readProjectConfig("/", contextWithConfig(undefined))).toEqual({
      maxSizes: {},
      path: undefined,
    });
  });

  it("names the file and the key for what it cannot read", () => {
    const bad = contextWithConfig('{"targets": {"app": {"max-size": "fifty"}}}');
    expect(() => readProjectConfig("/", bad)).toThrow(UsageError);
    expect(() => readProjectConfig("/", bad)).toThrow(
      /config\.json: targets\.app\.max-size "fifty"/,
    );
    expect(() => readProjectConfig("/", contextWithConfig("{"))).toThrow(
      /config\.json is not JSON/,
    );
    expect(() => readProjectConfig("/", contextWithConfig('{"targets": []}'))).toThrow(
      /"targets" must be an object/,
    );
  });
});

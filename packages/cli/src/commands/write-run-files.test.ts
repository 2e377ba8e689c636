import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "@stagecraft/core";
import { afterEach, describe, expect, it } from "vitest";
import { checkWritableFile, writeWhole } from "./write-run-files.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-write-"));
  dirs.push(dir);
  return dir;
}

describe("checkWritableFile", () => {
  it("accepts a file in a writable directory and leaves nothing behind", () => {
    const dir = scratch();
    checkWritableFile("--report", join(dir, "report.json"));
    expect(readdirSync(dir)).toEqual([]);
  });

  // access() says yes to root in /proc; only creating the temporary file tells.
  it.each(["/proc/x", "/proc/self/x.json", "/sys/x"])("refuses %s, naming the flag", (path) => {
    let thrown: unknown;
    try {
      checkWritableFile("--metadata-file", path);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toMatch(/^--metadata-file: cannot (create a file|write) in /);
  });

  it("refuses a directory and a missing parent", () => {
    const dir = scratch();
    expect(() => {
      checkWritableFile("--report", dir);
    }).toThrow(/--report: .* is a directory/);
    expect(() => {
      checkWritableFile("--report", join(dir, "no", "r.json"));
    }).toThrow(/--report: the directory .* does not exist/);
  });
});

describe("writeWhole", () => {
  it("writes the file and leaves no temporary file", () => {
    const dir = scratch();
    writeWhole(join(dir, "out.json"), "{}\n");
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });
});

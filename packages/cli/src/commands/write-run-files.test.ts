import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError, type BuildOutcome } from "@stagecraft/core";
import { afterEach, describe, expect, it } from "vitest";
import { checkWritableFile, formatMetadata, writeWhole } from "./write-run-files.js";

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

describe("formatMetadata", () => {
  it("names images of succeeded targets only: a failed or cancelled one has no stale tag", () => {
    const outcome = {
      targets: [
        { name: "ok", status: "succeeded", imageId: "sha256:aa", tags: ["x/ok:1"] },
        { name: "bad", status: "failed", imageId: "sha256:bb", tags: ["x/bad:1"] },
        { name: "gone", status: "cancelled", imageId: undefined, tags: ["x/gone:1"] },
      ],
      report: { published: null },
    } as unknown as BuildOutcome;
    expect(JSON.parse(formatMetadata(outcome))).toEqual({
      ok: { "containerimage.config.digest": "sha256:aa", "image.name": "x/ok:1" },
    });
  });
});

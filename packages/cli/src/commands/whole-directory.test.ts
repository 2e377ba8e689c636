import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWholeDirectory } from "./whole-directory.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-whole-dir-"));
  dirs.push(dir);
  return dir;
}

/** Every file under `dir` with its text, and every directory (as `path/`), sorted. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const path = join(entry.parentPath, entry.name).slice(dir.length + 1);
      return entry.isDirectory() ? `${path}/` : `${path}=${readFileSync(join(dir, path), "utf8")}`;
    })
    .sort();
}

/** What a session would receive: a few files and a directory, into `dir`. */
function receive(dir: string): void {
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(join(dir, "etc", "passwd"), "new passwd");
  writeFileSync(join(dir, "app"), "new app");
}

describe("createWholeDirectory", () => {
  it("receives beside the destination and moves it in with one rename when it did not exist", () => {
    const dest = join(workspace(), "out");
    const directory = createWholeDirectory(dest);
    expect(directory.temporary).toBe(`${dest}.${process.pid}.tmp`);
    receive(directory.temporary);
    expect(readdirSync(join(dest, ".."))).toEqual([`out.${process.pid}.tmp`]);
    directory.settle(true);
    expect(tree(dest)).toEqual(["app=new app", "etc/", "etc/passwd=new passwd"]);
    expect(readdirSync(join(dest, ".."))).toEqual(["out"]);
  });

  it("merges into one that exists as docker does: exported entries replace, the others stay", () => {
    const dest = join(workspace(), "out");
    mkdirSync(join(dest, "etc"), { recursive: true });
    writeFileSync(join(dest, "etc", "passwd"), "old passwd");
    writeFileSync(join(dest, "etc", "mine"), "kept below");
    writeFileSync(join(dest, "extra"), "kept on top");
    // A file where the export has a directory, and the reverse: the exported kind wins.
    writeFileSync(join(dest, "lib"), "a file");
    mkdirSync(join(dest, "app", "deep"), { recursive: true });
    const directory = createWholeDirectory(dest);
    receive(directory.temporary);
    mkdirSync(join(directory.temporary, "lib"));
    writeFileSync(join(directory.temporary, "lib", "x.so"), "lib");
    directory.settle(true);
    expect(tree(dest)).toEqual([
      "app=new app",
      "etc/",
      "etc/mine=kept below",
      "etc/passwd=new passwd",
      "extra=kept on top",
      "lib/",
      "lib/x.so=lib",
    ]);
    expect(readdirSync(join(dest, ".."))).toEqual(["out"]);
  });

  it("leaves the destination as it was when the run failed, was cancelled or interrupted", () => {
    const root = workspace();
    const dest = join(root, "out");
    mkdirSync(dest);
    writeFileSync(join(dest, "app"), "old app");
    const directory = createWholeDirectory(dest);
    receive(directory.temporary);
    directory.settle(false);
    expect(tree(dest)).toEqual(["app=old app"]);
    expect(readdirSync(root)).toEqual(["out"]);

    const absent = join(root, "never");
    const other = createWholeDirectory(absent);
    receive(other.temporary);
    other.settle(false);
    expect(readdirSync(root)).toEqual(["out"]);
  });

  it("starts from an empty temporary directory, whatever an earlier process of this pid left", () => {
    const dest = join(workspace(), "out");
    mkdirSync(`${dest}.${process.pid}.tmp`);
    writeFileSync(join(`${dest}.${process.pid}.tmp`, "stale"), "stale");
    const directory = createWholeDirectory(dest);
    receive(directory.temporary);
    directory.settle(true);
    expect(tree(dest)).toEqual(["app=new app", "etc/", "etc/passwd=new passwd"]);
  });
});

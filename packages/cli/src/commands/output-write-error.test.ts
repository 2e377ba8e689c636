import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { StagecraftError, type TargetResult } from "@stagecraft/core";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";
import { errorToJson, reportError } from "../report-error.js";
import {
  explainOutputError,
  explainUnwrittenOutput,
  readSessionFlags,
  settleOutput,
} from "./read-session-flags.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function project() {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-output-"));
  dirs.push(dir);
  return { ...createMemoryIo(), cwd: dir } as ReturnType<typeof createMemoryIo>;
}

/** An error shaped as Node's fs raises it (errno, code, syscall, maybe path). */
function osError(code: "ENOSPC" | "EACCES" | "EROFS", syscall: string, path?: string) {
  const words = {
    ENOSPC: "no space left on device",
    EACCES: "permission denied",
    EROFS: "read-only file system",
  }[code];
  return Object.assign(new Error(`${code}: ${words}, ${syscall}`), {
    errno: -constants.errno[code],
    code,
    syscall,
    ...(path === undefined ? {} : { path }),
  });
}

function read(io: ReturnType<typeof createMemoryIo>, output: string) {
  const session = readSessionFlags(io, { secret: [], ssh: [], output }, 1);
  if (session?.output === undefined) throw new Error("no output read");
  return session;
}

describe("errors writing an -o export", () => {
  it("a full disk during a tar export: the flag, the path and the OS's words, exit 1, no file left", async () => {
    const io = project();
    const session = read(io, "type=tar,dest=out.tar");
    const output = session.output;
    if (output?.type !== "tar") throw new Error("not a tar output");
    const stream = output.open();
    stream.write("half a tar");
    // The session hands the stream's write error back as it came (its syscall is write, no path).
    const error = explainOutputError(session, osError("ENOSPC", "write"));
    stream.destroy();
    await once(stream, "close");
    settleOutput(session, false);

    expect(reportError(io, error)).toBe(1);
    const dest = join(io.cwd, "out.tar");
    expect(io.stderr.text()).toBe(
      `stagecraft: --output type=tar,dest=out.tar: cannot write ${dest}: no space left on device (ENOSPC); nothing was left at ${dest}\n` +
        "hint: Free space on that file system, or export to one with room for the result.\n",
    );
    expect(errorToJson(error)).toMatchObject({ code: "OUTPUT_WRITE" });
    expect(readdirSync(io.cwd)).toEqual([]);
  });

  it("a file inside a type=local dest that cannot be written, and a read-only mount, are named", () => {
    const io = project();
    const session = read(io, "type=local,dest=out");
    // The session writes into the temporary directory; the message says where the file was going.
    const received = join(io.cwd, `out.${process.pid}.tmp`, "etc", "passwd");
    const inside = join(io.cwd, "out", "etc", "passwd");
    expect(reportError(io, explainOutputError(session, osError("EACCES", "open", received)))).toBe(
      1,
    );
    expect(io.stderr.text()).toContain(
      `stagecraft: --output type=local,dest=out: cannot write ${inside}: permission denied (EACCES); ${join(io.cwd, "out")} was left as it was\n`,
    );
    expect(io.stderr.text()).toContain("hint: Make the destination writable");

    const readOnly = project();
    const tar = read(readOnly, "type=tar,dest=x.tar");
    const temporary = join(readOnly.cwd, `x.tar.${process.pid}.tmp`);
    expect(
      reportError(readOnly, explainOutputError(tar, osError("EROFS", "open", temporary))),
    ).toBe(1);
    expect(readOnly.stderr.text()).toContain(
      `cannot write ${join(readOnly.cwd, "x.tar")}: read-only file system (EROFS)`,
    );
    expect(readOnly.stderr.text()).not.toContain("this is a bug");
  });

  it("names the bake key of the one output of a run that failed, from its target's result", () => {
    const io = project();
    const name = 'target "big".output type=tar,dest=big.tar';
    const session = readSessionFlags(
      io,
      { secret: [], ssh: [], output: "type=tar,dest=big.tar" },
      1,
      name,
    );
    // The core's error of a target whose output could not be written: its code, the OS's error as cause.
    class CoreOutputWriteError extends StagecraftError {
      readonly code = "OUTPUT_WRITE";
    }
    const failed = new CoreOutputWriteError("the output could not be written", {
      cause: osError("ENOSPC", "write"),
    });
    const targets = [
      { name: "small", status: "succeeded", tags: [] },
      { name: "big", status: "failed", tags: [], error: failed },
    ] as TargetResult[];
    const error = explainUnwrittenOutput(session, targets);
    const dest = join(io.cwd, "big.tar");
    expect(error?.message).toBe(
      `${name}: cannot write ${dest}: no space left on device (ENOSPC); nothing was left at ${dest}`,
    );
    expect(explainUnwrittenOutput(session, targets.slice(0, 1))).toBeUndefined();
    settleOutput(session, false);
    expect(readdirSync(io.cwd)).toEqual([]);
  });

  it("leaves other errors as they are: not an OS error, or one about another file", () => {
    const io = project();
    const session = read(io, "type=tar,dest=out.tar");
    const plain = new Error("unexpected packet type 9");
    expect(explainOutputError(session, plain)).toBe(plain);
    const report = osError("EACCES", "open", join(io.cwd, "report.json"));
    expect(explainOutputError(session, report)).toBe(report);
    expect(explainOutputError(undefined, report)).toBe(report);
  });
});

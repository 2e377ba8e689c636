import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { UsageError, type RunBuildOptions, type TargetResult } from "@stagecraft/core";
import type { Io } from "../io.js";
import { checkWritableFile, createWholeFile, isDirectory, isWritable } from "./write-run-files.js";
import {
  parseOutputFlag,
  parseSecretFlag,
  parseSshFlag,
  resolveSecretSource,
} from "./parse-session-flags.js";
import { describeOutputWriteError, type OutputWriteError } from "./output-write-error.js";
import { createWholeDirectory } from "./whole-directory.js";

/** The 500 KB a BuildKit secret may hold (buildkit `secretsprovider.MaxSecretSize`). */
const MAX_SECRET_BYTES = 500 * 1024;

/** What `--secret`, `--ssh` and `-o` say, as the run's session options. */
export type SessionFlags = NonNullable<RunBuildOptions["session"]>;

/** An `--output`: it is told when the run is over whether to keep what it wrote. */
type OutputFlag = NonNullable<SessionFlags["output"]> & {
  readonly settle?: (keep: boolean) => void;
  /** An OS error met while writing the export, said with the flag and the path. */
  readonly explain: (error: unknown) => OutputWriteError | undefined;
};

/** The session of a run, as `readSessionFlags` reads it. */
export type RunSession = Omit<SessionFlags, "output"> & { output?: OutputFlag };

/**
 * Puts a `-o` tar or directory in place when the run succeeded, or throws its temporary file or
 * directory away (a cancelled or failed run leaves the destination as it was). Call once the run is over.
 */
export function settleOutput(session: RunSession | undefined, succeeded: boolean): void {
  session?.output?.settle?.(succeeded);
}

/**
 * `error` as the user should read it: an OS error from writing the export (ENOSPC, EACCES, EROFS)
 * names `--output` and the path; anything else is returned as it is.
 */
export function explainOutputError(session: RunSession | undefined, error: unknown): unknown {
  return session?.output?.explain(error) ?? error;
}

/**
 * The output of `targets` that could not be written (a target failed with `OUTPUT_WRITE`), said
 * with the flag or key that asked for it, the path and the OS's words; undefined when none failed so.
 */
export function explainUnwrittenOutput(
  session: RunSession | undefined,
  targets: readonly TargetResult[],
): OutputWriteError | undefined {
  const failed = targets.find((target) => target.error?.code === "OUTPUT_WRITE");
  return failed === undefined ? undefined : session?.output?.explain(failed.error);
}

/**
 * The run's session from `--secret`, `--ssh` and `--output`, every file and socket checked now,
 * before anything is built; undefined when none of them is given. Errors name the output
 * `outputName` (default `--output TEXT`; bake names its key, `target "app".output TEXT`).
 */
export function readSessionFlags(
  io: Io,
  flags: { secret: readonly string[]; ssh: readonly string[]; output: string | undefined },
  targetCount: number,
  outputName?: string,
): RunSession | undefined {
  if (flags.secret.length === 0 && flags.ssh.length === 0 && flags.output === undefined) {
    return undefined;
  }
  const secrets: Record<string, Uint8Array> = {};
  for (const text of flags.secret) {
    const flag = parseSecretFlag(text);
    secrets[flag.id] = readSecret(io, text, flag);
  }
  const ssh = flags.ssh.map((text) => readSshFlag(io, text));
  const output =
    flags.output === undefined
      ? undefined
      : readOutputFlag(io, flags.output, outputName ?? `--output ${flags.output}`, targetCount);
  return { secrets, ssh, ...(output === undefined ? {} : { output }) };
}

function readSecret(io: Io, text: string, flag: ReturnType<typeof parseSecretFlag>): Uint8Array {
  const source = resolveSecretSource(flag, io.env);
  if (source.kind === "env") {
    const value = io.env[source.name];
    if (value === undefined) {
      throw new UsageError(`--secret ${text}: the environment variable ${source.name} is not set`, {
        hint: `Export ${source.name}, or read the secret from a file with --secret id=${flag.id},src=FILE.`,
      });
    }
    return Buffer.from(value);
  }
  const path = resolve(io.cwd, source.path);
  try {
    if (statSync(path).size > MAX_SECRET_BYTES) {
      throw new UsageError(`--secret ${text}: ${path} is larger than 500 KB`, {
        hint: "BuildKit refuses secrets over 500 KB; mount a smaller file.",
      });
    }
    return readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--secret ${text}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      {
        hint:
          flag.file === undefined && flag.env === undefined
            ? `With only id=${flag.id}, the secret comes from the variable ${flag.id} or the file ${flag.id}; pass src=FILE or env=VARIABLE.`
            : "Check the path; it is relative to the current directory.",
      },
    );
  }
}

function readSshFlag(io: Io, text: string): { id: string; socket: string } {
  const flag = parseSshFlag(text);
  if (flag.paths.length > 1) {
    throw new UsageError(`--ssh ${text}: stagecraft forwards one agent socket per id`, {
      hint: `Write --ssh ${flag.id}=/path/to/agent.sock.`,
    });
  }
  const socket = flag.paths[0] ?? io.env.SSH_AUTH_SOCK;
  if (socket === undefined || socket === "") {
    throw new UsageError(
      `--ssh ${text}: SSH_AUTH_SOCK is not set, so there is no agent to forward`,
      {
        hint: 'Start an agent and add your key (eval "$(ssh-agent)"; ssh-add), or pass --ssh ID=/path/to/agent.sock.',
      },
    );
  }
  const path = resolve(io.cwd, socket.replace(/^~(?=\/)/, homedir()));
  let isSocket: boolean;
  try {
    isSocket = statSync(path).isSocket();
  } catch {
    throw new UsageError(`--ssh ${text}: ${path} does not exist`, {
      hint: "Pass the path of a running SSH agent's socket (its SSH_AUTH_SOCK).",
    });
  }
  if (!isSocket) {
    throw new UsageError(
      `--ssh ${text}: ${path} is not an agent socket; stagecraft forwards SSH agents, not key files`,
      {
        hint: `Load the key into an agent (ssh-add ${path}) and pass --ssh ${flag.id}, or --ssh ${flag.id}=/path/to/agent.sock.`,
      },
    );
  }
  return { id: flag.id, socket: path };
}

function readOutputFlag(io: Io, text: string, named: string, targetCount: number): OutputFlag {
  const flag = parseOutputFlag(text);
  if (targetCount > 1) {
    throw new UsageError(
      `--output works with one target at a time, and ${targetCount} were asked for`,
      {
        hint: "Run stagecraft build once per target you want to export.",
      },
    );
  }
  if (flag.type !== "tar" && flag.type !== "local") {
    throw new UsageError(`${named}: stagecraft exports type=tar and type=local, not ${flag.type}`, {
      hint: "Without --output, targets are built into the engine's image store; tag them with -t.",
    });
  }
  if (flag.dest === undefined || flag.dest === "") {
    throw new UsageError(`${named}: the output has no dest`, {
      hint:
        flag.type === "tar" ? "Write -o type=tar,dest=out.tar." : "Write -o type=local,dest=DIR.",
    });
  }
  if (flag.dest === "-") {
    throw new UsageError(`${named}: stagecraft cannot write the export to stdout`, {
      hint: "Progress and the report use stdout; write the tar to a file (-o type=tar,dest=out.tar).",
    });
  }
  const dest = resolve(io.cwd, flag.dest);
  const type = flag.type === "tar" ? "tar" : "local";
  if (flag.type === "tar") {
    const explain = (error: unknown): OutputWriteError | undefined =>
      describeOutputWriteError(named, type, dest, error);
    checkWritableFile(named, dest);
    const file = createWholeFile(dest);
    return {
      type: "tar",
      explain,
      open: () => file.open(),
      settle: (keep) => {
        file.settle(keep);
      },
    };
  }
  checkDirectoryDestination(named, dest);
  const directory = createWholeDirectory(dest);
  return {
    type: "local",
    dir: directory.temporary,
    explain: (error) => describeOutputWriteError(named, type, dest, error, directory.temporary),
    settle: (keep) => {
      directory.settle(keep);
    },
  };
}

/** A directory the export is written into: created when missing, but no path part may be a file. */
function checkDirectoryDestination(flag: string, path: string): void {
  let existing = path;
  while (!exists(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!isDirectory(existing)) {
    throw new UsageError(
      `${flag}: ${existing} is a file, so the directory ${path} cannot be made`,
      {
        hint: "Give type=local a directory (made when missing); write a tar to a file with type=tar.",
      },
    );
  }
  if (!isWritable(existing)) {
    throw new UsageError(`${flag}: cannot write in ${existing} (permission denied)`, {
      hint: "Export into a directory you can write to.",
    });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

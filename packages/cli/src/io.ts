import type { Engine } from "@stagecraft/core";

/** A writable text sink: process.stdout in production, a buffer in tests. */
export interface Output {
  write(text: string): void;
  /** True when this is an interactive terminal. */
  readonly isTTY: boolean;
  /** Terminal width in columns, when known. */
  readonly columns?: number | undefined;
}

/** Everything a command may touch of the outside world, so tests never mock `process`. */
export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted when the user interrupts (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /** The engine commands ask when set (tests pass a `FakeEngine`); otherwise found as the docker CLI finds it. */
  readonly engine?: Engine | undefined;
  /** A pool's engines by name, when set (tests pass `FakeEngine`s); otherwise from `--engine`. */
  readonly poolEngines?: Readonly<Record<string, Engine>> | undefined;
}

/** Exit codes: 0 success, 1 a build failed, 2 usage or Dockerfile error, 130 interrupted. */
export type ExitCode = 0 | 1 | 2 | 130;

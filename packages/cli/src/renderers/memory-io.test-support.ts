// An in-memory Io for renderer tests: everything written is kept, with the (fake) time it was written at.
import { FakeEngine } from "@stagecraft/core/testing";
import type { Io, Output } from "../io.js";

/** An Output that keeps what is written to it. */
export interface MemoryOutput extends Output {
  readonly writes: { time: number; text: string }[];
  /** Everything written so far, joined. */
  text(): string;
}

function createMemoryOutput(isTTY: boolean, columns: number | undefined): MemoryOutput {
  const writes: { time: number; text: string }[] = [];
  return {
    isTTY,
    columns,
    writes,
    write(text) {
      writes.push({ time: Date.now(), text });
    },
    text: () => writes.map((write) => write.text).join(""),
  };
}

/** An Io whose stdout and stderr keep their text; not a TTY unless asked. */
export function createMemoryIo(
  options: {
    isTTY?: boolean;
    columns?: number;
    env?: Record<string, string | undefined>;
    /** The engine commands ask (default: a FakeEngine with no images, so no test reaches the real socket). */
    engine?: Io["engine"];
    /** A pool's engines by name (default: a FakeEngine with no images for every name). */
    poolEngines?: Io["poolEngines"];
  } = {},
): Io & { stdout: MemoryOutput; stderr: MemoryOutput } {
  const isTTY = options.isTTY ?? false;
  return {
    stdout: createMemoryOutput(isTTY, options.columns),
    stderr: createMemoryOutput(isTTY, options.columns),
    env: options.env ?? {},
    cwd: "/work/demo",
    signal: new AbortController().signal,
    engine: options.engine ?? new FakeEngine(),
    poolEngines: options.poolEngines ?? anyName(new FakeEngine()),
  };
}

/** The same engine under every name. */
function anyName(engine: FakeEngine): NonNullable<Io["poolEngines"]> {
  return new Proxy({}, { get: (_target, key) => (typeof key === "string" ? engine : undefined) });
}

// Stage sizes measured by earlier runs, kept by a key that changes whenever the stage's image can:
// a cached build then needs no size probe (a probe costs an extra solve, export and image create;
// see docs/decisions/stage-sizes.md).
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type { BuildEvent } from "../events.js";

/** How many stage sizes the file keeps (the oldest measurements go first). */
const MAX_ENTRIES = 500;

interface MemoryFile {
  version: 1;
  entries: Record<string, { bytes: number; usedAt: number }>;
}

/**
 * What a run saw of each stage's steps: whether any of them ran, and the digests of its `FROM`
 * steps. BuildKit pins a base image to its digest in the `FROM` vertex, so that digest changes when
 * the base does; the digests of later steps are no key (a tar upload is a new source each time,
 * measured: every `COPY` from the context has a new digest on each build of examples/c-static).
 */
export interface StageSteps {
  fromDigests: Set<string>;
  /** A step other than `FROM` ran (BuildKit reports `FROM` as run even when it is cached). */
  ran: boolean;
}

/** Collects `StageSteps` per stage from a run's events. */
export function createStageStepsCollector(): {
  add(event: BuildEvent): void;
  readonly stages: ReadonlyMap<string, StageSteps>;
} {
  const stages = new Map<string, StageSteps>();
  return {
    stages,
    add(event) {
      if (
        event.type !== "step-cached" &&
        event.type !== "step-started" &&
        event.type !== "step-finished"
      ) {
        return;
      }
      const { step } = event;
      if (step.stage === null || step.kind !== "instruction") return;
      let entry = stages.get(step.stage);
      if (entry === undefined) {
        entry = { fromDigests: new Set(), ran: false };
        stages.set(step.stage, entry);
      }
      if (/^FROM\s/i.test(step.instruction)) entry.fromDigests.add(step.digest);
      else if (event.type !== "step-cached") entry.ran = true;
    },
  };
}

/**
 * The key a stage's size is remembered by: the engine, the stage, the build's Dockerfile input
 * (text, build args, platform), the context's fingerprint (a tar's SHA-256 or the walk of
 * `fingerprintContextDir`, and the named contexts) and the `FROM` digests of the stages it is
 * built from; undefined without a fingerprint. `changed` is true when a step of those stages ran in
 * this run: the cache then holds new results, so a remembered size is not used (but the probe's is
 * kept for the next run).
 */
export function stageSizeKey(parts: {
  stage: string;
  /** The stage and every stage it needs. */
  chain: readonly string[];
  steps: ReadonlyMap<string, StageSteps>;
  input: string;
  contextFingerprint: string | undefined;
  /** The engine's endpoint, version and platform: stores of different engines count differently. */
  engine: string;
}): { key: string; changed: boolean } | undefined {
  if (parts.contextFingerprint === undefined) return undefined;
  const seen = parts.chain.map((stage) => parts.steps.get(stage));
  const froms = seen.flatMap((steps) => [...(steps?.fromDigests ?? [])]).sort();
  const changed = chainRan(parts.chain, parts.steps);
  const key = createHash("sha256")
    .update(
      JSON.stringify([parts.engine, parts.stage, parts.input, parts.contextFingerprint, froms]),
    )
    .digest("hex");
  return { key, changed };
}

/**
 * Whether this run ran a step (other than `FROM`) of the stage or a stage it needs; a chain the
 * run saw nothing of counts as ran, since nothing says its result was already there.
 */
export function chainRan(
  chain: readonly string[],
  steps: ReadonlyMap<string, StageSteps>,
): boolean {
  const seen = chain.map((stage) => steps.get(stage));
  return seen.some((entry) => entry?.ran === true) || seen.every((entry) => entry === undefined);
}

/** SHA-256 of a context's tar stream. */
export async function fingerprintStream(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The remembered sizes in `file` for these keys; a missing or unreadable file remembers nothing. */
export async function recallStageSizes(
  file: string,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (keys.length === 0) return found;
  const memory = await readMemory(file);
  for (const key of keys) {
    const entry = memory.entries[key];
    if (entry !== undefined) found.set(key, entry.bytes);
  }
  return found;
}

/**
 * Adds sizes to `file`, keeping the `MAX_ENTRIES` measured last; written to a temporary file and
 * renamed, so a reader never sees half a file.
 */
export async function rememberStageSizes(
  file: string,
  sizes: ReadonlyMap<string, number>,
  now = Date.now(),
): Promise<void> {
  if (sizes.size === 0) return;
  const memory = await readMemory(file);
  for (const [key, bytes] of sizes) memory.entries[key] = { bytes, usedAt: now };
  const kept = Object.entries(memory.entries)
    .sort((a, b) => b[1].usedAt - a[1].usedAt)
    .slice(0, MAX_ENTRIES);
  const text = `${JSON.stringify({ version: 1, entries: Object.fromEntries(kept) })}\n`;
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

async function readMemory(file: string): Promise<MemoryFile> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as {
      version?: unknown;
      entries?: Record<string, { bytes?: unknown; usedAt?: unknown } | null> | null;
    } | null;
    if (parsed?.version === 1 && typeof parsed.entries === "object" && parsed.entries !== null) {
      const entries: MemoryFile["entries"] = {};
      for (const [key, entry] of Object.entries(parsed.entries)) {
        if (typeof entry?.bytes === "number" && typeof entry.usedAt === "number") {
          entries[key] = { bytes: entry.bytes, usedAt: entry.usedAt };
        }
      }
      return { version: 1, entries };
    }
  } catch {
    // Missing, unreadable or not ours: start afresh (the file is only a cache).
  }
  return { version: 1, entries: {} };
}

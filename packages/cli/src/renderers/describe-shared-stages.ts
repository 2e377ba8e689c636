import type { SharedStage } from "@stagecraft/core/pool";

// The pool's shared stages as the text lines, the HTML report and the Markdown summary all say
// them: one wording for a reader's pull, one sum of what moving them took.

/** One engine that read a shared stage, with what fetching it took when its builds said. */
export interface SharedStageRead {
  readonly engine: string;
  /** Undefined when its builds never said (an engine whose stream carries no statuses). */
  readonly pull: { readonly pullMs: number; readonly bytes: number } | undefined;
}

/** What moving the shared stages took, pushes and pulls summed; undefined when none travelled. */
export interface SharedStageTotals {
  readonly pushedBytes: number;
  readonly pushMs: number;
  readonly pulledBytes: number;
  readonly pullMs: number;
  readonly pulls: number;
}

/** The engines that read a shared stage, in the placement's order, then those it did not name. */
export function listSharedStageReads(entry: SharedStage): SharedStageRead[] {
  // A target that moved may have taken the stage to an engine the placement did not name.
  return [...new Set([...entry.to, ...entry.readers.map((reader) => reader.engine)])].map(
    (engine) => {
      const reader = entry.readers.find((candidate) => candidate.engine === engine);
      return {
        engine,
        pull: reader === undefined ? undefined : { pullMs: reader.pullMs, bytes: reader.bytes },
      };
    },
  );
}

/** `pulled 4.1 MB in 0.3 s`, or `had its layers, 0.2 s` for a reader that fetched no bytes. */
export function describePull(pull: NonNullable<SharedStageRead["pull"]>): string {
  return pull.bytes === 0
    ? `had its layers, ${formatSeconds(pull.pullMs)}`
    : `pulled ${formatMegabytes(pull.bytes)} in ${formatSeconds(pull.pullMs)}`;
}

/** A reader as the reports list it: `two (pulled 4.1 MB in 0.3 s)`, or its name alone. */
export function describeRead(read: SharedStageRead): string {
  return read.pull === undefined ? read.engine : `${read.engine} (${describePull(read.pull)})`;
}

/** The pushes and pulls of every shared stage that travelled, summed. */
export function sumSharedStageMoves(shared: readonly SharedStage[]): SharedStageTotals | undefined {
  const travelled = shared.filter((entry) => entry.reference !== undefined);
  if (travelled.length === 0) return undefined;
  const readers = travelled.flatMap((entry) => entry.readers);
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
  return {
    pushedBytes: sum(travelled.map((entry) => entry.bytes)),
    pushMs: sum(travelled.map((entry) => entry.pushMs)),
    pulledBytes: sum(readers.map((reader) => reader.bytes)),
    pullMs: sum(readers.map((reader) => reader.pullMs)),
    pulls: readers.length,
  };
}

/** `pushed 4.0 MB in 0.8 s, pulled 4.1 MB in 0.6 s (2 pulls)`. */
export function describeSharedStageMoves(totals: SharedStageTotals): string {
  return (
    `pushed ${formatMegabytes(totals.pushedBytes)} in ${formatSeconds(totals.pushMs)}, pulled ` +
    `${formatMegabytes(totals.pulledBytes)} in ${formatSeconds(totals.pullMs)} (${totals.pulls} ` +
    `${totals.pulls === 1 ? "pull" : "pulls"})`
  );
}

/** Milliseconds as `4.2 s`, as the pool's lines give every time. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes as `4.0 MB` (decimal megabytes), as the pool's lines give every size. */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

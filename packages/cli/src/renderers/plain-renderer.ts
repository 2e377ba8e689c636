import type { BuildEvent, BuildReport } from "@stagecraft/core";
import { describeCancel, describeQuiet } from "./describe-cancel.js";
import { createReportBuilder, formatBytes } from "@stagecraft/core/report";
import type { StepInfo } from "@stagecraft/core/progress";
import { describeWaiting } from "./describe-waiting.js";
import { formatDuration } from "./format-duration.js";
import { createColors } from "./colors.js";
import type { Renderer, RendererContext } from "./create-renderer.js";
import { dockerfileOf, formatReport, shortImageId } from "./format-report.js";
import { sanitizeLine } from "./sanitize-line.js";

/** A line of plain output, and the target it belongs to (null for the run's own lines). */
export interface PlainLine {
  target: string | null;
  text: string;
}

/** Turns events into timestamped log lines; keeps the run's start time to stamp them with. */
export interface PlainFormatter {
  format(event: BuildEvent): PlainLine[];
}

/**
 * One line per event worth seeing, stamped with the time since the run started and prefixed with
 * target and stage: `[  3.2s] app › build  RUN make`, `[  3.4s] app › build  | compiling…`; over a
 * pool with the engine first: `[  3.2s] p1 │ app › build  RUN make`.
 */
export function createPlainFormatter(options: {
  color: boolean;
  dockerfile: string;
  dockerfiles?: Readonly<Record<string, string>> | undefined;
}): PlainFormatter {
  const c = createColors(options.color);
  let startedAt: number | null = null;
  // The report's numbers from the same events: who a stage is built for, what is building now.
  const numbers = createReportBuilder();
  const startedTargets: string[] = [];
  /** Targets that have a step of their own: they are no longer only waiting. */
  const active = new Set<string>();
  const saidWaiting = new Map<string, string>();
  /** Steps printed, by the report's step identity, with the digest that started them. */
  const printed = new Map<string, string | null>();
  const stepKey = (info: StepInfo): string =>
    info.kind === "instruction" && info.stage !== null && info.index !== null
      ? `${info.stage}\u0000${info.index}`
      : `${info.stage ?? ""}\u0000${info.instruction}`;

  /** A line for each started target blocked behind a stage another target is building, once per change. */
  const waitingLines = (event: BuildEvent): PlainLine[] => {
    const report = numbers.finish();
    const lines: PlainLine[] = [];
    for (const target of startedTargets) {
      if (active.has(target)) continue;
      const waiting = describeWaiting(report, target);
      if (waiting === null || saidWaiting.get(target) === waiting) continue;
      saidWaiting.set(target, waiting);
      lines.push(line(event, target, null, c.dim(waiting)));
    }
    return lines;
  };

  const line = (
    event: BuildEvent,
    target: string | null,
    stage: string | null,
    text: string,
  ): PlainLine => {
    startedAt ??= event.time;
    // The daemon stamps some cached vertices (`FROM`) with the time they were first made: never
    // print a time before the run began.
    const seconds = `${(Math.max(0, event.time - startedAt) / 1000).toFixed(1)}s`.padStart(6);
    // Over a pool, which engine builds it: `[  3.2s] p1 │ app › build  RUN make`.
    // (`run-started` has an `engine` too: the endpoint it describes, not a name.)
    const engine = "target" in event && event.engine !== undefined ? `${event.engine} │ ` : "";
    const prefix =
      target === null
        ? ""
        : `${c.dim(engine)}${c.cyan(stage === null ? target : `${target} › ${stage}`)}  `;
    return { target, text: `${c.dim(`[${seconds}]`)} ${prefix}${text}` };
  };

  return {
    format(event) {
      numbers.add(event);
      if (
        (event.type === "step-started" || event.type === "step-cached") &&
        event.step.kind !== "internal"
      ) {
        active.add(event.target);
      }
      const lines = formatEvent(event);
      return event.type === "target-started" || event.type === "step-started"
        ? [...lines, ...waitingLines(event)]
        : lines;
    },
  };

  /** A pool's shared stage's lines: `[  3.2s] p1 │ deps (shared)  …`, on the engine that built it. */
  function sharedPrefix(event: { engine: string; stage: string }): string {
    return `${c.dim(`${sanitizeLine(event.engine)} │ `)}${c.cyan(`${sanitizeLine(event.stage)} (shared)`)}  `;
  }

  function formatEvent(event: BuildEvent): PlainLine[] {
    switch (event.type) {
      case "run-started": {
        startedAt = event.time;
        const noun = event.targets.length === 1 ? "target" : "targets";
        // A standalone buildkitd answers with its BuildKit version (`BuildkitEngine.info`).
        const product = event.engine.apiVersion === "buildkit" ? "BuildKit" : "Docker";
        const on = ` on ${product} ${event.engine.version} at ${event.engine.endpoint}`;
        return [
          line(
            event,
            null,
            null,
            `building ${event.targets.length} ${noun}: ${event.targets.join(", ")} ` +
              `(${event.concurrency} at a time${on})`,
          ),
        ];
      }
      case "run-finished":
        return [];
      case "target-queued":
        return [];
      case "engine-quiet":
        return [line(event, null, null, c.yellow(describeQuiet(event.quietMs, event.running)))];
      case "context-sent":
        return event.source === "context"
          ? [
              line(
                event,
                null,
                null,
                c.dim(`context: sent ${event.files} files (${formatBytes(event.bytes)})`),
              ),
            ]
          : [];
      case "target-started":
        startedTargets.push(event.target);
        return [line(event, event.target, null, "started")];
      case "target-finished": {
        const tags = event.tags.length === 0 ? "" : ` (${event.tags.join(", ")})`;
        return [
          line(
            event,
            event.target,
            null,
            `${c.green("built")} ${shortImageId(event.imageId)}${tags} in ${formatDuration(event.durationMs)}`,
          ),
        ];
      }
      case "target-failed":
        return [
          line(
            event,
            event.target,
            null,
            `${c.red("FAILED")} after ${formatDuration(event.durationMs)}: ${sanitizeLine(event.error.message)}`,
          ),
        ];
      case "target-cancelled":
        return [line(event, event.target, null, c.yellow(describeCancel(event.reason)))];
      case "push-progress": {
        // One line per layer when it ends; the bytes in between are for live views.
        const ended = layerEnd(event.status);
        return ended === undefined
          ? []
          : [
              line(
                event,
                event.target,
                null,
                c.dim(`push ${event.tag}: ${describeLayer(event.layer)} ${ended}`),
              ),
            ];
      }
      case "shared-push-progress": {
        const ended = layerEnd(event.status);
        return ended === undefined
          ? []
          : [
              line(
                event,
                null,
                null,
                `${sharedPrefix(event)}${c.dim(`push ${event.tag}: ${describeLayer(event.layer)} ${ended}`)}`,
              ),
            ];
      }
      case "shared-pushed":
        return [
          line(
            event,
            null,
            null,
            sharedPrefix(event) +
              (event.reference === null
                ? `${c.yellow("not shared")}: ${sanitizeLine(event.error ?? "unknown")}; built where needed`
                : `${c.green("pushed")} ${formatBytes(event.bytes)} as ${event.reference} in ${formatDuration(event.durationMs)}`),
          ),
        ];
      case "target-pushed":
        return [
          line(
            event,
            event.target,
            null,
            `${c.green("pushed")} ${event.tag}@${event.digest} in ${formatDuration(event.durationMs)}`,
          ),
        ];
      case "push-failed":
        return [
          line(
            event,
            event.target,
            null,
            `${c.red("PUSH FAILED")} ${event.tag}: ${sanitizeLine(event.error.message)}`,
          ),
        ];
      case "stage-finished":
        return [
          line(
            event,
            event.target,
            event.stage,
            c.dim(
              `stage done in ${formatDuration(event.durationMs)} ` +
                `(${event.stepsRun} run, ${event.stepsCached} cached)`,
            ),
          ),
        ];
      case "step-started":
        if (event.step.kind === "internal") return [];
        if (!printed.has(stepKey(event.step))) printed.set(stepKey(event.step), event.step.digest);
        return [line(event, event.target, event.step.stage, sanitizeLine(event.step.instruction))];
      case "step-cached": {
        if (event.step.kind === "internal") return [];
        const key = stepKey(event.step);
        const seen = printed.get(key);
        // Another target's build reports a step this run already printed (it ran, or was cached,
        // once): it is shared, not cached again. The digest that started and was then found in
        // the cache is the one cached step (BuildKit starts a step to look it up).
        if (seen !== undefined && seen !== event.step.digest) return [];
        printed.set(key, null);
        return [
          line(
            event,
            event.target,
            event.step.stage,
            `${c.dim("CACHED")} ${sanitizeLine(event.step.instruction)}`,
          ),
        ];
      }
      case "step-finished":
        if (event.step.kind === "internal") return [];
        return [
          line(
            event,
            event.target,
            event.step.stage,
            `${c.green("DONE")} ${sanitizeLine(event.step.instruction)} ` +
              c.dim(`(${formatDuration(event.durationMs)})`),
          ),
        ];
      case "step-failed": {
        // A cache ref nobody wrote yet (a first run, or a per-target ref of --cache-from REF that
        // has no such target's export) is no error: BuildKit goes on without it.
        const missingCache = missingCacheRef(event.step.instruction, event.error);
        if (missingCache !== undefined) {
          return [
            line(event, event.target, null, c.dim(`no cache at ${sanitizeLine(missingCache)} yet`)),
          ];
        }
        // A failed internal step is worth a line: it is how a missing context file shows up.
        return [
          line(
            event,
            event.target,
            event.step.stage,
            event.cancelled
              ? `${c.yellow("CANCELLED")} ${sanitizeLine(event.step.instruction)}`
              : `${c.red("ERROR")} ${sanitizeLine(event.step.instruction)}: ${sanitizeLine(event.error)}`,
          ),
        ];
      }
      case "log":
        return [
          line(event, event.target, event.stage, `${c.dim("|")} ${sanitizeLine(event.line)}`),
        ];
      case "warning": {
        const where =
          event.line === null ? "" : `${dockerfileOf(options, event.target)}:${event.line} `;
        return [
          line(
            event,
            event.target,
            event.stage,
            `${c.yellow("WARN")} ${where}${sanitizeLine(event.message)}`,
          ),
        ];
      }
      case "stage-started":
      case "stage-cached":
      case "stage-failed":
      case "transfer":
      case "daemon-status":
        return [];
      default:
        return event satisfies never;
    }
  }
}

/** Plain progress: one line per event worth seeing, then the report. */
/**
 * The ref of `importing cache manifest from REF` when it failed because the registry has no such
 * ref (Docker 26.1: `failed to configure registry cache importer: REF: not found`); else undefined.
 */
export function missingCacheRef(instruction: string, error: string): string | undefined {
  const match = /^importing cache manifest from (\S+)$/.exec(instruction);
  if (match?.[1] === undefined || !error.endsWith(": not found")) return undefined;
  return match[1];
}

export function createPlainRenderer(context: RendererContext): Renderer {
  const formatter = createPlainFormatter(context);
  let finished = false;
  return {
    onEvent(event) {
      if (finished) return;
      for (const { text } of formatter.format(event)) context.io.stdout.write(`${text}\n`);
    },
    finish(report: BuildReport) {
      if (finished) return;
      finished = true;
      context.io.stdout.write(`\n${formatReport(report, context)}`);
    },
  };
}

/**
 * What a push line is about: `layer ID`, or what a standalone buildkitd reports in place of
 * layers (`layers`, all of them at once, and `manifest`; see PushProgressEvent).
 */
function describeLayer(layer: string): string {
  return layer === "layers" || layer === "manifest" ? layer : `layer ${sanitizeLine(layer)}`;
}

/**
 * How a layer's push ended, in a few words; undefined while it is still going. A layer the
 * registry mounts from another repository ends as "Mounted from NAME".
 */
function layerEnd(status: string): string | undefined {
  return status === "Pushed"
    ? "pushed"
    : status === "Layer already exists"
      ? "already there"
      : status.startsWith("Mounted from ")
        ? `mounted from ${sanitizeLine(status.slice("Mounted from ".length))}`
        : undefined;
}

import type { BuildReport } from "@stagecraft/core";
import type { PoolOutcome } from "@stagecraft/core/pool";
import { describeCancel, describeQuiet } from "./describe-cancel.js";
import { formatDuration } from "./format-duration.js";
import type { Renderer, RendererContext } from "./create-renderer.js";
import { formatMarkdownSummary } from "./format-markdown-summary.js";
import { createColors } from "./colors.js";
import { dockerfileOf, formatBudget, formatReport } from "./format-report.js";
import { createPlainFormatter } from "./plain-renderer.js";

/** How many of a failure's last log lines its annotation carries (the full tail is in the log). */
const ANNOTATION_LOG_LINES = 10;
/**
 * How many of a running target's lines are held back for its group: a chatty step (200,000 lines)
 * must not keep them all. A full buffer goes out as a group of its own ("app · lines 1–2000, still
 * running"), so no line is lost and memory stays bounded per target.
 */
export const GROUP_BUFFER_LINES = 2000;

/**
 * Plain progress for GitHub Actions: each target's lines in one `::group::` (held back until the target
 * ends, so parallel targets do not interleave), an `::error` annotation on the failing Dockerfile
 * line (and for each target cancelled by `--timeout` or a lost engine, and each image over its size
 * budget), `::warning` annotations for the front end's warnings, and a Markdown job summary appended
 * to `$GITHUB_STEP_SUMMARY`.
 */
export function createGithubRenderer(context: RendererContext): Renderer {
  const { io } = context;
  const formatter = createPlainFormatter(context);
  const buffers = new Map<string, string[]>();
  const annotations = new Map<string, string[]>();
  const failedLines = new Map<string, number>();
  const flushed = new Set<string>();
  const linesOut = new Map<string, number>();
  let finished = false;

  const writeGroup = (title: string, lines: readonly string[]): void => {
    // Every line starts with its `[ 1.2s]` stamp, so a build printing `::…` cannot issue a command.
    io.stdout.write(
      `::group::${escapeData(title)}\n${lines.map((line) => `${line}\n`).join("")}::endgroup::\n`,
    );
  };

  const annotate = (target: string, command: string): void => {
    const list = annotations.get(target) ?? [];
    list.push(command);
    annotations.set(target, list);
  };

  const flush = (target: string, title: string): void => {
    const lines = buffers.get(target) ?? [];
    buffers.delete(target);
    flushed.add(target);
    const before = linesOut.get(target) ?? 0;
    writeGroup(before === 0 ? title : `${title} (from line ${before + 1})`, lines);
    for (const command of annotations.get(target) ?? []) io.stdout.write(`${command}\n`);
    annotations.delete(target);
  };

  return {
    onEvent(event) {
      if (finished) return;
      for (const line of formatter.format(event)) {
        // The run's own lines, a target's start, and anything after its group was written go straight out.
        if (line.target === null || event.type === "target-started" || flushed.has(line.target)) {
          io.stdout.write(`${line.text}\n`);
          continue;
        }
        const buffer = buffers.get(line.target) ?? [];
        buffer.push(line.text);
        buffers.set(line.target, buffer);
        if (buffer.length >= GROUP_BUFFER_LINES) {
          const before = linesOut.get(line.target) ?? 0;
          writeGroup(
            `${line.target} · lines ${before + 1}-${before + buffer.length}, still running`,
            buffer,
          );
          linesOut.set(line.target, before + buffer.length);
          buffers.set(line.target, []);
        }
      }
      switch (event.type) {
        case "step-failed":
          if (!event.cancelled && event.step.line !== null) {
            failedLines.set(event.target, event.step.line);
          }
          break;
        case "warning":
          // BuildKit names the file as the front end saw it in the context (`Dockerfile`); an annotation
          // needs its path in the repository, which only the user's `--file` gives.
          annotate(
            event.target,
            workflowCommand(
              "warning",
              {
                file: dockerfileOf(context, event.target),
                line: event.line,
                title: `${event.target}: Dockerfile warning`,
              },
              event.message,
            ),
          );
          break;
        case "target-finished":
          flush(event.target, `${event.target} · built in ${formatDuration(event.durationMs)}`);
          break;
        case "target-failed": {
          const { error } = event;
          const line = error.line ?? failedLines.get(event.target) ?? null;
          const tail = error.logTail.slice(-ANNOTATION_LOG_LINES);
          annotate(
            event.target,
            workflowCommand(
              "error",
              // Without a line the failure is not in the Dockerfile (an engine or context error).
              {
                file: line === null ? null : dockerfileOf(context, event.target),
                line,
                title: `${event.target} failed`,
              },
              [error.message, ...(tail.length > 0 ? ["", ...tail] : [])].join("\n"),
            ),
          );
          flush(event.target, `${event.target} · failed after ${formatDuration(event.durationMs)}`);
          break;
        }
        case "target-cancelled":
          // A timeout or a lost engine fails the run, and nothing else says so in the annotations
          // (an interrupt is the user's own doing; a fail-fast cancel follows a failure annotated).
          if (event.reason.kind === "timeout" || event.reason.kind === "engine") {
            annotate(
              event.target,
              workflowCommand(
                "error",
                { file: null, line: null, title: `${event.target} cancelled` },
                event.message,
              ),
            );
          }
          flush(event.target, `${event.target} · ${describeCancel(event.reason)}`);
          break;
        case "push-failed":
          // After the target's group was written: straight out.
          io.stdout.write(
            `${workflowCommand(
              "error",
              { file: null, line: null, title: `${event.target}: push of ${event.tag} failed` },
              [
                event.error.message,
                ...(event.error.hint === undefined ? [] : [event.error.hint]),
              ].join("\n"),
            )}\n`,
          );
          break;
        case "target-pushed":
          io.stdout.write(`${event.target} · pushed ${event.tag}@${event.digest}\n`);
          break;
        case "engine-quiet":
          // Outside every group, at once: the log must show that the run is waiting, and on what.
          io.stdout.write(`${describeQuiet(event.quietMs, event.running)}\n`);
          break;
        case "run-started":
        case "run-finished":
        case "target-queued":
        case "target-started":
        case "push-progress":
        case "shared-push-progress":
        case "shared-pushed":
        case "stage-started":
        case "stage-cached":
        case "stage-finished":
        case "stage-failed":
        case "step-started":
        case "step-cached":
        case "step-finished":
        case "log":
        case "transfer":
        case "context-sent":
        case "daemon-status":
          break;
        default:
          event satisfies never;
      }
    },
    finish(report: BuildReport, pool?: Pick<PoolOutcome, "shared">) {
      if (finished) return;
      finished = true;
      // Targets the run never ended (an interrupted run) still get their group.
      for (const target of [...buffers.keys()]) flush(target, `${target} · did not finish`);
      io.stdout.write(`\n${formatReport(report, context)}`);
      // An image over its budget fails the run (exit 1): the annotation says which and why.
      for (const budget of report.sizeBudgets ?? []) {
        if (!budget.exceeded) continue;
        const layers = report.targets.find((entry) => entry.target === budget.target)?.layers;
        const [over = "", ...heaviest] = formatBudget(
          budget,
          layers ?? [],
          dockerfileOf(context, budget.target),
          createColors(false),
        );
        io.stdout.write(
          `${workflowCommand(
            "error",
            { file: null, line: null, title: `${budget.target} is over its size budget` },
            [
              over.replace(/^\u2717 /, ""),
              ...heaviest.map((line) => line.replace(/^ {2}/, "")),
            ].join("\n"),
          )}\n`,
        );
      }
      const summaryPath = io.env.GITHUB_STEP_SUMMARY;
      if (summaryPath === undefined || summaryPath === "") return;
      try {
        context.appendFile(
          summaryPath,
          formatMarkdownSummary(report, { ...context, shared: pool?.shared }),
        );
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        io.stderr.write(
          `stagecraft: could not write the job summary to ${summaryPath}: ${reason}\n`,
        );
      }
    },
  };
}

/** A workflow command line: `::name key=value,…::message`, its parts escaped as the runner expects. */
export function workflowCommand(
  name: string,
  properties: Readonly<Record<string, string | number | null | undefined>>,
  message: string,
): string {
  const pairs = Object.entries(properties)
    .filter(
      (entry): entry is [string, string | number] => entry[1] !== null && entry[1] !== undefined,
    )
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`);
  return `::${name}${pairs.length > 0 ? ` ${pairs.join(",")}` : ""}::${escapeData(message)}`;
}

/** Escapes a workflow command's message (`%`, `\r`, `\n`), as actions/toolkit's `escapeData` does. */
export function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a workflow command's property value: as `escapeData`, and `:` and `,` too. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

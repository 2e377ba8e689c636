import { hintForFailure } from "../flag-hints.js";
import type { BuildReport } from "@stagecraft/core";
import type { TargetReport } from "@stagecraft/core/report";
import { formatBytes, largestLayers } from "@stagecraft/core/report";
import type { SharedStage } from "@stagecraft/core/pool";
import {
  describeRead,
  describeSharedStageMoves,
  formatMegabytes,
  formatSeconds,
  listSharedStageReads,
  sumSharedStageMoves,
} from "./describe-shared-stages.js";
import { formatDuration } from "./format-duration.js";
import { dockerfileOf, shortImageId } from "./format-report.js";
import { sanitizeLine } from "./sanitize-line.js";

/**
 * The report as GitHub-flavoured Markdown, for a CI job summary: a table of targets, where the time
 * went, image sizes, and each failure with its log tail; for a pool run, each shared stage with its
 * push and every engine's pull of it.
 */
export function formatMarkdownSummary(
  report: BuildReport,
  options: {
    readonly dockerfile: string;
    readonly dockerfiles?: Readonly<Record<string, string>> | undefined;
    /** A pool run's shared stages (`PoolOutcome.shared`). */
    readonly shared?: readonly SharedStage[] | undefined;
  },
): string {
  const built = report.targets.filter((target) => target.status === "succeeded").length;
  const out: string[] = [
    `### stagecraft: ${built} of ${report.targets.length} ${report.targets.length === 1 ? "target" : "targets"} built in ${formatDuration(report.wallMs)}`,
    "",
    "| | Target | Time | Ran | Shared | Cached | Image | Tags | Size |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ...report.targets.map((target) =>
      row([
        statusEmoji(target),
        cell(target.target),
        target.wallMs === null ? "–" : formatDuration(target.wallMs),
        String(target.stepsRun),
        String(target.stepsShared),
        target.cachedPercent === null
          ? String(target.stepsCached)
          : `${target.stepsCached} (${target.cachedPercent}%)`,
        target.imageId === null ? "" : `\`${shortImageId(target.imageId)}\``,
        target.tags.map((tag) => `\`${cell(tag)}\``).join(" "),
        target.sizeBytes === null ? "" : formatBytes(target.sizeBytes),
      ]),
    ),
    "",
  ];

  const path = report.criticalPath;
  if (path !== null && path.stages.length > 0 && path.durationMs > 0) {
    out.push(
      `**Critical path:** ${path.stages.map((link) => `${cell(link.stage)} (${formatDuration(link.durationMs)})`).join(" → ")}: ` +
        `${formatDuration(path.durationMs)} of ${formatDuration(path.wallMs)} wall time`,
      "",
    );
  }

  out.push(...sharedStagesMarkdown(options.shared ?? []));

  for (const target of report.targets) {
    const size = target.sizeComparison;
    if (size === null) continue;
    const percent = Math.round(size.changePercent);
    if (percent === 0) continue; // says nothing; the JSON report keeps it
    out.push(
      `**Size:** ${cell(target.target)} ${formatBytes(size.sizeBytes)} ← ${cell(size.from)} ${formatBytes(size.fromSizeBytes)} (${percent < 0 ? `−${-percent}` : `+${percent}`}%)`,
      "",
    );
  }
  for (const budget of report.sizeBudgets ?? []) {
    if (!budget.exceeded) continue;
    out.push(
      `**Over budget:** ${cell(budget.target)} ${formatBytes(budget.sizeBytes ?? 0)} is ${formatBytes(budget.overBytes)} over ${formatBytes(budget.budgetBytes)}`,
      "",
    );
  }
  const layered = report.targets.filter((target) => (target.layers ?? []).length > 0);
  if (layered.length > 0) {
    out.push(
      "<details><summary>Largest layers</summary>",
      "",
      "| Target | Size | From | Step | Line |",
      "| --- | ---: | --- | --- | ---: |",
      ...layered.flatMap((target) =>
        largestLayers(target.layers ?? [], 3).map((layer) =>
          row([
            cell(target.target),
            formatBytes(layer.sizeBytes),
            layer.origin === "base"
              ? `base image ${cell(layer.baseImage ?? "")}`
              : cell(
                  layer.copiedFrom === null
                    ? (layer.stage ?? "")
                    : `${layer.stage ?? ""} ← ${layer.copiedFrom}`,
                ),
            cell(layer.createdBy),
            layer.line === null ? "" : String(layer.line),
          ]),
        ),
      ),
      "",
      "</details>",
      "",
    );
  }

  if (report.slowestSteps.length > 0) {
    out.push(
      "<details><summary>Slowest steps</summary>",
      "",
      "| Time | Target | Stage | Step | Line |",
      "| ---: | --- | --- | --- | ---: |",
      ...report.slowestSteps.map((step) =>
        row([
          formatDuration(step.durationMs),
          cell(step.target),
          cell(step.stage),
          `\`${cell(step.instruction)}\``,
          step.line === null ? "" : String(step.line),
        ]),
      ),
      "",
      "</details>",
      "",
    );
  }

  for (const warning of report.warnings) {
    const where =
      warning.line === null ? "" : ` (${dockerfileOf(options, warning.target)}:${warning.line})`;
    out.push(`> [!WARNING]`, `> ${cell(warning.message)}${where}`, "");
  }

  for (const failure of report.failures) {
    const where = [failure.target];
    if (failure.stage !== null) where.push(failure.stage);
    if (failure.line !== null)
      where.push(`${dockerfileOf(options, failure.target)}:${failure.line}`);
    out.push(`#### ❌ ${cell(where.join(" › "))}`, "");
    if (failure.step !== null) out.push(`Step: \`${cell(failure.step)}\``, "");
    if (failure.stopped.length > 0) {
      out.push(`Also stopped: ${failure.stopped.map(cell).join(", ")}`, "");
    }
    out.push(fence([failure.message]), "");
    const hint = hintForFailure(failure);
    if (hint !== null) out.push(`Hint: ${hint}`, "");
    if (failure.logTail.length > 0) out.push(fence(failure.logTail), "");
  }
  return `${out.join("\n")}\n`;
}

/** The shared stages as the text report's pool lines say them: built where, pushed, read by whom. */
function sharedStagesMarkdown(shared: readonly SharedStage[]): string[] {
  if (shared.length === 0) return [];
  const out = [
    "| Shared stage | Built on | Build | Pushed | Read by |",
    "| --- | --- | ---: | --- | --- |",
    ...shared.map((entry) =>
      entry.reference === undefined
        ? row([
            cell(entry.stage),
            cell(entry.engine),
            "",
            cell(`not shared (${entry.error ?? "unknown"}), built where needed`),
            "",
          ])
        : row([
            cell(entry.stage),
            cell(entry.engine),
            formatSeconds(entry.buildMs),
            `${formatMegabytes(entry.bytes)} in ${formatSeconds(entry.pushMs)} as \`${cell(entry.reference)}\``,
            cell(listSharedStageReads(entry).map(describeRead).join(", ")),
          ]),
    ),
    "",
  ];
  const moves = sumSharedStageMoves(shared);
  if (moves !== undefined) {
    out.push(`**Moving shared stages:** ${describeSharedStageMoves(moves)}`, "");
  }
  return out;
}

function statusEmoji(target: TargetReport): string {
  switch (target.status) {
    case "succeeded":
      return "✅";
    case "failed":
      return "❌";
    case "cancelled":
      return "⏹️";
    case "incomplete":
      return "⏳";
    default:
      return target.status satisfies never;
  }
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** Text safe inside a table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
}

/** A code block whose fence is longer than any run of backticks in the text. */
function fence(text: readonly string[]): string {
  const lines = text.flatMap((line) => line.split("\n")).map(sanitizeLine);
  const longest = Math.max(
    0,
    ...lines.map((line) => Math.max(0, ...[...line.matchAll(/`+/g)].map((m) => m[0].length))),
  );
  const marks = "`".repeat(Math.max(3, longest + 1));
  return [`${marks}text`, ...lines, marks].join("\n");
}

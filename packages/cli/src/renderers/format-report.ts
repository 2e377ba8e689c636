import { hintForFailure } from "../flag-hints.js";
import { describeCancel } from "./describe-cancel.js";
import type { BuildReport } from "@stagecraft/core";
import type {
  LayerReport,
  SizeBudgetReport,
  PublishedTarget,
  SizeComparison,
  TargetFailure,
  TargetReport,
} from "@stagecraft/core/report";
import { formatBytes, largestLayers } from "@stagecraft/core/report";
import { formatDuration } from "./format-duration.js";
import { createColors, type Colors } from "./colors.js";
import { fitToWidth, padVisible, visibleWidth } from "./fit-to-width.js";
import { sanitizeLine } from "./sanitize-line.js";

/** Options of `formatReport`. */
export interface FormatReportOptions {
  color: boolean;
  /** Terminal width in columns: longer lines (warnings and failures excepted) are cut, never wrapped. Undefined: no limit. */
  width?: number | undefined;
  /** `full` (default): table, critical path, slowest steps, sizes, warnings, failures; `short`: one line per target and the failures. */
  detail?: "full" | "short" | undefined;
  /** The Dockerfile's path as the user named it, for `Dockerfile:12` locations (default `Dockerfile`). */
  dockerfile?: string | undefined;
  /** Per target, its Dockerfile's path when the run's targets come from several (a bake file). */
  dockerfiles?: Readonly<Record<string, string>> | undefined;
}

/** The path of the Dockerfile a target's lines are in. */
export function dockerfileOf(
  options: {
    readonly dockerfile?: string | undefined;
    readonly dockerfiles?: Readonly<Record<string, string>> | undefined;
  },
  target: string,
): string {
  return options.dockerfiles?.[target] ?? options.dockerfile ?? "Dockerfile";
}

/**
 * The report as a person reads it at the end of a run: a line per target, where the time went, how
 * big the images are, and the failures last, so they are what is on screen when the run ends.
 *
 * @example
 * io.stdout.write(formatReport(report, { color: true, width: io.stdout.columns }));
 */
export function formatReport(report: BuildReport, options: FormatReportOptions): string {
  const c = createColors(options.color);
  const dockerfile = (target: string): string => dockerfileOf(options, target);
  const full = (options.detail ?? "full") === "full";
  const sections: string[][] = [];

  sections.push([...formatTargetTable(report.targets, c, full), formatTotals(report, c)]);

  if (full) {
    const timing: string[] = [];
    const path = report.criticalPath;
    if (path !== null && path.stages.length > 0 && path.durationMs > 0) {
      timing.push(
        `${c.bold("critical path:")} ${path.stages.map((link) => link.stage).join(" → ")}  ` +
          `${formatDuration(path.durationMs)} of ${formatDuration(path.wallMs)} wall`,
      );
    }
    const parallel = measureParallelism(report);
    if (parallel !== null && parallel.most > 1) {
      timing.push(
        `${c.bold("parallel:")} ${formatDuration(parallel.busyMs)} of steps in ` +
          `${formatDuration(parallel.spanMs)} (${parallel.factor.toFixed(1)}×), up to ${parallel.most} at once`,
      );
    }
    if (report.slowestSteps.length > 0) {
      timing.push(c.bold("slowest steps:"));
      const rows = report.slowestSteps.map((step) => [
        formatDuration(step.durationMs),
        step.stage,
        sanitizeLine(step.instruction) +
          (step.line === null ? "" : c.dim(`  ${dockerfile(step.target)}:${step.line}`)) +
          (step.status === "failed" ? ` ${c.red("(failed)")}` : ""),
      ]);
      timing.push(...alignColumns(rows, ["right", "left", "left"]).map((row) => `  ${row}`));
    }
    if (timing.length > 0) sections.push(timing);

    // A comparison that rounds to 0% says nothing (`lint ← source +0%`): the JSON report keeps it.
    const sizes = report.targets.flatMap((target) =>
      target.sizeComparison === null || Math.round(target.sizeComparison.changePercent) === 0
        ? []
        : [formatSizeComparison(target, target.sizeComparison, c)],
    );
    for (const entry of report.unmeasuredStages ?? []) {
      sizes.push(c.dim(`${entry.stage}: size not measured: ${sanitizeLine(entry.reason)}`));
    }
    for (const target of report.targets) {
      const layers = largestLayers(target.layers ?? [], LARGEST_LAYER_COUNT);
      if (layers.length === 0) continue;
      sizes.push(c.bold(`largest layers of ${target.target}:`));
      sizes.push(...formatLayers(layers, dockerfile(target.target), c));
    }
    if (sizes.length > 0) sections.push(sizes);

    if (report.cache !== null) {
      const cache = [
        `${c.bold("cache:")} from ${report.cache.from.length === 0 ? "none" : report.cache.from.join(", ")}; to ${report.cache.to.length === 0 ? "none" : report.cache.to.join(", ")}`,
      ];
      for (const pin of report.cache.pinned ?? []) {
        const found =
          pin.found === undefined
            ? ""
            : ` (the mirror had it: same ${pin.found === "config" ? "image config" : "layers"}, not pushed)`;
        cache.push(
          `  base ${sanitizeLine(pin.reference)} pinned as ${sanitizeLine(pin.pinned)}${found}`,
        );
      }
      for (const base of report.cache.unpinned ?? []) {
        cache.push(
          `  base ${sanitizeLine(base.reference)} not pinned: ${sanitizeLine(base.reason)}`,
        );
      }
      for (const miss of report.cache.misses) {
        cache.push(`  ${c.yellow("⚠")} ${miss.target}: ${sanitizeLine(miss.reason)}`);
      }
      sections.push(cache);
    }
  }
  // An exceeded budget is a failure: it shows in the short report too.
  for (const budget of report.sizeBudgets ?? []) {
    if (!budget.exceeded) continue;
    const target = report.targets.find((entry) => entry.target === budget.target);
    sections.push(formatBudget(budget, target?.layers ?? [], dockerfile(budget.target), c));
  }

  const width = options.width;
  const fitted = sections.map((lines) =>
    width === undefined ? lines : lines.map((line) => fitToWidth(line, width)),
  );

  // Warnings and failures are never cut to the terminal's width: their text is the point.
  if (full && report.warnings.length > 0) {
    fitted.push(
      report.warnings.map((warning) => {
        const where =
          warning.line === null ? "" : `${dockerfile(warning.target)}:${warning.line}  `;
        return `${c.yellow("⚠")} ${where}${sanitizeLine(warning.message)}`;
      }),
    );
  }
  for (const failure of report.failures) {
    fitted.push(formatFailure(failure, dockerfile(failure.target), c));
  }
  if (report.published !== null) fitted.push(formatPublished(report.published, report, c));
  return `${fitted.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}

function formatTargetTable(targets: readonly TargetReport[], c: Colors, full: boolean): string[] {
  const rows = targets.map((target) => {
    const size = target.sizeBytes === null ? "" : formatBytes(target.sizeBytes);
    const row = [`${statusSymbol(target, c)} ${c.bold(target.target)}`, formatWall(target.wallMs)];
    if (!full) return [...row, size, describeEnd(target, c)];
    // Tags go last: they are the one column whose width has no bound.
    return [
      ...row,
      formatSteps(target, c),
      target.imageId === null ? "" : c.dim(shortImageId(target.imageId)) + platformsOf(target),
      size,
      target.tags.join(", "),
      describeEnd(target, c),
    ];
  });
  const align: ("left" | "right")[] = full
    ? ["left", "right", "left", "left", "right", "left", "left"]
    : ["left", "right", "right", "left"];
  return alignColumns(rows, align);
}

/** ` linux/amd64+linux/arm64`: the platforms a target was built for, when the run named any. */
function platformsOf(target: TargetReport): string {
  return target.platforms === undefined || target.platforms.length === 0
    ? ""
    : ` ${target.platforms.join("+")}`;
}

function formatTotals(report: BuildReport, c: Colors): string {
  const counts = new Map<string, number>();
  for (const target of report.targets) {
    counts.set(target.status, (counts.get(target.status) ?? 0) + 1);
  }
  const parts: string[] = [];
  const succeeded = counts.get("succeeded") ?? 0;
  const failed = counts.get("failed") ?? 0;
  const cancelled = counts.get("cancelled") ?? 0;
  const incomplete = counts.get("incomplete") ?? 0;
  if (succeeded > 0) parts.push(c.green(`${succeeded} succeeded`));
  if (failed > 0) parts.push(c.red(`${failed} failed`));
  if (cancelled > 0) parts.push(c.yellow(`${cancelled} cancelled`));
  if (incomplete > 0) parts.push(`${incomplete} unfinished`);
  const noun = report.targets.length === 1 ? "target" : "targets";
  const { stepsRun, stepsCached, stepsShared, cachedPercent } = report.totals;
  const shared = stepsShared === 0 ? "" : ` (${stepsShared} of them for several targets)`;
  const steps =
    stepsRun + stepsCached === 0
      ? ""
      : ` · ${stepsRun} ${stepsRun === 1 ? "step" : "steps"} ran${shared}, ${stepsCached} cached (${cachedPercent ?? 0}%)`;
  return (
    `${report.targets.length} ${noun} in ${formatDuration(report.wallMs)}` +
    (parts.length > 0 ? `: ${parts.join(", ")}` : "") +
    c.dim(steps)
  );
}

/** `2 ran · 3 shared · 4 cached (44%)`: shared steps ran in this run for another target. */
function formatSteps(target: TargetReport, c: Colors): string {
  if (target.stepsRun + target.stepsShared + target.stepsCached === 0) return c.dim("no steps");
  const shared = target.stepsShared === 0 ? "" : ` · ${target.stepsShared} shared`;
  return `${target.stepsRun} ran${shared} · ${target.stepsCached} cached ${c.dim(`(${target.cachedPercent ?? 0}%)`)}`;
}

/** How many layers the text report lists per target (the JSON report has them all). */
const LARGEST_LAYER_COUNT = 3;

function formatSizeComparison(target: TargetReport, size: SizeComparison, c: Colors): string {
  const percent = Math.round(size.changePercent);
  // U+2212 is the minus sign proper; it lines up with `+` where a hyphen would not.
  const change = percent < 0 ? c.green(`−${-percent}%`) : c.yellow(`+${percent}%`);
  return `${c.bold("size:")} ${target.target} ${formatBytes(size.sizeBytes)} ← ${size.from} ${formatBytes(size.fromSizeBytes)} (${change})`;
}

/** `99.6 MB  node  Dockerfile:12  RUN apt-get …`, or the base image's layer. */
function formatLayers(layers: readonly LayerReport[], dockerfile: string, c: Colors): string[] {
  const rows = layers.map((layer) => {
    if (layer.origin === "base") {
      return [formatBytes(layer.sizeBytes), "base image", sanitizeLine(layer.baseImage ?? "")];
    }
    const from = layer.copiedFrom === null ? "" : c.dim(`  (from ${layer.copiedFrom})`);
    return [
      formatBytes(layer.sizeBytes),
      layer.stage ?? "",
      sanitizeLine(layer.createdBy) +
        (layer.line === null ? "" : c.dim(`  ${dockerfile}:${layer.line}`)) +
        from,
    ];
  });
  return alignColumns(rows, ["right", "left", "left"]).map((row) => `  ${row}`);
}

/** "✗ app is 2.2 MB, 1.2 MB over its size budget of 1.0 MB", then the layers that weigh most. */
export function formatBudget(
  budget: SizeBudgetReport,
  layers: readonly LayerReport[],
  dockerfile: string,
  c: Colors,
): string[] {
  const over =
    `${c.red("✗")} ${c.bold(budget.target)} is ${formatBytes(budget.sizeBytes ?? 0)}, ` +
    `${formatBytes(budget.overBytes)} over its size budget of ${formatBytes(budget.budgetBytes)}`;
  const heaviest = largestLayers(layers, LARGEST_LAYER_COUNT);
  if (heaviest.length === 0) return [over];
  return [over, "  the layers that weigh most:", ...formatLayers(heaviest, dockerfile, c)];
}

function formatFailure(failure: TargetFailure, dockerfile: string, c: Colors): string[] {
  const where = [failure.target];
  if (failure.stage !== null) where.push(failure.stage);
  if (failure.line !== null) where.push(`${dockerfile}:${failure.line}`);
  const step =
    failure.step === null ? "" : c.dim(`  ${sanitizeLine(stripStepPrefix(failure.step))}`);
  const lines = [`${c.red("✗")} ${c.bold(where.join(" › "))}${step}`];
  if (failure.stopped.length > 0) {
    const need = failure.stopped.length === 1 ? "needs" : "need";
    lines.push(`  ${c.dim(`also stopped ${failure.stopped.join(", ")}, which ${need} this step`)}`);
  }
  for (const line of failure.message.split("\n")) lines.push(`  ${c.red(sanitizeLine(line))}`);
  const hint = hintForFailure(failure);
  if (hint !== null) lines.push(`  ${c.dim("hint:")} ${sanitizeLine(hint)}`);
  for (const line of failure.logTail) lines.push(c.dim(`    │ ${sanitizeLine(line)}`));
  return lines;
}

function statusSymbol(target: TargetReport, c: Colors): string {
  switch (target.status) {
    case "succeeded":
      return c.green("✓");
    case "failed":
      return c.red("✗");
    case "cancelled":
      return c.yellow("⊘");
    case "incomplete":
      return c.gray("…");
    default:
      return target.status satisfies never;
  }
}

function describeEnd(target: TargetReport, c: Colors): string {
  switch (target.status) {
    case "succeeded":
      return "";
    case "failed":
      return c.red("failed");
    case "cancelled":
      return c.yellow(describeCancel(target.cancelReason));
    case "incomplete":
      return c.gray("did not finish");
    default:
      return target.status satisfies never;
  }
}

function formatWall(ms: number | null): string {
  return ms === null ? "–" : formatDuration(ms);
}

/** `sha256:3f2a9c1b7e4d…` → `3f2a9c1b7e4d`, as `docker images` shows ids. */
export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** `[build 2/5] RUN make` → `RUN make`. */
function stripStepPrefix(name: string): string {
  return name.replace(/^\[[^\]]*\]\s*/, "");
}

/** Pads each column to its widest cell; empty trailing cells leave no trailing spaces. */
function alignColumns(rows: readonly string[][], align: readonly ("left" | "right")[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell));
    });
  }
  return rows.map((row) => {
    const cells = row.map((cell, i) => {
      const width = widths[i] ?? 0;
      if (width === 0) return null;
      return align[i] === "right"
        ? " ".repeat(width - visibleWidth(cell)) + cell
        : padVisible(cell, width);
    });
    return cells
      .filter((cell) => cell !== null)
      .join("  ")
      .trimEnd();
  });
}

/** Which targets reached their registries (with digests) and which did not, and why. */
function formatPublished(
  published: readonly PublishedTarget[],
  report: Pick<BuildReport, "targets">,
  c: Colors,
): string[] {
  const lines = [c.bold("published:")];
  const statusOf = new Map(report.targets.map((target) => [target.target, target.status]));
  for (const entry of published) {
    for (const tag of entry.tags) {
      lines.push(`  ${c.green("↑")} ${entry.target}  ${tag.tag}@${tag.digest}`);
    }
    switch (entry.status) {
      case "pushed":
        break;
      case "failed":
        lines.push(
          `  ${c.red("✗")} ${entry.target}  not pushed: ${sanitizeLine(entry.error?.message ?? "the push failed")}`,
        );
        if (entry.error !== null && entry.error.hint !== null) {
          lines.push(`    ${c.dim("hint:")} ${sanitizeLine(entry.error.hint)}`);
        }
        lines.push(`    ${c.dim("its image stays in the engine's store")}`);
        break;
      case "not-pushed":
        lines.push(
          `  ${c.dim("–")} ${entry.target}  not pushed: ${whyNotPushed(statusOf.get(entry.target))}`,
        );
        break;
      default:
        return entry.status satisfies never;
    }
  }
  return lines;
}

/** Why a target that was to be pushed was not: its build did not make an image, or it had no tag. */
function whyNotPushed(status: BuildReport["targets"][number]["status"] | undefined): string {
  switch (status) {
    case "failed":
      return "its build failed";
    case "cancelled":
      return "its build was cancelled";
    case "succeeded":
      return "it has no tag (-t)";
    default:
      return "no image";
  }
}

/**
 * How much the run's steps overlapped: the time they ran added up, against the time any of them was
 * running (overlaps counted once), and the most that ran at once; null when no step ran.
 */
export function measureParallelism(
  report: BuildReport,
): { busyMs: number; spanMs: number; factor: number; most: number } | null {
  const ran = report.steps.flatMap((step) =>
    step.startedAt !== null && step.endedAt !== null && step.endedAt > step.startedAt
      ? [{ start: step.startedAt, end: step.endedAt }]
      : [],
  );
  if (ran.length === 0) return null;
  const edges = ran.flatMap((step) => [
    { time: step.start, delta: 1 },
    { time: step.end, delta: -1 },
  ]);
  // At equal times an end comes first: a step that starts as another ends does not overlap it.
  edges.sort((a, b) => a.time - b.time || a.delta - b.delta);
  let running = 0;
  let most = 0;
  let spanMs = 0;
  let since = 0;
  for (const edge of edges) {
    if (running > 0) spanMs += edge.time - since;
    running += edge.delta;
    most = Math.max(most, running);
    since = edge.time;
  }
  const busyMs = ran.reduce((sum, step) => sum + (step.end - step.start), 0);
  return { busyMs, spanMs, factor: spanMs === 0 ? 1 : busyMs / spanMs, most };
}

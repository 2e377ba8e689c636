// The report as one self-contained HTML page (inline CSS and SVG, nothing fetched): a timeline of
// every target and stage from the steps' own times, the critical path marked, ran / shared / cached
// apart, failures in place with their log tails, the stage graph laid out by dagre, sizes per
// target. Every string from the run is escaped: log lines are whatever a build printed.
import * as dagre from "@dagrejs/dagre";
import type { BuildReport } from "@stagecraft/core";
import type { StepReport, TargetReport } from "@stagecraft/core/report";
import { formatBytes } from "@stagecraft/core/report";
import type { SharedStage } from "@stagecraft/core/pool";
import {
  describePull,
  describeSharedStageMoves,
  formatMegabytes,
  formatSeconds,
  listSharedStageReads,
  sumSharedStageMoves,
} from "./describe-shared-stages.js";
import { formatDuration } from "./format-duration.js";

// dagre's declarations import without file extensions, which `nodenext` cannot follow: the part
// used here, typed.
interface LayoutGraph {
  setGraph(label: Record<string, number | string>): void;
  setDefaultEdgeLabel(label: () => object): void;
  setNode(id: string, label: { width: number; height: number }): void;
  setEdge(from: string, to: string): void;
  graph(): { width?: number; height?: number };
  edges(): { v: string; w: string }[];
  edge(edge: { v: string; w: string }): { points?: { x: number; y: number }[] };
  node(id: string): { x: number; y: number; width: number; height: number };
}
const { Graph, layout } = dagre as unknown as {
  Graph: new () => LayoutGraph;
  layout: (graph: LayoutGraph) => void;
};

/** The timeline's width in pixels for the whole run (labels aside). */
const TIMELINE_PX = 800;
const LABEL_PX = 180;
const ROW_PX = 22;

/** Escapes text for HTML content and attribute values (quotes included). */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** What a step was to one target: ran for it, ran for another (shared), cached, failed, … */
type StepKind = "ran" | "shared" | "cached" | "failed" | "cancelled" | "incomplete";

function kindFor(step: StepReport, target: string): StepKind {
  if (step.status === "ran") return step.target === target ? "ran" : "shared";
  return step.status;
}

/**
 * The report as an HTML page that needs no network to view; for a pool run (`shared`), also each
 * shared stage with its push and every engine's pull of it.
 *
 * @example
 * writeFileSync("run.html", formatHtmlReport(outcome.report, { title: "stagecraft build" }));
 */
export function formatHtmlReport(
  report: BuildReport,
  options: { title?: string; shared?: readonly SharedStage[] | undefined } = {},
): string {
  const title = options.title ?? "stagecraft build report";
  const start = report.startedAt ?? 0;
  const wall = Math.max(report.wallMs, 1);
  const scale = TIMELINE_PX / wall;
  const critical = new Set(report.criticalPath?.stages.map((link) => link.stage) ?? []);
  const x = (time: number): number => Math.max(0, (time - start) * scale);

  const rows: string[] = [];
  for (const target of report.targets) {
    rows.push(targetRow(target, scale, x));
    const stages = report.stages.filter((stage) => stage.neededBy.includes(target.target));
    for (const stage of stages) {
      const steps = report.steps.filter((step) => step.stage === stage.stage);
      const segments = steps
        .map((step) => {
          const kind = kindFor(step, target.target);
          const label = `${step.name}: ${kind}${step.durationMs === null ? "" : `, ${formatDuration(step.durationMs)}`}`;
          if (step.startedAt === null || step.endedAt === null) {
            return `<span class="step ${kind} point" title="${escapeHtml(label)}"></span>`;
          }
          const left = x(step.startedAt);
          const width = Math.max(1, (step.endedAt - step.startedAt) * scale);
          return (
            `<span class="step ${kind}" style="left:${left.toFixed(1)}px;width:${width.toFixed(1)}px"` +
            ` data-duration-ms="${step.endedAt - step.startedAt}" title="${escapeHtml(label)}"></span>`
          );
        })
        .join("");
      const isCritical = critical.has(stage.stage);
      rows.push(
        `<div class="row stage${isCritical ? " critical" : ""}" data-stage="${escapeHtml(stage.stage)}"` +
          ` data-critical="${isCritical}">` +
          `<div class="label">${isCritical ? '<span class="crit" title="on the critical path">&#9670;</span> ' : ""}` +
          `${escapeHtml(stage.stage)}</div>` +
          `<div class="lane">${segments}</div></div>`,
      );
    }
    for (const failure of report.failures.filter((entry) => entry.target === target.target)) {
      const where = [failure.stage, failure.line === null ? null : `line ${failure.line}`]
        .filter((part) => part !== null)
        .join(", ");
      const stopped =
        failure.stopped.length === 0
          ? ""
          : `<p>also stopped ${escapeHtml(failure.stopped.join(", "))}</p>`;
      rows.push(
        `<div class="failure"><p><b>${escapeHtml(failure.step ?? failure.code)}</b>` +
          `${where === "" ? "" : ` (${escapeHtml(where)})`}</p>` +
          `<p>${escapeHtml(failure.message)}</p>${stopped}` +
          (failure.logTail.length === 0
            ? ""
            : `<pre>${failure.logTail.map((line) => escapeHtml(line)).join("\n")}</pre>`) +
          (failure.hint === null ? "" : `<p class="hint">${escapeHtml(failure.hint)}</p>`) +
          `</div>`,
      );
    }
  }

  const totals = report.totals;
  const path = report.criticalPath;
  const summary =
    `${report.targets.length} targets in ${formatDuration(report.wallMs)}: ${escapeHtml(report.status)} &#183; ` +
    `${totals.stepsRun} steps ran (${totals.stepsShared} shared by several targets), ` +
    `${totals.stepsCached} cached` +
    (path === null
      ? ""
      : ` &#183; critical path ${path.stages.map((link) => escapeHtml(link.stage)).join(" &#8594; ")} ` +
        `${formatDuration(path.durationMs)} of ${formatDuration(path.wallMs)} wall`);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.row { display: flex; align-items: center; height: ${ROW_PX}px; }
.row.target { font-weight: 600; border-top: 1px solid #d8dce4; margin-top: 6px; }
.label { width: ${LABEL_PX}px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.row.stage .label { padding-left: 16px; box-sizing: border-box; }
.lane { position: relative; width: ${TIMELINE_PX}px; height: 14px; background: #f4f5f8; }
.bar, .step { position: absolute; top: 0; height: 14px; }
.bar.target { background: #8a93a6; }
.bar.failed { background: #d64545; } .bar.cancelled { background: #c7a34a; }
.step.ran, i.ran { background: #2f6fdf; }
.step.shared, i.shared { background: #9b6ad6; }
.step.cached, i.cached { background: #9aa3b2; }
.step.failed, i.failed { background: #d64545; }
.step.cancelled, i.cancelled, .step.incomplete, i.incomplete { background: #c7a34a; }
.step.point { width: 3px; left: 0; position: relative; display: inline-block; margin-right: 2px; }
.row.critical .lane { outline: 2px solid #e08a00; }
.crit { color: #e08a00; }
.failure { margin: 4px 0 8px ${LABEL_PX}px; padding: 6px 10px; border-left: 4px solid #d64545; background: #fdf1f1; }
.failure p { margin: 2px 0; } .failure pre { margin: 4px 0; white-space: pre-wrap; font-size: 12px; }
.hint { color: #555; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; text-align: left; border-bottom: 1px solid #e3e6ec; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.readers { margin: 0; padding-left: 16px; }
svg text { font: 12px system-ui, sans-serif; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="summary">${summary}</p>
<h2>Timeline</h2>
<p class="legend"><span><i class="ran"></i>ran</span><span><i class="shared"></i>shared (ran for another target)</span><span><i class="cached"></i>cached</span><span><i class="failed"></i>failed</span><span><i class="cancelled"></i>cancelled / incomplete</span><span><b class="crit">&#9670;</b> critical path</span></p>
<div class="timeline" data-wall-ms="${report.wallMs}" data-px-per-ms="${scale}">
${rows.join("\n")}
</div>
<h2>Stage graph</h2>
${stageGraphSvg(report, critical)}
<h2>Targets</h2>
${targetTable(report)}
${sharedStagesHtml(options.shared ?? [])}</body>
</html>
`;
}

function targetRow(target: TargetReport, scale: number, x: (time: number) => number): string {
  const width = target.wallMs === null ? 0 : Math.max(1, target.wallMs * scale);
  // A target queued behind others starts late; a report saved before targets had a start time
  // has none (read as the run's start).
  const started = target.startedAt ?? null;
  const left = started === null ? 0 : Math.max(0, x(started));
  const counts = `${target.stepsRun} ran, ${target.stepsShared} shared, ${target.stepsCached} cached`;
  const status = target.status === "succeeded" ? "" : ` ${target.status}`;
  return (
    `<div class="row target" data-target="${escapeHtml(target.target)}">` +
    `<div class="label" title="${escapeHtml(counts)}">${escapeHtml(target.target)}</div>` +
    `<div class="lane"><span class="bar target${escapeHtml(status)}" style="left:${left.toFixed(1)}px;width:${width.toFixed(1)}px"` +
    ` data-duration-ms="${target.wallMs ?? 0}" title="${escapeHtml(`${target.target}: ${target.status}, ${target.wallMs === null ? "not started" : formatDuration(target.wallMs)}, ${counts}`)}"></span></div></div>`
  );
}

function targetTable(report: BuildReport): string {
  const rows = report.targets.map((target) => {
    const size = target.sizeBytes === null ? "" : formatBytes(target.sizeBytes);
    const comparison = target.sizeComparison;
    const from =
      comparison === null
        ? ""
        : `${escapeHtml(comparison.from)} ${formatBytes(comparison.fromSizeBytes)} &#8594; ${formatBytes(comparison.sizeBytes)} (${comparison.changePercent > 0 ? "+" : ""}${comparison.changePercent}%)`;
    return (
      `<tr><td>${escapeHtml(target.target)}</td><td>${escapeHtml(target.status)}</td>` +
      `<td class="num">${target.wallMs === null ? "" : formatDuration(target.wallMs)}</td>` +
      `<td class="num">${target.stepsRun}</td><td class="num">${target.stepsShared}</td>` +
      `<td class="num">${target.stepsCached}</td><td class="num">${size}</td><td>${from}</td>` +
      `<td>${escapeHtml(target.tags.join(", "))}</td></tr>`
    );
  });
  return (
    `<table class="targets"><tr><th>target</th><th>status</th><th>wall</th><th>ran</th><th>shared</th>` +
    `<th>cached</th><th>size</th><th>built from</th><th>tags</th></tr>\n${rows.join("\n")}</table>`
  );
}

/** A pool run's shared stages: where each was built, its push, and each engine's pull of it. */
function sharedStagesHtml(shared: readonly SharedStage[]): string {
  if (shared.length === 0) return "";
  const rows = shared.map((entry) => {
    const head = `<tr data-shared="${escapeHtml(entry.stage)}"><td>${escapeHtml(entry.stage)}</td><td>${escapeHtml(entry.engine)}</td>`;
    if (entry.reference === undefined) {
      return `${head}<td colspan="3">not shared (${escapeHtml(entry.error ?? "unknown")}), built where needed</td></tr>`;
    }
    const reads = listSharedStageReads(entry).map((read) =>
      read.pull === undefined
        ? `<li data-reader="${escapeHtml(read.engine)}">${escapeHtml(read.engine)}</li>`
        : `<li data-reader="${escapeHtml(read.engine)}" data-pull-ms="${read.pull.pullMs}" data-bytes="${read.pull.bytes}">` +
          `${escapeHtml(read.engine)} (${describePull(read.pull)})</li>`,
    );
    return (
      `${head}<td class="num">${formatSeconds(entry.buildMs)}</td>` +
      `<td>${formatMegabytes(entry.bytes)} in ${formatSeconds(entry.pushMs)} as <code>${escapeHtml(entry.reference)}</code></td>` +
      `<td><ul class="readers">${reads.join("")}</ul></td></tr>`
    );
  });
  const moves = sumSharedStageMoves(shared);
  return (
    `<h2>Shared stages</h2>\n<table class="shared"><tr><th>stage</th><th>built on</th><th>build</th>` +
    `<th>pushed</th><th>read by</th></tr>\n${rows.join("\n")}</table>\n` +
    (moves === undefined
      ? ""
      : `<p class="moves">moving shared stages: ${describeSharedStageMoves(moves)}</p>\n`)
  );
}

/** The stages the run built, and their edges, as SVG laid out by dagre (left to right). */
function stageGraphSvg(report: BuildReport, critical: ReadonlySet<string>): string {
  const built = new Set(report.stages.map((stage) => stage.stage));
  const edges = (report.stageGraph ?? []).filter((stage) => built.has(stage.id));
  const graph = new Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 50, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const stage of report.stages) {
    graph.setNode(stage.stage, { width: Math.max(70, stage.stage.length * 8 + 20), height: 30 });
  }
  for (const stage of edges) {
    for (const dependency of stage.dependsOn) {
      if (built.has(dependency)) graph.setEdge(dependency, stage.id);
    }
  }
  layout(graph);
  const size = graph.graph();
  const width = Math.ceil(size.width ?? 0);
  const height = Math.ceil(size.height ?? 0);
  const parts: string[] = [];
  for (const edge of graph.edges()) {
    const points = graph.edge(edge).points ?? [];
    const d = points
      .map(
        (point, index) => `${index === 0 ? "M" : "L"}${point.x.toFixed(1)},${point.y.toFixed(1)}`,
      )
      .join(" ");
    const onPath = critical.has(edge.v) && critical.has(edge.w);
    parts.push(
      `<path d="${d}" fill="none" stroke="${onPath ? "#e08a00" : "#8a93a6"}" stroke-width="${onPath ? 2.5 : 1.5}" marker-end="url(#arrow)"/>`,
    );
  }
  for (const stage of report.stages) {
    const node = graph.node(stage.stage);
    const fill =
      stage.status === "ran"
        ? "#dbe7fb"
        : stage.status === "cached"
          ? "#eceef2"
          : stage.status === "failed"
            ? "#f7d9d9"
            : "#f6ecd2";
    const stroke = critical.has(stage.stage) ? "#e08a00" : "#8a93a6";
    parts.push(
      `<g class="node" data-stage="${escapeHtml(stage.stage)}"><title>${escapeHtml(`${stage.stage}: ${stage.status}, ${formatDuration(stage.durationMs)}`)}</title>` +
        `<rect x="${(node.x - node.width / 2).toFixed(1)}" y="${(node.y - node.height / 2).toFixed(1)}" width="${node.width}" height="${node.height}" rx="5" fill="${fill}" stroke="${stroke}" stroke-width="${critical.has(stage.stage) ? 2.5 : 1}"/>` +
        `<text x="${node.x.toFixed(1)}" y="${(node.y + 4).toFixed(1)}" text-anchor="middle">${escapeHtml(stage.stage)}</text></g>`,
    );
  }
  return (
    `<svg class="stage-graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a93a6"/></marker></defs>` +
    `${parts.join("")}</svg>`
  );
}

import { resolve } from "node:path";
import { type BuildEvent, type BuildReport, type DockerfileAnalysis } from "@stagecraft/core";
import {
  checkRegistry,
  runPool,
  type PoolOutcome,
  type RunPoolOptions,
} from "@stagecraft/core/pool";
import { createReportBuilder } from "@stagecraft/core/report";
import type { ExitCode, Io } from "../io.js";
import { chooseProgressMode } from "../renderers/choose-progress-mode.js";
import { shouldUseColor } from "../renderers/colors.js";
import { createRenderer } from "../renderers/create-renderer.js";
import { sanitizeLine } from "../renderers/sanitize-line.js";
import { needsControlApi, type BuildFlags } from "./build-options.js";
import type { CheckedDockerfile } from "./check.js";
import { placeOnPool, readCacheAffinity, readEarlierReports } from "./format-placement.js";
import { createEngine } from "./engine-address.js";
import { poolEngineAddress, type PoolFlags } from "./read-pool-flags.js";
import { runPoolEngineChecks } from "./run-engine-checks.js";
import { explainUnwrittenOutput, type RunSession } from "./read-session-flags.js";
import { reportError } from "../report-error.js";
import { writeWhole } from "./write-run-files.js";
import {
  describeRead,
  describeSharedStageMoves,
  formatMegabytes,
  formatSeconds,
  listSharedStageReads,
  sumSharedStageMoves,
} from "../renderers/describe-shared-stages.js";

/**
 * `build --engine …`: checks the registry, places the targets on the pool and runs each engine's
 * share with the live view of a single build (each target's lines name its engine); then prints the
 * report of every engine's events together, one line per target (its engine and status), each shared
 * stage (where it was built, bytes and time to move it), what moved and why, and each engine's busy
 * time. With --report, the pool's outcome is written as JSON.
 */
export async function buildOnPool(
  io: Io,
  flags: BuildFlags,
  pool: PoolFlags,
  analysis: DockerfileAnalysis,
  runOptions: Omit<
    RunPoolOptions,
    "analysis" | "pool" | "placement" | "signal" | "onEvent" | "session"
  > & { session: RunSession | undefined },
  checked?: CheckedDockerfile,
): Promise<ExitCode> {
  if (pool.registry !== undefined) await checkRegistry(pool.registry.host, io.signal);
  // Shared stages and pinned bases reach the builds as named contexts, which only the Control API
  // carries: with a registry the pool pins its bases unless --no-pin-bases. So do the build's own
  // named contexts, several platforms and a registry cache export, as on one engine.
  const control =
    needsControlApi(flags) ||
    (pool.registry !== undefined && (pool.engines.length >= 2 || flags.pinBases !== false)) ||
    typeof flags.pinBases === "string";
  const members = pool.engines.map((spec) => ({
    name: spec.name,
    capacity: spec.capacity,
    engine: createEngine(poolEngineAddress(spec), io.env, control ? { builder: "control" } : {}),
  }));
  const placement = placeOnPool(
    analysis,
    pool,
    readEarlierReports(io.cwd, flags.contextDir),
    readCacheAffinity(io.cwd, flags.contextDir),
  );
  const mode = chooseProgressMode(flags.progress, io);
  // What each engine will refuse or fetch for what it is given, said before anything is sent.
  const dockerfile = flags.file ?? "Dockerfile";
  const readiness = await runPoolEngineChecks(members, analysis, placement, {
    network: flags.network,
    namedContexts: Object.keys(flags.buildContexts),
    pinBases:
      flags.pinBases !== false &&
      (pool.registry !== undefined || typeof flags.pinBases === "string"),
    signal: io.signal,
  });
  for (const result of readiness) {
    for (const check of result.checks) {
      io.stderr.write(
        `${check.severity}: ${dockerfile}:${check.line}: on ${result.name}: ${check.message}\n  fix: ${check.fix}\n`,
      );
    }
  }
  const refusing = readiness.filter((result) =>
    result.checks.some((check) => check.severity === "error"),
  );
  if (refusing.length > 0) {
    io.stderr.write(
      `stagecraft: ${refusing.map((result) => result.name).join(", ")} would refuse this build; nothing was sent\n`,
    );
    if (mode === "json") {
      const checks = readiness.flatMap((result) =>
        result.checks.map((check) => ({ engine: result.name, ...check })),
      );
      io.stdout.write(`${JSON.stringify({ type: "engine-checks", checks })}\n`);
    }
    return 2;
  }
  const targets = analysis.plan.targets.map((target) => target.id);
  const renderer = createRenderer({
    mode,
    io,
    targets,
    color: shouldUseColor(io.stdout, io.env),
    dockerfile,
  });
  // Every engine's runs report through one view: it sees one run, of every requested target.
  const report = createReportBuilder();
  let started = false;
  const show = (event: BuildEvent): void => {
    if (event.type === "run-finished") return;
    if (event.type === "run-started") {
      if (started) return;
      started = true;
      const stageId = (index: number): string =>
        analysis.graph.stages[index]?.id ?? `stage-${index}`;
      event = {
        ...event,
        targets,
        targetStages: Object.fromEntries(
          analysis.plan.targets.map((target) => [target.id, target.reachable.map(stageId)]),
        ),
        concurrency: members.reduce((sum, member) => sum + member.capacity, 0),
        // The pool pins its bases once; the pool's lines say so, not each run's share of them.
        cache: withoutPins(event.cache),
      };
    }
    report.add(event);
    renderer.onEvent(event);
  };
  const outcome = await runPool({
    ...runOptions,
    analysis,
    signal: io.signal,
    pool: members,
    placement,
    registry: pool.registry?.reference,
    onEvent: show,
  });
  const merged = report.finish();
  renderer.finish(merged, outcome);
  const unwritten = explainUnwrittenOutput(runOptions.session, outcome.targets);
  if (unwritten !== undefined) reportError(io, unwritten);
  if (mode === "json") {
    io.stdout.write(`${JSON.stringify({ type: "pool", ...poolJson(outcome) })}\n`);
  } else {
    io.stdout.write(formatPoolLines(outcome));
  }
  if (flags.report !== undefined) {
    const path = resolve(io.cwd, flags.report);
    writeWhole(path, await formatPoolReportFile(path, merged, outcome, targets));
  }
  const code = outcome.status === "succeeded" ? 0 : outcome.status === "failed" ? 1 : 130;
  if (checked === undefined || flags.check === undefined || code !== 0) return code;
  // Each target's image is on the engine that built it: scan it there.
  const engines = new Map(members.map((member) => [member.name, member.engine]));
  const builds = outcome.runs.flatMap((run) => {
    const engine = engines.get(run.engine);
    return engine === undefined || run.outcome === undefined
      ? []
      : [{ engine, outcome: run.outcome }];
  });
  // Imported only for --check, as in the one-engine path.
  const { checkBuiltImages } = await import("./check.js");
  return checkBuiltImages(io, checked, flags.check.failOn, builds);
}

/**
 * The pool's own lines after the report: the bases pinned once for the pool, where each target
 * was built, what travelled and moved, each engine's busy time.
 */
export function formatPoolLines(outcome: PoolOutcome): string {
  const lines: string[] = [];
  for (const pin of outcome.pins?.pinned ?? []) {
    const how =
      pin.found === undefined
        ? `pushed from ${pin.engine}`
        : `found in the mirror by ${pin.engine} (same ${pin.found === "config" ? "image config" : "layers"})`;
    lines.push(
      `base ${sanitizeLine(pin.reference)} pinned once for the pool: ${how} as ${sanitizeLine(pin.pinned)}`,
    );
  }
  for (const base of outcome.pins?.unpinned ?? []) {
    lines.push(`base ${sanitizeLine(base.reference)} not pinned: ${sanitizeLine(base.reason)}`);
  }
  for (const target of outcome.targets) {
    const error = target.error === undefined ? "" : `: ${target.error.message}`;
    lines.push(`${target.name}  ${target.status} on ${target.engine}${error}`);
  }
  for (const entry of outcome.shared) {
    lines.push(
      entry.reference === undefined
        ? `shared ${entry.stage}: not shared (${entry.error ?? "unknown"}), built where needed`
        : `shared ${entry.stage}: built once on ${entry.engine} in ${formatSeconds(entry.buildMs)}, pushed ` +
            `${formatMegabytes(entry.bytes)} in ${formatSeconds(entry.pushMs)} as ${entry.reference}, read by ${listSharedStageReads(entry).map(describeRead).join(", ")}`,
    );
  }
  const moves = sumSharedStageMoves(outcome.shared);
  if (moves !== undefined) lines.push(`moving shared stages: ${describeSharedStageMoves(moves)}`);
  for (const entry of outcome.moved) {
    lines.push(`moved ${entry.target} from ${entry.from} to ${entry.to}: ${entry.reason}`);
  }
  for (const [engine, ms] of Object.entries(outcome.busyMs)) {
    lines.push(`engine ${engine} busy ${formatSeconds(ms)}`);
  }
  return lines.map((line) => `${line}\n`).join("");
}

type RunCache = Extract<BuildEvent, { type: "run-started" }>["cache"];

/** A run's cache without its pins; undefined when nothing else is left. */
function withoutPins(cache: RunCache): RunCache {
  if (cache === undefined) return undefined;
  const { from, to } = cache;
  return from.length === 0 && to.length === 0 ? undefined : { from, to };
}

/**
 * What `--report FILE` holds after a pool run, by extension as for one engine: a self-contained page
 * (every engine's report, and the shared stages with each reader's pull), or the pool's JSON, which
 * the next placement reads ({@link poolReportJson}).
 */
export async function formatPoolReportFile(
  path: string,
  report: BuildReport,
  outcome: PoolOutcome,
  targets: readonly string[],
): Promise<string> {
  if (!/\.html?$/i.test(path)) return `${JSON.stringify(poolReportJson(outcome), null, 2)}\n`;
  // Imported only for a page, as in the one-engine path.
  const { formatHtmlReport } = await import("../renderers/format-html-report.js");
  return formatHtmlReport(report, {
    title: `stagecraft build ${targets.join(", ")}`,
    shared: outcome.shared,
  });
}

/**
 * The `--report` file of a pool run: the pool's outcome and every build's report (`runs[]`): each
 * engine's run of its targets, and each shared stage's own build (`shared: STAGE`, no targets), so
 * the next placement's estimates (`readEarlierReports`) and cache affinity know what it cost and
 * where it ran.
 */
export function poolReportJson(outcome: PoolOutcome): Record<string, unknown> {
  return {
    ...poolJson(outcome),
    runs: [
      ...outcome.runs.map((run) => ({
        engine: run.engine,
        targets: run.targets,
        busyMs: run.busyMs,
        report: run.outcome?.report ?? null,
        error: run.error?.message ?? null,
      })),
      ...outcome.shared.map((entry) => ({
        engine: entry.engine,
        targets: [],
        shared: entry.stage,
        busyMs: entry.buildMs,
        report: entry.report ?? null,
        error: entry.error ?? null,
      })),
    ],
  };
}

/** The pool's outcome as JSON (the `--report` file, and the `pool` line of `--progress json`). */
function poolJson(outcome: PoolOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    targets: outcome.targets.map((target) => ({
      target: target.name,
      engine: target.engine,
      status: target.status,
      imageId: target.imageId ?? null,
      error: target.error?.message ?? null,
    })),
    // A shared stage's build report is among the --report file's runs.
    shared: outcome.shared.map(({ report: _report, ...entry }) => ({
      ...entry,
      error: entry.error ?? null,
    })),
    moved: outcome.moved,
    busyMs: outcome.busyMs,
    pins: outcome.pins ?? null,
  };
}

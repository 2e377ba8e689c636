import {
  DockerEngine,
  UsageError,
  type Engine,
  type DockerfileAnalysis,
  type DockerfileError,
} from "@stagecraft/core";
import { findStageTypos, formatPlatform } from "@stagecraft/core/dockerfile";
import type { ExitCode, Io } from "../io.js";
import { choiceOption, parseCommandLine, type ParsedOptions } from "../parse-command-line.js";
import { errorToJson, reportError } from "../report-error.js";
import { FRONT_END_OPTIONS, analyzeFromOptions } from "./analyze-from-options.js";
import type { LoadedDockerfile } from "./load-dockerfile.js";
import {
  formatPlacementText,
  placeOnPool,
  placementToJson,
  readCacheAffinity,
  readEarlierReports,
} from "./format-placement.js";
import {
  POOL_HELP,
  POOL_OPTIONS,
  poolEngineAddress,
  readPoolFlags,
  readSingleEngine,
  type PoolFlags,
} from "./read-pool-flags.js";
import { createEngine } from "./engine-address.js";
import {
  runEngineChecks,
  runPoolEngineChecks,
  type EngineChecksResult,
  type PoolEngineChecksResult,
} from "./run-engine-checks.js";

export const PLAN_HELP = `Usage: stagecraft plan [CONTEXT] [options]

Shows what a build of the requested targets would do, without building: the stages each target
needs (BuildKit builds nothing else), the stages they share, the order by level, and the images
that will be resolved. Reads the Dockerfile exactly as BuildKit does.

Options:
  -f, --file FILE       the Dockerfile (default: CONTEXT/Dockerfile)
      --target T        a stage to plan; repeat or separate with commas (default: the last stage)
      --build-arg K=V   a build arg (K alone takes the value from the environment)
      --platform P      the target platform, e.g. linux/arm64 (default: linux/amd64)
      --format FORMAT   text (default) or json
      --no-pull         nothing can be pulled: an image missing from the engine is an error
      --network MODE    the --network the build will use (host allows RUN --network=host)
      --no-engine       do not ask the engine (offline: skips the engine checks)
      --no-pin-bases    with a pool: the build will not pin its bases (build --no-pin-bases), so
                        each engine needs every base its builds use
  -h, --help            show this help

Engine checks: the engine is asked which images it has (never a pull), and for each it lacks
whether its registry would give it (3 s for all), and the plan says what it will refuse or fetch:
missing base and --from images (an error when its registry is unreachable, refuses or lacks it),
digest pins it lacks, a # syntax= frontend image, RUN --network=host without --network host,
RUN --security=insecure.

With a pool, also which engine builds which stage and target, and which shared stages travel
between engines (estimates from CONTEXT/.stagecraft/reports/*.json, reports written by
build --report, else per-instruction defaults), and the engine checks of each engine for what
it is given to build (a base image one engine of the pool has reaches the others pinned):
${POOL_HELP}
Exit codes: 0 the plan was printed, 2 usage or Dockerfile error, or a requested target will
fail before any step runs (the plan says which and why, engine checks included).
`;

/** `stagecraft plan`: prints the build plan as text or JSON. */
export async function planCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  let format: "text" | "json" = "text";
  try {
    const { values, positionals } = parseCommandLine("plan", argv, {
      ...FRONT_END_OPTIONS,
      ...POOL_OPTIONS,
      "no-pull": { type: "boolean" },
      "no-engine": { type: "boolean" },
      "no-pin-bases": { type: "boolean" },
      network: { type: "string" },
    });
    if (values.help === true) {
      io.stdout.write(PLAN_HELP);
      return 0;
    }
    format = choiceOption(values, "format", ["text", "json"] as const, "text");
    if (positionals.length > 1) {
      throw new UsageError(
        `plan takes one build context, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const contextDir = positionals[0] ?? ".";
    const pool = readPoolFlags(values, io.env, io.cwd, contextDir);
    const { dockerfile, analysis } = analyzeFromOptions(io, values, contextDir);
    const reports = pool === undefined ? [] : readEarlierReports(io.cwd, contextDir);
    const placement =
      pool === undefined
        ? undefined
        : placeOnPool(analysis, pool, reports, readCacheAffinity(io.cwd, contextDir));
    const network = choiceOption(
      values,
      "network",
      ["default", "host", "none"] as const,
      "default",
    );
    const canPull = values["no-pull"] !== true;
    const poolChecks =
      pool === undefined || placement === undefined || values["no-engine"] === true
        ? undefined
        : await runPoolEngineChecks(poolMembers(io, pool), analysis, placement, {
            canPull,
            network,
            pinBases: values["no-pin-bases"] !== true && pinsPoolBases(pool),
            signal: io.signal,
          });
    const engineChecks: EngineChecksResult =
      values["no-engine"] === true
        ? { engine: undefined, skipped: "--no-engine", checks: [] }
        : poolChecks !== undefined
          ? {
              engine: undefined,
              skipped: undefined,
              checks: poolChecks.flatMap((result) => result.checks),
            }
          : await runEngineChecks(io.engine ?? singleEngine(io, values), analysis, {
              canPull,
              network,
              signal: io.signal,
            });
    if (format === "json") {
      const json = planToJson(dockerfile, analysis);
      json.engineChecks =
        poolChecks === undefined
          ? {
              engine: engineChecks.engine ?? null,
              skipped: engineChecks.skipped ?? null,
              checks: engineChecks.checks.map((check) => ({
                ...check,
                stage: check.stage ?? null,
              })),
            }
          : poolChecksToJson(poolChecks);
      if (pool !== undefined && placement !== undefined) {
        json.placement = placementToJson(pool, placement, reports.length);
      }
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      io.stdout.write(formatPlanText(dockerfile, analysis));
      io.stdout.write(
        poolChecks === undefined
          ? formatEngineChecks(dockerfile.displayPath, engineChecks)
          : formatPoolEngineChecks(dockerfile.displayPath, poolChecks),
      );
      if (pool !== undefined && placement !== undefined) {
        io.stdout.write(formatPlacementText(pool, placement, reports.length));
      }
    }
    // A requested target that will fail before any step runs makes the plan a failure too, so a
    // CI job that plans first stops here (the plan above says which target and why).
    const willFail =
      analysis.plan.targets.some((target) => target.buildError !== undefined) ||
      engineChecks.checks.some((check) => check.severity === "error");
    return willFail ? 2 : 0;
  } catch (error) {
    if (format === "json") {
      io.stdout.write(`${JSON.stringify({ error: errorToJson(error) }, null, 2)}\n`);
    }
    return reportError(io, error);
  }
}

/** The one engine of a plan: `--engine ADDRESS` (or `STAGECRAFT_ENGINES=ADDRESS`), else DOCKER_HOST's. */
function singleEngine(io: Io, values: ParsedOptions): Engine {
  const address = readSingleEngine(values, io.env, io.cwd);
  return address === undefined ? new DockerEngine({ env: io.env }) : createEngine(address, io.env);
}

/** A pool's engines: those the Io gives (tests), else each as its `--engine` address names it. */
export function poolMembers(io: Io, pool: PoolFlags) {
  return pool.engines.map((spec) => ({
    name: spec.name,
    engine: io.poolEngines?.[spec.name] ?? createEngine(poolEngineAddress(spec), io.env),
  }));
}

/** Whether a build over this pool pins its bases (as `build --engine … --registry …` does by default). */
export function pinsPoolBases(pool: PoolFlags): boolean {
  return pool.registry !== undefined && pool.engines.length >= 2;
}

/** A pool's engine checks in `plan --format json`: every finding with its engine, and each engine's. */
function poolChecksToJson(results: readonly PoolEngineChecksResult[]): Record<string, unknown> {
  const checkJson = (name: string, check: PoolEngineChecksResult["checks"][number]) => ({
    engine: name,
    ...check,
    stage: check.stage ?? null,
  });
  return {
    engine: null,
    skipped: null,
    checks: results.flatMap((result) =>
      result.checks.map((check) => checkJson(result.name, check)),
    ),
    engines: results.map((result) => ({
      name: result.name,
      address: result.engine ?? null,
      builds: result.builds,
      skipped: result.skipped ?? null,
      checks: result.checks.map((check) => checkJson(result.name, check)),
    })),
  };
}

/** A pool's engine checks as a person reads them: per engine, what it builds and what it lacks. */
export function formatPoolEngineChecks(
  file: string,
  results: readonly PoolEngineChecksResult[],
): string {
  const lines = [""];
  for (const result of results) {
    const where = `${result.name}${result.engine === undefined ? "" : ` (${result.engine})`}`;
    const builds = result.builds.length === 0 ? "nothing" : result.builds.join(", ");
    if (result.skipped !== undefined) {
      lines.push(`engine checks on ${where}: skipped (${result.skipped})`);
    } else if (result.checks.length === 0) {
      lines.push(`engine checks on ${where}, building ${builds}: it has what they need`);
    } else {
      lines.push(`engine checks on ${where}, building ${builds}:`);
      for (const check of result.checks) {
        lines.push(
          `  ${check.severity} ${check.rule}  ${file}:${check.line}: on ${result.name}: ${check.message}`,
        );
        lines.push(`    fix: ${check.fix}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The engine checks as a person reads them: one line each with its fix, or why they did not run. */
export function formatEngineChecks(file: string, result: EngineChecksResult): string {
  if (result.skipped !== undefined) return `\nengine checks: skipped (${result.skipped})\n`;
  const where = result.engine === undefined ? "" : ` (${result.engine})`;
  if (result.checks.length === 0)
    return `\nengine checks${where}: the engine has what the build needs\n`;
  const lines = ["", `engine checks${where}:`];
  for (const check of result.checks) {
    lines.push(`  ${check.severity} ${check.rule}  ${file}:${check.line}: ${check.message}`);
    lines.push(`    fix: ${check.fix}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The plan as JSON: the corpus schema (`stages`, `defaultTarget`, `reachable`) plus what users of a plan need. */
export function planToJson(
  dockerfile: LoadedDockerfile,
  analysis: DockerfileAnalysis,
): Record<string, unknown> {
  const { plan, graph, json, ast } = analysis;
  const id = (index: number): string => graph.stages[index]?.id ?? `stage-${index}`;
  return {
    file: dockerfile.displayPath,
    escapeToken: graph.escapeToken,
    directives: ast.directives.map(({ name, value }) => ({ name, value })),
    buildPlatform: formatPlatform(graph.buildPlatform),
    targetPlatform: formatPlatform(graph.targetPlatform),
    stages: json.stages,
    defaultTarget: json.defaultTarget,
    targets: plan.targets.map((target) => ({
      target: target.id,
      requested: target.requested ?? null,
      reachable: target.reachable.map(id),
      buildError: target.buildError === undefined ? null : dockerfileErrorJson(target.buildError),
    })),
    reachable: json.reachable,
    shared: plan.shared.map(id),
    order: plan.order.map(id),
    levels: plan.levels.map((level) => level.map(id)),
    externalImages: plan.externalImages,
    unreachable: graph.stages
      .filter((stage) => !plan.stages.includes(stage.index))
      .map((stage) => stage.id),
    warnings: [
      ...ast.warnings.map((warning) => ({
        rule: "NoEmptyContinuation",
        message: warning.message,
        line: warning.line,
      })),
      ...findStageTypos(graph).map((typo) => ({
        rule: "StageNameTypo",
        message: typo.message,
        line: typo.position.line,
      })),
      ...graph.warnings.map((warning) => ({
        rule: warning.rule,
        message: warning.message,
        line: warning.position.line,
      })),
    ],
  };
}

function dockerfileErrorJson(error: DockerfileError): Record<string, unknown> {
  return { code: error.code, message: error.message, line: error.line, column: error.column };
}

/** The plan as a person reads it. */
export function formatPlanText(dockerfile: LoadedDockerfile, analysis: DockerfileAnalysis): string {
  const { plan, graph, ast } = analysis;
  const id = (index: number): string => graph.stages[index]?.id ?? `stage-${index}`;
  const width = Math.max(...graph.stages.map((stage) => stage.id.length), 6);
  const lines: string[] = [];
  lines.push(
    `${dockerfile.displayPath}: ${graph.stages.length} stage${graph.stages.length === 1 ? "" : "s"}, ` +
      `platform ${formatPlatform(graph.targetPlatform)}`,
  );
  lines.push("");
  lines.push(plan.targets.length === 1 ? "target:" : "targets:");
  const labelOf = (target: (typeof plan.targets)[number]): string =>
    target.requested === undefined ? `${target.id} (default: the last stage)` : target.id;
  const labelWidth = Math.max(...plan.targets.map((target) => labelOf(target).length));
  for (const target of plan.targets) {
    const label = labelOf(target).padEnd(labelWidth);
    lines.push(`  ${label}  builds ${target.reachable.map(id).join(", ")}`);
    if (target.buildError !== undefined) {
      lines.push(
        `    will fail: ${dockerfile.displayPath}:${target.buildError.line}: ${target.buildError.message}`,
      );
    }
  }
  lines.push("");
  lines.push("order (stages of one level can build in parallel):");
  plan.levels.forEach((level, index) => {
    lines.push(`  ${String(index).padStart(2)}  ${level.map(id).join(", ")}`);
  });
  lines.push("");
  lines.push("stages:");
  for (const index of plan.order) {
    const stage = graph.stages[index];
    if (stage === undefined) continue;
    const base =
      stage.base.kind === "stage"
        ? `stage ${id(stage.base.index)}`
        : stage.base.kind === "image"
          ? stage.base.reference
          : "scratch";
    const needs = stage.dependsOn.filter(
      (dep) => dep !== (stage.base.kind === "stage" ? stage.base.index : -1),
    );
    const extra = needs.length === 0 ? "" : `; copies from ${needs.map(id).join(", ")}`;
    const shared = plan.shared.includes(index) ? "  [shared]" : "";
    lines.push(
      `  ${stage.id.padEnd(width)}  line ${String(stage.position.line).padEnd(4)} from ${base}${extra}${shared}`,
    );
  }
  const unreachable = graph.stages.filter((stage) => !plan.stages.includes(stage.index));
  if (unreachable.length > 0) {
    lines.push("");
    lines.push(`not built: ${unreachable.map((stage) => stage.id).join(", ")}`);
  }
  lines.push("");
  lines.push(
    plan.externalImages.length === 0 ? "images: none" : `images: ${plan.externalImages.join(", ")}`,
  );
  const warnings = [
    ...ast.warnings.map(
      (warning) => `${dockerfile.displayPath}:${warning.line}: ${warning.message}`,
    ),
    ...findStageTypos(graph).map(
      (typo) => `${dockerfile.displayPath}:${typo.position.line}: ${typo.message}`,
    ),
    ...graph.warnings.map(
      (warning) => `${dockerfile.displayPath}:${warning.position.line}: ${warning.message}`,
    ),
  ];
  if (warnings.length > 0) {
    lines.push("");
    lines.push("warnings:");
    for (const warning of warnings) lines.push(`  ${warning}`);
  }
  return `${lines.join("\n")}\n`;
}

import {
  DockerEngine,
  UsageError,
  type Engine,
  analyzeDockerfile,
  runBuild,
  type AnalyzeDockerfileOptions,
  type BuildOutcome,
  type DockerfileAnalysis,
  type RunBuildOptions,
} from "@stagecraft/core";
import { BuildkitEngine, type Logger } from "@stagecraft/core/engine";
import { checkBuildkitOutputs } from "./check-buildkit-outputs.js";
import { createEngine, type EngineAddress } from "./engine-address.js";
import { createLogger } from "../create-logger.js";
import type { ExitCode, Io } from "../io.js";
import { parseCommandLine } from "../parse-command-line.js";
import { chooseProgressMode } from "../renderers/choose-progress-mode.js";
import { shouldUseColor } from "../renderers/colors.js";
import { createRenderer } from "../renderers/create-renderer.js";
import { withContextWarnings } from "../renderers/with-context-warnings.js";
import { errorToJson, reportError } from "../report-error.js";
import {
  BUILD_HELP,
  BUILD_OPTIONS,
  checkBudgetTargets,
  needsControlApi,
  readBuildFlags,
  tagsByTarget,
  type BuildFlags,
} from "./build-options.js";
import type { CheckedDockerfile } from "./check.js";
import { readProjectConfig } from "./read-config-file.js";
import { loadDockerfile } from "./load-dockerfile.js";
import { runEngineChecks } from "./run-engine-checks.js";
import { warnOfForeignPlatforms } from "./warn-of-foreign-platforms.js";
import {
  explainOutputError,
  explainUnwrittenOutput,
  readSessionFlags,
  settleOutput,
  type RunSession,
} from "./read-session-flags.js";
import { stageSizeFileOf } from "./stage-size-file.js";
import { writeRunFiles } from "./write-run-files.js";
import { readPoolFlags, readSingleEngine } from "./read-pool-flags.js";

export { BUILD_HELP };

/**
 * `stagecraft build`: reads and checks every flag, the Dockerfile and every output path before the
 * engine is asked anything, builds the requested targets in parallel through `runBuild`, prints the
 * report and writes the report and metadata files.
 */
export async function buildCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  let json = false;
  let session: RunSession | undefined;
  let succeeded = false;
  try {
    const { values, positionals } = parseCommandLine("build", argv, BUILD_OPTIONS);
    if (values.help === true) {
      io.stdout.write(BUILD_HELP);
      return 0;
    }
    const flags = readBuildFlags(values, positionals, io);
    json = flags.progress === "json";
    // Read the Dockerfile before reaching the engine, so its errors come first and cost nothing;
    // before the files read from the context too (.stagecraft/), so a bad context is named as one.
    const dockerfile = loadDockerfile(io.cwd, flags.contextDir, flags.file);
    const pool = readPoolFlags(values, io.env, io.cwd, flags.contextDir);
    const logger = await createLogger(flags.logLevel, flags.logFile);

    const analyzeOptions: AnalyzeDockerfileOptions = {
      file: dockerfile.displayPath,
      targets: flags.targets,
      buildArgs: flags.buildArgs,
      ...(flags.platform === undefined ? {} : { platform: flags.platform }),
    };
    const analysis = analyzeDockerfile(dockerfile.text, analyzeOptions);
    const targets = analysis.plan.targets.map((target) => target.id);
    const tags = tagsByTarget(flags.tags, targets);
    const sizeBudgets = readSizeBudgets(io, flags, targets);
    session = readSessionFlags(io, flags, targets.length);
    let checked: CheckedDockerfile | undefined;
    if (flags.check !== undefined) {
      const { checkBeforeBuild } = await import("./check.js");
      // The checks reuse the Dockerfile read and analysed above; after the build, this result.
      const before = await checkBeforeBuild(
        io,
        {
          contextDir: flags.contextDir,
          file: flags.file,
          targets: flags.targets,
          buildArgs: flags.buildArgs,
          platform: flags.platform,
        },
        flags.check.failOn,
        { dockerfile, options: analyzeOptions, analysis },
      );
      if (before.failed !== undefined) return before.failed;
      checked = before.checked;
    }
    for (const typo of analysis.typos) {
      io.stderr.write(
        `warning: ${dockerfile.displayPath}:${typo.position.line}: ${typo.message}\n`,
      );
    }

    if (pool !== undefined) {
      // Imported here, as `check.js` above: a build on one engine loads neither the pool planner
      // nor the checks.
      const { buildOnPool } = await import("./build-on-pool.js");
      const code = await buildOnPool(
        io,
        flags,
        pool,
        analysis,
        { ...runOptionsOf(flags, io, dockerfile.path, tags, sizeBudgets), session },
        checked,
      );
      succeeded = code === 0;
      return code;
    }

    const engine = engineFor(io, flags, readSingleEngine(values, io.env, io.cwd), logger);
    const refused =
      engine instanceof BuildkitEngine
        ? await checkBuildkitOutputs(io, engine, flags, tags)
        : await checkEngine(io, engine, analysis, flags, dockerfile.displayPath);
    if (refused !== undefined) return refused;
    await warnOfForeignPlatforms(
      io,
      engine,
      analysis,
      flags.platforms ?? (flags.platform === undefined ? undefined : [flags.platform]),
    );

    const renderer = createRenderer({
      mode: chooseProgressMode(flags.progress, io),
      io,
      targets,
      color: shouldUseColor(io.stdout, io.env),
      dockerfile: dockerfile.displayPath,
    });
    const onEvent = withContextWarnings(io, renderer);
    const outcome = await runBuild({
      engine,
      analysis,
      ...runOptionsOf(flags, io, dockerfile.path, tags, sizeBudgets),
      concurrency: flags.concurrency,
      signal: io.signal,
      session,
      logger,
      onEvent,
    });
    succeeded = outcome.status === "succeeded";
    renderer.finish(outcome.report);
    const unwritten = explainUnwrittenOutput(session, outcome.targets);
    if (unwritten !== undefined) reportError(io, unwritten);
    await writeRunFiles(io.cwd, flags, outcome, `stagecraft build ${targets.join(", ")}`);
    const code = exitCodeOf(outcome);
    if (checked === undefined || flags.check === undefined || outcome.status !== "succeeded")
      return code;
    const { checkBuiltImages } = await import("./check.js");
    const imageCode = await checkBuiltImages(io, checked, flags.check.failOn, [
      { engine, outcome },
    ]);
    return code === 0 ? imageCode : code;
  } catch (thrown) {
    // A full disk or an unwritable file under -o is the user's file system, not a bug.
    const error = explainOutputError(session, thrown);
    if (json) {
      io.stdout.write(`${JSON.stringify({ type: "error", error: errorToJson(error) })}\n`);
    }
    if (io.signal.aborted && !(error instanceof UsageError)) {
      io.stderr.write("stagecraft: interrupted\n");
      return 130;
    }
    return reportError(io, error);
  } finally {
    // A tar export appears whole once every target succeeded, or not at all.
    settleOutput(session, succeeded);
  }
}

/** `max-size` in the project's config, for the targets being built; `--size-budget` wins. */
function readSizeBudgets(
  io: Io,
  flags: BuildFlags,
  targets: readonly string[],
): Record<string, number> | undefined {
  const config = readProjectConfig(io.cwd, flags.contextDir);
  const configured = Object.fromEntries(
    Object.entries(config.maxSizes).filter(([target]) => targets.includes(target)),
  );
  return checkBudgetTargets(
    Object.keys(configured).length === 0 && flags.sizeBudgets === undefined
      ? undefined
      : { ...configured, ...flags.sizeBudgets },
    targets,
  );
}

/**
 * The engine a build on one engine talks to: `--engine ADDRESS`'s, else DOCKER_HOST's. On a Docker
 * Engine, named contexts (pinned bases are named contexts too), a registry cache export and several
 * platforms exist only in the Control API (`/build` carries neither and takes one platform); other
 * builds keep the engine's /build. A buildkitd has only the Control API.
 */
function engineFor(
  io: Io,
  flags: BuildFlags,
  address: EngineAddress | undefined,
  logger: Logger | undefined,
): Engine {
  const builder = needsControlApi(flags) || pinsBases(flags) ? ("control" as const) : undefined;
  if (address !== undefined) return createEngine(address, io.env, { builder, logger });
  return new DockerEngine({
    env: io.env,
    ...(logger === undefined ? {} : { logger }),
    ...(builder === undefined ? {} : { builder }),
  });
}

/**
 * Says what the engine will refuse before anything is sent; returns 2 when it would refuse the
 * build. An engine that does not answer skips the checks: the build then says why it cannot reach it.
 */
async function checkEngine(
  io: Io,
  engine: Engine,
  analysis: DockerfileAnalysis,
  flags: BuildFlags,
  displayPath: string,
): Promise<ExitCode | undefined> {
  const readiness = await runEngineChecks(engine, analysis, {
    network: flags.network,
    namedContexts: Object.keys(flags.buildContexts),
    signal: io.signal,
  });
  for (const check of readiness.checks) {
    io.stderr.write(
      `${check.severity}: ${displayPath}:${check.line}: ${check.message}\n  fix: ${check.fix}\n`,
    );
  }
  if (!readiness.checks.some((check) => check.severity === "error")) return undefined;
  io.stderr.write("stagecraft: the engine would refuse this build; nothing was sent\n");
  if (flags.progress === "json") {
    io.stdout.write(`${JSON.stringify({ type: "engine-checks", checks: readiness.checks })}\n`);
  }
  return 2;
}

/** What a build asks of each run, on one engine or over a pool: the flags as run options. */
function runOptionsOf(
  flags: BuildFlags,
  io: Io,
  dockerfilePath: string,
  tags: Record<string, string[]>,
  sizeBudgets: Record<string, number> | undefined,
) {
  return {
    context: {
      dir: flags.contextDir,
      dockerfile: dockerfilePath,
      transfer: flags.contextTransfer,
      cwd: io.cwd,
    },
    tags,
    labels: flags.labels,
    noCache: flags.noCache,
    pull: flags.pull,
    network: flags.network,
    extraHosts: flags.extraHosts,
    cacheFrom: flags.cacheFrom,
    cacheTo: flags.cacheTo,
    push: flags.push,
    pinBases: flags.pinBases,
    platforms: flags.platforms,
    stageSizes: flags.stageSizes,
    namedContexts: flags.buildContexts,
    keepGoing: flags.keepGoing,
    timeoutMs: flags.timeoutMs,
    quietNoticeMs: flags.stallNoticeMs,
    maskValues: flags.secretValues,
    sizeBudgets,
    stageSizeFile: stageSizeFileOf(io.env),
  } satisfies Partial<RunBuildOptions>;
}

/** Whether the run pins its bases: `--pin-bases`, or a registry cache without `--no-pin-bases`. */
function pinsBases(flags: BuildFlags): boolean {
  if (flags.pinBases !== undefined) return flags.pinBases !== false;
  return [...flags.cacheFrom, ...flags.cacheTo].some((entry) => entry.type === "registry");
}

function exitCodeOf(outcome: BuildOutcome): ExitCode {
  const { status } = outcome;
  switch (status) {
    case "succeeded":
      // An image over its size budget is a failure (the report says by how much and why).
      return outcome.report.sizeBudgets?.some((budget) => budget.exceeded) === true ? 1 : 0;
    case "cancelled":
      return 130;
    case "failed":
      return 1;
    default:
      return status satisfies never;
  }
}

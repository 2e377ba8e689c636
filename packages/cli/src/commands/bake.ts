import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DockerEngine, UsageError, analyzeDockerfile, type BuildOutcome } from "@stagecraft/core";
import {
  checkBakePlatforms,
  formatBakePrint,
  imageNamesOf,
  loadBakeFiles,
  planBakeRuns,
  resolveBake,
  runBuildGroups,
  type BakeConfig,
  type BakeFile,
  type BakeRun,
  type BuildGroup,
} from "@stagecraft/core/bake";
import type { Logger } from "@stagecraft/core/engine";
import { createLogger } from "../create-logger.js";
import type { ExitCode, Io } from "../io.js";
import {
  choiceOption,
  listOption,
  parseCommandLine,
  positiveIntegerOption,
  stringOption,
  type OptionTable,
} from "../parse-command-line.js";
import {
  chooseProgressMode,
  type RequestedProgressMode,
} from "../renderers/choose-progress-mode.js";
import { shouldUseColor } from "../renderers/colors.js";
import { createRenderer } from "../renderers/create-renderer.js";
import { withContextWarnings } from "../renderers/with-context-warnings.js";
import { reportError } from "../report-error.js";
import { parseCacheFlag } from "./parse-cache-flags.js";
import {
  explainOutputError,
  explainUnwrittenOutput,
  readSessionFlags,
  settleOutput,
  type RunSession,
} from "./read-session-flags.js";
import { stageSizeFileOf } from "./stage-size-file.js";
import { checkWritableFile, writeRunFiles, writeWhole } from "./write-run-files.js";

export const BAKE_HELP = `Usage: stagecraft bake [FILE...] [TARGET|GROUP...] [options]

Reads docker-bake.hcl, docker-bake.json and the build: sections of compose files as
\`docker buildx bake\` does (the same default files, merged in the same order, or the files named
with -f or as arguments), resolves the targets and groups asked for (default: the group
"default"), and builds them: targets of one context, Dockerfile and build settings in one run
(one context transfer, shared stages built once), all runs as one: one live view, one report,
one --concurrency limit and one --keep-going (or fail-fast) over every target.

Options:
  -f, --file FILE         a bake, JSON or compose file; repeat to merge several
      --print             print the resolved configuration as \`docker buildx bake --print\`, build nothing
      --set T.KEY=VALUE   override a target attribute (T may be a pattern such as *; KEY+=VALUE appends)
      --no-cache          build every step again (= --set *.no-cache=true)
      --pull              look for newer base images (= --set *.pull=true)
      --push              push every target's tags once built (= --set *.output=type=registry)
      --concurrency N     at most N targets build at once, over all runs (default: all)
      --keep-going        let independent targets finish when one fails
      --progress MODE     auto, tty, plain, json or quiet (auto: tty on a terminal, github under
                          GitHub Actions, plain otherwise)
      --report FILE       write the report of every target: JSON, or HTML for a .html name
      --metadata-file F   write bake's metadata file (per target: image digests and names)
      --no-stage-sizes    do not measure the stage a target copies from (as in build: one untagged
                          build of that stage, removed afterwards, when its size is not remembered)
      --log-level LEVEL   stagecraft's own diagnostics: error, warn, info, debug, trace or silent
                          (default: off; info with --log-file)
      --log-file FILE     write diagnostics to FILE instead of stderr
  -h, --help              show this help

Supported in runs: context, dockerfile, dockerfile-inline (a heredoc's lines are shown as the bake
file's), target, args, labels, tags, platforms, no-cache, pull, network (default, host, none),
cache-from (registry refs, as inline cache), secret, ssh, output type=docker/image (the engine's
image store), type=registry or type=image,push=true (pushed once built; name= names the image when
the target has no tags, as in buildx), or one type=local/tar; contexts (directories,
docker-image://REF, target:NAME: that target is built first and read from the engine's image store
under a temporary name). Several platforms in one target build into one image index on an
engine with the containerd image store (through BuildKit's Control API); on a graph-driver store
(overlay2) they are refused before building, with what to change. A platform other than the
engine's is built with a warning that says whether the engine can run its programs and, when it
cannot, which RUN steps would run them. Not yet: cache-to (warned and skipped). --print shows
them all.

Exit codes: 0 every target built, 1 a target failed, 2 usage or bake file error, 130 interrupted.
`;

const OPTIONS: OptionTable = {
  file: { type: "string", short: "f", multiple: true },
  print: { type: "boolean" },
  set: { type: "string", multiple: true },
  "no-cache": { type: "boolean" },
  pull: { type: "boolean" },
  push: { type: "boolean" },
  concurrency: { type: "string" },
  "keep-going": { type: "boolean" },
  progress: { type: "string" },
  report: { type: "string" },
  "metadata-file": { type: "string" },
  "no-stage-sizes": { type: "boolean" },
  "log-level": { type: "string" },
  "log-file": { type: "string" },
  help: { type: "boolean", short: "h" },
};

const FILE_SUFFIX = /\.(hcl|json|ya?ml)$/i;

/** Bake's built-in variables (buildx `commands/bake.go`). */
function builtinVars(): Record<string, string> {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return { BAKE_CMD_CONTEXT: "cwd://", BAKE_LOCAL_PLATFORM: `linux/${arch}` };
}

/** `stagecraft bake`: resolves bake files and prints them (`--print`) or builds their targets. */
export async function bakeCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  try {
    const { values, positionals } = parseCommandLine("bake", argv, OPTIONS);
    if (values.help === true) {
      io.stdout.write(BAKE_HELP);
      return 0;
    }
    const files = listOption(values, "file");
    const targets: string[] = [];
    for (const positional of positionals) {
      if (FILE_SUFFIX.test(positional) && existsSync(resolve(io.cwd, positional)))
        files.push(positional);
      else targets.push(positional);
    }
    // Every flag is read before anything else: `--print` with a bad one is refused as a build would be.
    const runFlags: RunFlags = {
      concurrency: positiveIntegerOption(values, "concurrency"),
      keepGoing: values["keep-going"] === true,
      progress: choiceOption(
        values,
        "progress",
        ["auto", "tty", "plain", "json", "quiet"] as const,
        "auto",
      ),
      report: stringOption(values, "report"),
      metadataFile: stringOption(values, "metadata-file"),
      stageSizes: values["no-stage-sizes"] !== true,
    };
    if (runFlags.report !== undefined) {
      checkWritableFile("--report", resolve(io.cwd, runFlags.report));
    }
    if (runFlags.metadataFile !== undefined) {
      checkWritableFile("--metadata-file", resolve(io.cwd, runFlags.metadataFile));
    }
    // As in build: a bad level or an unopenable log file is refused before anything else is read.
    const logger = await createLogger(
      stringOption(values, "log-level"),
      stringOption(values, "log-file"),
    );
    const overrides = listOption(values, "set");
    if (values["no-cache"] === true) overrides.push("*.no-cache=true");
    if (values.pull === true) overrides.push("*.pull=true");
    if (values.push === true) overrides.push("*.output=type=registry");
    const bakeFiles = loadBakeFiles(io.cwd, files, () => readFileSync(0, "utf8"));
    const config = resolveBake(bakeFiles, {
      targets,
      overrides,
      env: io.env,
      vars: builtinVars(),
    });
    if (values.print === true) {
      io.stdout.write(formatBakePrint(config));
      return 0;
    }
    return await runBake(io, config, { ...runFlags, logger }, bakeFiles);
  } catch (error) {
    if (io.signal.aborted && !(error instanceof UsageError)) {
      io.stderr.write("stagecraft: interrupted\n");
      return 130;
    }
    return reportError(io, error);
  }
}

interface RunFlags {
  concurrency: number | undefined;
  keepGoing: boolean;
  progress: RequestedProgressMode;
  report: string | undefined;
  metadataFile: string | undefined;
  /** False for `--no-stage-sizes`. */
  stageSizes: boolean;
  /** `--log-level` / `--log-file`: the engines' and the scheduler's diagnostics. */
  logger?: Logger | undefined;
}

/** The engine option that hands `--log-level`'s logger on, when there is one. */
function logged(flags: RunFlags): { logger?: Logger } {
  return flags.logger === undefined ? {} : { logger: flags.logger };
}

/** A bake run as one group of the whole run, and the bake targets each of its targets serves. */
interface PreparedGroup {
  group: BuildGroup;
  /** The group's session, whose tar output is settled once the run is over. */
  session: RunSession | undefined;
  /** Bake target names by the name the group's target has in the run. */
  bakeTargets: Record<string, string[]>;
}

/**
 * A group's name, for the stages two Dockerfiles both have (`app/base`): its context directory when
 * that tells the groups apart, else its first bake target's name.
 */
function groupNames(runs: readonly BakeRun[]): string[] {
  const dirs = runs.map((run) => run.context.replace(/^\.\/+/, "").replace(/\/+$/, ""));
  const distinct =
    new Set(dirs).size === dirs.length && !dirs.some((dir) => dir === "." || dir === "");
  return distinct ? dirs : runs.map((run) => run.name);
}

/**
 * The run's Dockerfile text and the path the build reads it from: a `dockerfile-inline` is written
 * to a file of its own outside the context (sent as `docker build -f -` sends one), in `scratch`.
 */
function readDockerfile(io: Io, run: BakeRun, scratch: string[]): { text: string; path: string } {
  if (run.dockerfileInline !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-inline-"));
    scratch.push(dir);
    const path = join(dir, "Dockerfile");
    writeFileSync(path, run.dockerfileInline);
    return { text: run.dockerfileInline, path };
  }
  const path = resolve(io.cwd, run.dockerfile);
  if (!existsSync(path)) {
    throw new UsageError(`target "${run.name}": the Dockerfile ${run.dockerfile} does not exist`);
  }
  return { text: readFileSync(path, "utf8"), path: run.dockerfile };
}

function prepareGroup(
  io: Io,
  run: BakeRun,
  name: string,
  scratch: string[],
  flags: RunFlags,
): PreparedGroup {
  const { text, path: dockerfilePath } = readDockerfile(io, run, scratch);
  const base = {
    file: run.dockerfile,
    buildArgs: run.buildArgs,
    ...(run.platforms[0] === undefined ? {} : { platform: run.platforms[0] }),
  };
  // One analysis per run: `undefined` asks for the last stage beside the named ones.
  const analysis = analyzeDockerfile(text, { ...base, targets: run.stages });
  const { graph } = analysis;
  const idOf = (stage: string | undefined): string => {
    const index =
      stage === undefined
        ? graph.defaultTarget
        : graph.stages.findLastIndex((entry) => entry.name?.toLowerCase() === stage.toLowerCase());
    return graph.stages[index]?.id ?? stage ?? "";
  };
  const bakeTargetsByStage: Record<string, string[]> = {};
  const tags: Record<string, string[]> = {};
  for (const stage of run.stages) {
    const key = stage ?? "";
    const id = idOf(stage);
    bakeTargetsByStage[id] = [
      ...(bakeTargetsByStage[id] ?? []),
      ...(run.targetsByStage[key] ?? []),
    ];
    tags[id] = [...new Set([...(tags[id] ?? []), ...(run.tagsByStage[key] ?? [])])];
  }
  const ids = analysis.plan.targets.map((target) => target.id);
  const session = readSessionFlags(
    io,
    { secret: run.secrets, ssh: run.ssh, output: run.output },
    ids.length,
    `target "${run.name}".output ${run.output ?? ""}`,
  );
  // A stage several bake targets ask for is built once; the run names it after all of them.
  const targetNames: Record<string, string> = {};
  const bakeTargets: Record<string, string[]> = {};
  for (const [id, names] of Object.entries(bakeTargetsByStage)) {
    const name = names.join(",");
    targetNames[id] = name;
    bakeTargets[name] = names;
  }
  const hasNamedContexts =
    Object.keys(run.namedContexts).length + Object.keys(run.contextsFrom).length > 0;
  // Named contexts and an image index of several platforms exist only in BuildKit's Control API
  // (`/build` carries no named context and takes one platform), as in build.
  const several = run.platforms.length > 1;
  return {
    group: {
      name,
      targetNames,
      ...(hasNamedContexts || several
        ? { engine: new DockerEngine({ env: io.env, builder: "control", ...logged(flags) }) }
        : {}),
      options: {
        analysis,
        context: { dir: run.context, dockerfile: dockerfilePath, cwd: io.cwd },
        tags,
        labels: run.labels,
        noCache: run.noCache,
        pull: run.pull,
        ...(run.network === undefined ? {} : { network: run.network }),
        cacheFrom: run.cacheFrom.map((value) => parseCacheFlag("--cache-from", value)),
        session,
        push: run.push,
        // As in build: a stage size measured once is remembered, so a cached run probes nothing.
        stageSizeFile: stageSizeFileOf(io.env),
        stageSizes: flags.stageSizes,
        ...(hasNamedContexts ? { namedContexts: run.namedContexts } : {}),
        ...(several ? { platforms: run.platforms } : {}),
      },
    },
    bakeTargets,
    session,
  };
}

async function runBake(
  io: Io,
  config: BakeConfig,
  flags: RunFlags,
  files: readonly BakeFile[],
): Promise<ExitCode> {
  const scratch: string[] = [];
  const engine = new DockerEngine({ env: io.env, ...logged(flags) });
  const runs = planBakeRuns(config, files);
  try {
    return await runBakeRuns(io, config, flags, runs, engine, scratch);
  } finally {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  }
}

async function runBakeRuns(
  io: Io,
  config: BakeConfig,
  flags: RunFlags,
  runs: readonly BakeRun[],
  engine: DockerEngine,
  scratch: string[],
): Promise<ExitCode> {
  const names = groupNames(runs);
  const prepared = runs.map((run, index) =>
    prepareGroup(io, run, names[index] ?? run.name, scratch, flags),
  );
  // Several platforms where no image index fits are refused, and each foreign one explained (its
  // RUN steps named), before anything is built.
  const analyses = prepared.map((entry) => entry.group.options.analysis);
  for (const warning of await checkBakePlatforms(runs, engine, { signal: io.signal, analyses })) {
    io.stderr.write(`warning: ${warning}\n`);
  }
  // `target:NAME` contexts: the run's name of the target that builds bake target NAME.
  const runNameOf = new Map(
    prepared.flatMap((entry) =>
      Object.entries(entry.bakeTargets).flatMap(([runName, bakeNames]) =>
        bakeNames.map((bakeName) => [bakeName, runName] as const),
      ),
    ),
  );
  runs.forEach((run, index) => {
    const group = prepared[index]?.group;
    if (group === undefined || Object.keys(run.contextsFrom).length === 0) return;
    group.contextsFrom = Object.fromEntries(
      Object.entries(run.contextsFrom).map(([context, bakeName]) => [
        context,
        runNameOf.get(bakeName) ?? bakeName,
      ]),
    );
  });
  for (const run of runs)
    for (const warning of run.warnings) io.stderr.write(`warning: ${warning}\n`);
  const dockerfiles = [...new Set(runs.map((run) => run.dockerfile))];
  const renderer = createRenderer({
    mode: chooseProgressMode(flags.progress, io),
    io,
    targets: prepared.flatMap((entry) => Object.keys(entry.bakeTargets)),
    color: shouldUseColor(io.stdout, io.env),
    // Locations are `FILE:LINE`, each in the file of its target's group.
    dockerfile: dockerfiles.length === 1 ? dockerfiles[0] : "Dockerfile",
    dockerfiles: Object.fromEntries(
      prepared.flatMap((entry, index) =>
        Object.keys(entry.bakeTargets).map((name) => [name, runs[index]?.dockerfile ?? ""]),
      ),
    ),
  });
  const outcome = await runBuildGroups({
    engine,
    groups: prepared.map((entry) => entry.group),
    concurrency: flags.concurrency,
    keepGoing: flags.keepGoing,
    signal: io.signal,
    logger: flags.logger,
    onEvent: withContextWarnings(io, renderer),
  }).catch((error: unknown) => {
    for (const entry of prepared) settleOutput(entry.session, false);
    // A full disk or an unwritable file under an output is the user's file system, not a bug.
    const exporting = prepared.filter((entry) => entry.session?.output !== undefined);
    throw exporting.length === 1 ? explainOutputError(exporting[0]?.session, error) : error;
  });
  // Each run's tar appears whole once its own targets succeeded, or not at all: an output that
  // could not be written fails its target alone, and the others' outputs stay.
  prepared.forEach((entry, index) => {
    const targets = outcome.groups[index]?.outcome?.targets ?? [];
    settleOutput(
      entry.session,
      targets.length > 0 && targets.every((target) => target.status === "succeeded"),
    );
  });
  renderer.finish(outcome.report);
  for (const [index, entry] of prepared.entries()) {
    const unwritten = explainUnwrittenOutput(
      entry.session,
      outcome.groups[index]?.outcome?.targets ?? [],
    );
    if (unwritten !== undefined) reportError(io, unwritten);
  }
  const title = `stagecraft bake ${Object.keys(config.target).join(", ")}`;
  await writeRunFiles(io.cwd, { report: flags.report, metadataFile: undefined }, outcome, title);
  if (flags.metadataFile !== undefined) {
    const bakeTargets = Object.assign({}, ...prepared.map((entry) => entry.bakeTargets)) as Record<
      string,
      string[]
    >;
    writeWhole(
      resolve(io.cwd, flags.metadataFile),
      formatBakeMetadata(outcome, bakeTargets, config),
    );
  }
  switch (outcome.status) {
    case "succeeded":
      return 0;
    case "failed":
      return 1;
    case "cancelled":
      return 130;
    default:
      return outcome.status satisfies never;
  }
}

/**
 * `docker buildx bake --metadata-file`: per bake target that made an image, its config digest, its
 * image digest (the manifest digest the registry stored once pushed; else the image id, which is
 * what buildx writes on the engine's own image store) and its names as buildx writes them
 * (`docker.io/library/app`). `buildx.build.ref` names a buildx builder's record: there is none.
 */
export function formatBakeMetadata(
  outcome: BuildOutcome,
  bakeTargets: Readonly<Record<string, readonly string[]>>,
  config: BakeConfig,
): string {
  const published = new Map(
    (outcome.report.published ?? []).map((entry) => [entry.target, entry.tags]),
  );
  const metadata: Record<string, Record<string, string>> = {};
  for (const result of outcome.targets) {
    if (result.status !== "succeeded" || result.imageId === undefined || result.imageId === "")
      continue;
    for (const name of bakeTargets[result.name] ?? [result.name]) {
      const target = config.target[name];
      const tags = target === undefined ? [] : imageNamesOf(target);
      const pushed = published.get(result.name)?.find((entry) => tags.includes(entry.tag));
      metadata[name] = {
        "containerimage.config.digest": result.imageId,
        "containerimage.digest": pushed?.digest ?? result.imageId,
        ...(tags.length === 0 ? {} : { "image.name": tags.map(normalizeImageName).join(",") }),
      };
    }
  }
  return `${JSON.stringify(metadata, null, 2)}\n`;
}

/** `app` → `docker.io/library/app`, `me/app:1` → `docker.io/me/app:1`, as docker's reference package. */
function normalizeImageName(name: string): string {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasDomain = first.includes(".") || first.includes(":") || first === "localhost";
  if (hasDomain) return name;
  return slash === -1 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

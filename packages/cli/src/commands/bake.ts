import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  DockerEngine,
  UsageError,
  analyzeDockerfile,
  runBuild,
  type BuildEvent,
  type BuildOutcome,
} from "@stagecraft/core";
import {
  formatBakePrint,
  loadBakeFiles,
  planBakeRuns,
  resolveBake,
  type BakeConfig,
  type BakeRun,
} from "@stagecraft/core/bake";
import type { ExitCode, Io, Output } from "../io.js";
import {
  choiceOption,
  listOption,
  parseCommandLine,
  positiveIntegerOption,
  stringOption,
  type OptionTable,
} from "../parse-command-line.js";
import { createRenderer } from "../renderers/create-renderer.js";
import { reportError } from "../report-error.js";
import { parseCacheFlag } from "./parse-cache-flags.js";
import { readSessionFlags } from "./read-session-flags.js";
import { checkWritableFile, writeWhole } from "./write-run-files.js";

export const BAKE_HELP = `Usage: stagecraft bake [FILE...] [TARGET|GROUP...] [options]

Reads docker-bake.hcl, docker-bake.json and the build: sections of compose files as
\`docker buildx bake\` does (the same default files, merged in the same order, or the files named
with -f or as arguments), resolves the targets and groups asked for (default: the group
"default"), and builds them: targets of one context, Dockerfile and build settings in one run
(one context transfer, shared stages built once), the runs side by side.

Options:
  -f, --file FILE         a bake, JSON or compose file; repeat to merge several
      --print             print the resolved configuration as \`docker buildx bake --print\`, build nothing
      --set T.KEY=VALUE   override a target attribute (T may be a pattern such as *; KEY+=VALUE appends)
      --no-cache          build every step again (= --set *.no-cache=true)
      --pull              look for newer base images (= --set *.pull=true)
      --concurrency N     at most N targets build at once, over all runs (default: all)
      --keep-going        let independent targets finish when one fails
      --progress MODE     plain (default when several runs), quiet or json
      --report FILE       write the runs' reports as one JSON file
      --metadata-file F   write bake's metadata file (per target: image config digest and names)
  -h, --help              show this help

Supported in runs: context, dockerfile, target, args, labels, tags, one platform, no-cache, pull,
network (default, host, none), cache-from (registry refs, as inline cache), secret, ssh, output
type=docker/image (the engine's image store) or one type=local/tar. Not yet: dockerfile-inline,
named contexts, several platforms, cache-to (warned and skipped), push. --print shows them all.

Exit codes: 0 every target built, 1 a target failed, 2 usage or bake file error, 130 interrupted.
`;

const OPTIONS: OptionTable = {
  file: { type: "string", short: "f", multiple: true },
  print: { type: "boolean" },
  set: { type: "string", multiple: true },
  "no-cache": { type: "boolean" },
  pull: { type: "boolean" },
  concurrency: { type: "string" },
  "keep-going": { type: "boolean" },
  progress: { type: "string" },
  report: { type: "string" },
  "metadata-file": { type: "string" },
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
      progress: choiceOption(values, "progress", ["plain", "quiet", "json"] as const, "plain"),
      report: stringOption(values, "report"),
      metadataFile: stringOption(values, "metadata-file"),
    };
    if (runFlags.report !== undefined) {
      checkWritableFile("--report", resolve(io.cwd, runFlags.report));
    }
    if (runFlags.metadataFile !== undefined) {
      checkWritableFile("--metadata-file", resolve(io.cwd, runFlags.metadataFile));
    }
    const overrides = listOption(values, "set");
    if (values["no-cache"] === true) overrides.push("*.no-cache=true");
    if (values.pull === true) overrides.push("*.pull=true");
    const config = resolveBake(
      loadBakeFiles(io.cwd, files, () => readFileSync(0, "utf8")),
      { targets, overrides, env: io.env, vars: builtinVars() },
    );
    if (values.print === true) {
      io.stdout.write(formatBakePrint(config));
      return 0;
    }
    return await runBake(io, config, runFlags);
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
  progress: "plain" | "quiet" | "json";
  report: string | undefined;
  metadataFile: string | undefined;
}

/** An output that puts `[name] ` before every line, so several runs can share one terminal. */
function prefixed(output: Output, prefix: string): Output {
  let atLineStart = true;
  return {
    isTTY: false,
    columns: output.columns,
    write(text) {
      let out = "";
      for (const char of text) {
        if (atLineStart) out += prefix;
        out += char;
        atLineStart = char === "\n";
      }
      output.write(out);
    },
  };
}

interface PreparedRun {
  run: BakeRun;
  /** Bake target names by the stage id the run builds. */
  targetsByStageId: Record<string, string[]>;
  start: (concurrency: number | undefined) => Promise<BuildOutcome>;
}

function prepareRun(io: Io, run: BakeRun, flags: RunFlags, several: boolean): PreparedRun {
  const dockerfilePath = resolve(io.cwd, run.dockerfile);
  if (!existsSync(dockerfilePath)) {
    throw new UsageError(`target "${run.name}": the Dockerfile ${run.dockerfile} does not exist`);
  }
  const text = readFileSync(dockerfilePath, "utf8");
  const base = {
    file: run.dockerfile,
    buildArgs: run.buildArgs,
    ...(run.platform === undefined ? {} : { platform: run.platform }),
  };
  // The last stage ("" in the run) gets its id from an analysis without targets.
  const lastStage = analyzeDockerfile(text, base).plan.targets[0]?.id ?? "";
  const targetsByStageId: Record<string, string[]> = {};
  const tags: Record<string, string[]> = {};
  for (const stage of run.stages) {
    const key = stage ?? "";
    const id = stage ?? lastStage;
    targetsByStageId[id] = [...(targetsByStageId[id] ?? []), ...(run.targetsByStage[key] ?? [])];
    tags[id] = [...new Set([...(tags[id] ?? []), ...(run.tagsByStage[key] ?? [])])];
  }
  const analysis = analyzeDockerfile(text, { ...base, targets: Object.keys(targetsByStageId) });
  const ids = analysis.plan.targets.map((target) => target.id);
  const session = readSessionFlags(
    io,
    { secret: run.secrets, ssh: run.ssh, output: run.output },
    ids.length,
  );
  const label = `[${run.name}] `;
  const runIo: Io = several
    ? { ...io, stdout: prefixed(io.stdout, label), stderr: prefixed(io.stderr, label) }
    : io;
  for (const warning of run.warnings) runIo.stderr.write(`warning: ${warning}\n`);
  const renderer = createRenderer({
    mode: flags.progress,
    io: runIo,
    targets: ids,
    color: false,
    dockerfile: run.dockerfile,
  });
  const start = async (concurrency: number | undefined): Promise<BuildOutcome> => {
    const outcome = await runBuild({
      engine: new DockerEngine({ env: io.env }),
      analysis,
      context: { dir: run.context, dockerfile: run.dockerfile, cwd: io.cwd },
      tags,
      labels: run.labels,
      noCache: run.noCache,
      pull: run.pull,
      ...(run.network === undefined ? {} : { network: run.network }),
      cacheFrom: run.cacheFrom.map((value) => parseCacheFlag("--cache-from", value)),
      concurrency,
      keepGoing: flags.keepGoing,
      signal: io.signal,
      session,
      onEvent: (event: BuildEvent) => {
        renderer.onEvent(event);
      },
    });
    renderer.finish(outcome.report);
    return outcome;
  };
  return { run, targetsByStageId, start };
}

/** Splits a concurrency budget over runs by their target counts, at least one each. */
function shareBudget(budget: number | undefined, sizes: readonly number[]): (number | undefined)[] {
  if (budget === undefined) return sizes.map(() => undefined);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  return sizes.map((size) => Math.max(1, Math.min(size, Math.floor((budget * size) / total))));
}

async function runBake(io: Io, config: BakeConfig, flags: RunFlags): Promise<ExitCode> {
  const runs = planBakeRuns(config);
  const prepared = runs.map((run) => prepareRun(io, run, flags, runs.length > 1));
  const budgets = shareBudget(
    flags.concurrency,
    prepared.map((p) => Object.keys(p.targetsByStageId).length),
  );
  const outcomes = await Promise.all(prepared.map((p, i) => p.start(budgets[i])));

  const metadata: Record<string, unknown> = {};
  prepared.forEach((p, i) => {
    const outcome = outcomes[i];
    if (outcome === undefined) return;
    for (const result of outcome.targets) {
      if (result.status !== "succeeded" || result.imageId === undefined) continue;
      for (const name of p.targetsByStageId[result.name] ?? []) {
        const tags = config.target[name]?.tags ?? [];
        metadata[name] = {
          "containerimage.config.digest": result.imageId === "" ? null : result.imageId,
          ...(tags.length === 0 ? {} : { "image.name": tags.join(",") }),
        };
      }
    }
  });
  if (flags.report !== undefined) {
    const report = {
      runs: prepared.map((p, i) => ({
        name: p.run.name,
        context: p.run.context,
        dockerfile: p.run.dockerfile,
        targets: p.targetsByStageId,
        report: outcomes[i]?.report,
      })),
    };
    writeWhole(resolve(io.cwd, flags.report), `${JSON.stringify(report, null, 2)}\n`);
  }
  if (flags.metadataFile !== undefined) {
    writeWhole(resolve(io.cwd, flags.metadataFile), `${JSON.stringify(metadata, null, 2)}\n`);
  }
  if (outcomes.some((outcome) => outcome.status === "failed")) return 1;
  return outcomes.some((outcome) => outcome.status === "cancelled") ? 130 : 0;
}

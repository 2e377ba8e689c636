import type { BuildOutcome } from "@stagecraft/core";
import { UsageError } from "@stagecraft/core/errors";
import {
  CHECK_RULES,
  attributeLayerFiles,
  checkDockerfile,
  type BaseImageConfig,
  type ImageLayerFiles,
  type CheckOptions,
  type CheckReport,
  type CheckSeverity,
} from "@stagecraft/core/checks";
import { gatherContextFacts, scanImageLayers } from "@stagecraft/core/engine";
import type { ExitCode, Io } from "../io.js";
import {
  choiceOption,
  parseCommandLine,
  stringOption,
  type OptionTable,
} from "../parse-command-line.js";
import {
  checkReportToJson,
  checkReportToSarif,
  formatCheckAnnotations,
  formatCheckText,
} from "../renderers/format-check-report.js";
import { errorToJson, reportError } from "../report-error.js";
import { VERSION } from "../version.js";
import {
  FRONT_END_OPTIONS,
  analyzeRequest,
  readFrontEndRequest,
  type FrontEndRequest,
} from "./analyze-from-options.js";

export const CHECK_HELP = `Usage: stagecraft check [CONTEXT] [options]

Checks a Dockerfile for the targets you build, without building: BuildKit's own build checks (the
same rule names and messages; "# check=skip=…;error=true" honoured as BuildKit does; Docker 26.1
cannot run them itself) and rules that know which stages ship (the final stages of the requested
targets) from those that only build: a shipped stage running as root (also when inherited from the
base image, whose config is read from the engine when it has the image), build tools in a shipped
stage, the whole source copied before the dependency install, secrets in ARG/ENV, a --from BuildKit
would pull as an image although a stage has a near name, untagged or :latest bases, cache mounts
written by concurrent targets, and heavy directories sent without a .dockerignore.

Options:
  -f, --file FILE         the Dockerfile (default: CONTEXT/Dockerfile)
      --target T          a target to check; repeat or separate with commas (default: the last stage)
      --build-arg K=V     a build arg (K alone takes the value from the environment)
      --platform P        the target platform, e.g. linux/arm64 (default: linux/amd64)
      --format FORMAT     text (default), json, or sarif (SARIF 2.1.0, for GitHub code scanning)
      --fail-on LEVEL     exit 1 on a finding of LEVEL or worse: error (default), warning, never
      --offline           do not ask the engine for the base images' configs
      --list-rules        list the rules and exit
  -h, --help              show this help

Text output is one line per finding, FILE:LINE:COLUMN: SEVERITY RULE: message (fix: …); under
GitHub Actions (GITHUB_ACTIONS=true) the findings are printed as annotations instead.
Skip a rule for the whole file with "# check=skip=RULE" on the first line, or for one instruction
with a "# check=skip=RULE" comment right above it (stagecraft's own rules too).

Exit codes: 0 nothing at or above --fail-on, 1 a finding at or above it, 2 usage or Dockerfile error.
`;

const OPTIONS: OptionTable = {
  ...FRONT_END_OPTIONS,
  "fail-on": { type: "string" },
  offline: { type: "boolean" },
  "list-rules": { type: "boolean" },
};

/** Which findings fail the command. */
export type FailOn = "error" | "warning" | "never";

/** What to check: the inputs of a build. */
export interface CheckRequest extends FrontEndRequest {
  readonly offline: boolean;
  /** The files of each built target's layers, by stage id (`build --check` after the build). */
  readonly imageLayers?: ReadonlyMap<string, readonly ImageLayerFiles[]> | undefined;
}

/** `stagecraft check`: prints the findings as text, JSON, SARIF or GitHub annotations. */
export async function checkCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  let format: "text" | "json" | "sarif" = "text";
  try {
    const { values, positionals } = parseCommandLine("check", argv, OPTIONS);
    if (values.help === true) {
      io.stdout.write(CHECK_HELP);
      return 0;
    }
    if (values["list-rules"] === true) {
      io.stdout.write(formatRuleList());
      return 0;
    }
    format = choiceOption(values, "format", ["text", "json", "sarif"] as const, "text");
    const failOn = parseFailOn(stringOption(values, "fail-on"));
    if (positionals.length > 1) {
      throw new UsageError(
        `check takes one build context, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const { file, report } = await runChecks(io, {
      ...readFrontEndRequest(io, values, positionals[0] ?? "."),
      offline: values.offline === true,
    });
    if (format === "json") {
      io.stdout.write(`${JSON.stringify(checkReportToJson(file, report), null, 2)}\n`);
    } else if (format === "sarif") {
      io.stdout.write(`${JSON.stringify(checkReportToSarif(file, report, VERSION), null, 2)}\n`);
    } else {
      writeFindings(io, file, report);
    }
    return exitCodeFor(report, failOn);
  } catch (error) {
    if (format !== "text") {
      io.stdout.write(`${JSON.stringify({ error: errorToJson(error) }, null, 2)}\n`);
    }
    return reportError(io, error);
  }
}

/** A Dockerfile checked before a build, with what was learnt for it (reused after the build). */
export interface CheckedDockerfile {
  readonly file: string;
  readonly text: string;
  /** The inputs the checks ran with: analysis, context facts, base image configs. */
  readonly options: CheckOptions;
  readonly report: CheckReport;
}

/**
 * `stagecraft build --check`: checks before anything is sent; prints the findings on stderr (as
 * annotations on stdout under GitHub Actions). `failed` is 1 when they fail per `--fail-on` (build
 * nothing); `checked` is what {@link checkBuiltImages} reuses after the build.
 */
export async function checkBeforeBuild(
  io: Io,
  request: Omit<CheckRequest, "offline">,
  failOnText: string | undefined,
  analyzed?: AnalyzedRequest,
): Promise<{ failed: 1 | undefined; checked: CheckedDockerfile }> {
  const failOn = parseFailOn(failOnText);
  const checked = await runChecks(io, { ...request, offline: false }, analyzed);
  writeFindings(io, checked.file, checked.report, io.stderr);
  if (exitCodeFor(checked.report, failOn) === 0) return { failed: undefined, checked };
  io.stderr.write(
    `stagecraft: --check found ${failOn === "warning" ? "warnings or errors" : "errors"}; nothing was built\n`,
  );
  return { failed: 1, checked };
}

/** A build whose images are to be scanned, and the engine that holds them. */
export interface BuiltImages {
  readonly engine: Parameters<typeof scanImageLayers>[0];
  readonly outcome: BuildOutcome;
}

/**
 * `stagecraft build --check`, after the build: scans the files of each built target's image (layer
 * by layer, named with the stage and line that made it) on the engine that built it and prints what
 * that adds to the findings from before the build; returns 1 when those fail per `--fail-on`. The
 * Dockerfile, its analysis, the context facts and the base image configs are those of `checked`:
 * nothing is read again, and the rules run once more only for the image layers.
 */
export async function checkBuiltImages(
  io: Io,
  checked: CheckedDockerfile,
  failOnText: string | undefined,
  builds: readonly BuiltImages[],
): Promise<0 | 1> {
  const failOn = parseFailOn(failOnText);
  const imageLayers = new Map<string, ImageLayerFiles[]>();
  const scans = builds.flatMap(({ engine, outcome }) =>
    outcome.report.targets.map(async (target) => {
      if (target.status !== "succeeded" || target.imageId === null) return;
      try {
        const scan = await scanImageLayers(engine, target.imageId, { signal: io.signal });
        imageLayers.set(target.target, attributeLayerFiles(scan.layers, target.layers ?? []));
      } catch (error) {
        // The image is built; what could not be read is said, not a failure of the build.
        if (io.signal.aborted) throw error;
        io.stderr.write(
          `note: the files of ${target.target}'s image were not checked: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      }
    }),
  );
  await Promise.all(scans);
  if (imageLayers.size === 0) return 0;
  const after = checkDockerfile(checked.text, { ...checked.options, imageLayers });
  const known = new Set(checked.report.findings.map(findingKey));
  const report = {
    ...after,
    findings: after.findings.filter((finding) => !known.has(findingKey(finding))),
    // Those printed before the build stay out; what the image scan adds (a layer it could not
    // read) is said.
    notes: after.notes.filter((note) => !checked.report.notes.includes(note)),
  };
  writeFindings(io, checked.file, report, io.stderr);
  if (exitCodeFor(report, failOn) === 0) return 0;
  io.stderr.write(
    `stagecraft: --check found ${failOn === "warning" ? "warnings or errors" : "errors"} in the built images\n`,
  );
  return 1;
}

function findingKey(finding: CheckReport["findings"][number]): string {
  return `${finding.rule}:${finding.location.line}:${finding.message}`;
}

function parseFailOn(value: string | undefined): FailOn {
  if (value === undefined) return "error";
  if (value === "error" || value === "warning" || value === "never") return value;
  throw new UsageError(`--fail-on must be one of error, warning, never (got "${value}")`, {
    hint: "--fail-on warning also fails on warnings; never always exits 0 after printing.",
  });
}

const RANK: Readonly<Record<CheckSeverity, number>> = { info: 0, warning: 1, error: 2 };

function exitCodeFor(report: CheckReport, failOn: FailOn): 0 | 1 {
  if (failOn === "never") return 0;
  const threshold = failOn === "warning" ? RANK.warning : RANK.error;
  return report.findings.some((finding) => RANK[finding.severity] >= threshold) ? 1 : 0;
}

function writeFindings(
  io: Io,
  file: string,
  report: CheckReport,
  out: Io["stdout"] = io.stdout,
): void {
  if (io.env.GITHUB_ACTIONS === "true") io.stdout.write(formatCheckAnnotations(file, report));
  else out.write(formatCheckText(file, report));
  for (const note of report.notes) io.stderr.write(`note: ${note}\n`);
}

/** The Dockerfile read and analysed for a request (what {@link analyzeRequest} returns). */
export type AnalyzedRequest = ReturnType<typeof analyzeRequest>;

/**
 * Reads the Dockerfile (unless `analyzed` has it), gathers the facts only I/O can learn (context,
 * base images), and checks.
 */
export async function runChecks(
  io: Io,
  request: CheckRequest,
  analyzed: AnalyzedRequest = analyzeRequest(io, request),
): Promise<CheckedDockerfile> {
  // The Dockerfile's own errors come first, before the context is walked or the engine is asked.
  const { dockerfile, options, analysis } = analyzed;
  const context = await gatherContextFacts({
    contextDir: request.contextDir,
    dockerfilePath: dockerfile.path,
    cwd: io.cwd,
  });
  const stages =
    request.targets.length === 0
      ? analysis.graph.stages.map((stage) => stage.index)
      : analysis.plan.stages;
  const references = stages.flatMap((index) => {
    const base = analysis.graph.stages[index]?.base;
    return base?.kind === "image" ? [base.reference] : [];
  });
  let baseImages: Map<string, BaseImageConfig | undefined> | undefined;
  let unavailable: string | undefined;
  if (request.offline) {
    unavailable = "--offline";
  } else if (references.length > 0) {
    // Imported here, so that a check that asks no engine loads no network code.
    const asked = await (await import("./read-base-images.js")).readBaseImages(io, references);
    baseImages = asked.baseImages;
    unavailable = asked.unavailable;
  }
  const checkOptions: CheckOptions = {
    ...options,
    analysis,
    context,
    ...(baseImages === undefined ? {} : { baseImages }),
    ...(unavailable === undefined ? {} : { baseImagesUnavailable: unavailable }),
    ...(request.imageLayers === undefined ? {} : { imageLayers: request.imageLayers }),
  };
  return {
    file: dockerfile.displayPath,
    text: dockerfile.text,
    options: checkOptions,
    report: checkDockerfile(dockerfile.text, checkOptions),
  };
}

function formatRuleList(): string {
  const rules = Object.values(CHECK_RULES);
  const width = Math.max(...rules.map((rule) => rule.name.length));
  const lines = rules.map(
    (rule) =>
      `${rule.name.padEnd(width)}  ${rule.origin.padEnd(10)} ${rule.severity.padEnd(7)} ${rule.experimental ? "(experimental) " : ""}${rule.description}`,
  );
  return `${lines.join("\n")}\n`;
}

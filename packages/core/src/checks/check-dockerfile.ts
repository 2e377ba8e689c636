import { checkBasePlatforms } from "./check-base-platforms.js";
import { DockerfileError } from "../errors.js";
import { analyzeDockerfile } from "../plan/analyze-dockerfile.js";
import { checkCopyOrder, checkSharedCaches } from "./check-build-order.js";
import { checkContext } from "./check-context.js";
import { checkFileRules } from "./check-file-rules.js";
import { checkStageTypos, checkUnpinnedImages } from "./check-references.js";
import { CHECK_RULES } from "./check-rules.js";
import { checkSecretValues } from "./check-secret-values.js";
import {
  checkShippedTools,
  checkShippedUsers,
  describeUnreadableLayers,
} from "./check-shipped-stages.js";
import type { CheckConfig, CheckFinding, CheckOptions, CheckReport } from "./check-types.js";
import { dispatchStages } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";
import {
  CheckDirectiveError,
  DEFAULT_CHECK_CONFIG,
  isRuleEnabled,
  mergeCheckComments,
  parseCheckOptions,
  readCheckDirective,
} from "./parse-check-directive.js";
import { toBuildArgMap } from "../stages/to-build-arg-map.js";

/**
 * Checks a Dockerfile for a build request: BuildKit's own rules (by BuildKit's names and messages,
 * honouring `# check=skip=…;error=true;experimental=…` exactly as BuildKit does, also in the comment
 * before an instruction) and stagecraft's target-aware rules, which know which stages ship (the
 * final stages of the requested targets) and which are only built. Pure: what needs I/O (base
 * image configs from the engine, facts about the context directory) comes in through `options`.
 *
 * @example
 * const report = checkDockerfile("FROM golang:1.26 AS build\nRUN go build -o /app .\nFROM debian:12\nCOPY --from=build /app /app\n");
 * report.findings.map((finding) => finding.rule); // ["StageRootUser"] (info: debian:12 was not inspected)
 * @throws DockerfileError for a Dockerfile BuildKit rejects, or a `# check=` directive it cannot parse.
 * @throws UnknownStageError for a target that names no stage.
 */
export function checkDockerfile(text: string, options: CheckOptions = {}): CheckReport {
  const analysis = options.analysis ?? analyzeDockerfile(text, options);
  const config = readConfig(text, options.file);
  const findings: CheckFinding[] = [];
  const emit: Emit = (raw) => {
    const rule = CHECK_RULES[raw.rule];
    const effective =
      raw.comments === undefined ? config : mergeCheckComments(config, raw.comments);
    if (!isRuleEnabled(effective, rule.name, rule.experimental)) return;
    let severity = raw.severity ?? rule.severity;
    // `error=true` fails the build on any reported rule (BuildKit `Linter.Error`).
    if (config.errorOnWarning && severity === "warning") severity = "error";
    findings.push({
      rule: raw.rule,
      severity,
      message: raw.message,
      fix: raw.fix ?? rule.fix,
      location: raw.location,
      stage: raw.stage,
    });
  };

  const { graph, plan } = analysis;
  const requested = (options.targets ?? []).length > 0;
  // BuildKit's lint dispatches every stage when no target is given, else what the targets need.
  const dispatched = new Set(requested ? plan.stages : graph.stages.map((stage) => stage.index));
  const planned = plan.stages;
  const shipped = plan.targets.map((target) => target.stage);

  checkFileRules(analysis, emit);
  const facts = dispatchStages({
    analysis,
    dispatched,
    buildArgs: toBuildArgMap(options.buildArgs),
    baseImages: options.baseImages,
    context: options.context,
    emit,
  });
  const shippedInput = { analysis, facts, shipped, options, emit };
  checkBasePlatforms(analysis, dispatched, options, emit);
  checkShippedUsers(shippedInput);
  checkShippedTools(shippedInput);
  checkCopyOrder(analysis, facts, planned, emit);
  checkSharedCaches(analysis, facts, emit);
  checkUnpinnedImages(analysis, planned, emit);
  checkStageTypos(analysis, planned, emit);
  checkSecretValues(analysis, emit);
  if (options.context !== undefined) checkContext(analysis, facts, planned, options.context, emit);

  const notes: string[] = [];
  const images = [
    ...new Set(
      [...facts.values()].flatMap((fact) =>
        fact.root.kind === "image" ? [fact.root.reference] : [],
      ),
    ),
  ];
  const notInspected = images.filter((image) => options.baseImages?.has(image) !== true);
  const missing = images.filter(
    (image) =>
      options.baseImages?.has(image) === true && options.baseImages.get(image) === undefined,
  );
  if (notInspected.length > 0) {
    notes.push(
      `base images not inspected (${options.baseImagesUnavailable ?? "no engine was asked"}): ${notInspected.join(", ")}`,
    );
  }
  if (missing.length > 0)
    notes.push(
      `base images not on the engine (pull them to check what they set): ${missing.join(", ")}`,
    );
  const unknownEnv = [...facts.values()].filter((fact) => !fact.envKnown).map((fact) => fact.id);
  if (unknownEnv.length > 0) {
    notes.push(
      `UndefinedVar not checked in ${nameStages(unknownEnv)}: the environment of ${unknownEnv.length === 1 ? "its" : "their"} base image is unknown`,
    );
  }
  if (options.context === undefined)
    notes.push(
      "the build context was not examined: ContextNotIgnored and CopyIgnoredFile did not run",
    );

  const id = (index: number): string => graph.stages[index]?.id ?? `stage-${index}`;
  notes.push(...describeUnreadableLayers(options.imageLayers, shipped.map(id)));
  return {
    findings: findings
      .map((finding, order) => ({ finding, order }))
      .sort(
        (a, b) =>
          a.finding.location.line - b.finding.location.line ||
          a.finding.location.column - b.finding.location.column ||
          a.order - b.order,
      )
      .map(({ finding }) => finding),
    notes,
    unknownEnvStages: unknownEnv,
    shippedStages: shipped.map(id),
    plannedStages: planned.map(id),
    config,
  };
}

/** How many stages a note names before it gives their count instead. */
const STAGES_NAMED = 3;

/**
 * The stages a note is about: all of them when they are few, else their count and the first few
 * (a generated Dockerfile of 500 stages would otherwise make a note of 500 names).
 */
function nameStages(ids: readonly string[]): string {
  if (ids.length === 1) return `stage ${ids[0] ?? ""}`;
  if (ids.length <= STAGES_NAMED + 1) return `stages ${ids.join(", ")}`;
  return `${ids.length} stages (${ids.slice(0, STAGES_NAMED).join(", ")}, ...)`;
}

function readConfig(text: string, file: string | undefined): CheckConfig {
  const directive = readCheckDirective(text);
  if (directive === undefined) return DEFAULT_CHECK_CONFIG;
  try {
    return parseCheckOptions(directive.value);
  } catch (error) {
    if (!(error instanceof CheckDirectiveError)) throw error;
    throw new DockerfileError(
      "DOCKERFILE_SYNTAX",
      `failed to parse check options: ${error.message}`,
      { line: directive.line, column: 1 },
      {
        file,
        hint: "Write # check=skip=<rules|all>;error=<true|false>;experimental=<rules|all>.",
      },
    );
  }
}

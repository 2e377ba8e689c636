import type { DockerfileInstruction } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import { quoteGo } from "../dockerfile/go/strconv.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import type { ArgInstruction } from "../dockerfile/instructions.js";
import { parseInstruction } from "../dockerfile/parse-instructions.js";
import { suggestClosest } from "../dockerfile/parse-flags.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { parsePlatform } from "../stages/parse-platform.js";
import { resolveGlobalArgs } from "../stages/resolve-global-args.js";
import { validateImageReference } from "../stages/validate-image-reference.js";
import { locationOf } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";

/**
 * BuildKit's rules that look at the whole file rather than a dispatched stage: the parse-time ones
 * (`instructions.Parse`: MaintainerDeprecated, StageNameCasing, FromAsCasing,
 * InvalidDefinitionDescription), NoEmptyContinuation, DuplicateStageName, ReservedStageName,
 * ConsistentInstructionCasing, InvalidDefaultArgInFrom, and the `FROM` ones of
 * `buildDispatchStates` (UndefinedArgInFrom, RedundantTargetPlatform,
 * FromPlatformFlagConstDisallowed), in BuildKit's order.
 */
export function checkFileRules(analysis: DockerfileAnalysis, emit: Emit): void {
  const { ast, graph } = analysis;
  const fromNodes: DockerfileInstruction[] = [];
  const metaArgNodes: DockerfileInstruction[] = [];

  for (const warning of ast.warnings) {
    emit({
      rule: "NoEmptyContinuation",
      message: "Empty continuation line",
      location: { line: warning.line, column: 1, endLine: warning.line },
      stage: undefined,
      comments: undefined,
    });
  }

  // instructions.Parse, node by node, with each node's own `# check=` comment merged.
  for (const node of ast.children) {
    const keyword = node.keyword;
    if (keyword !== "maintainer" && keyword !== "from" && keyword !== "arg") continue;
    const report = (rule: Parameters<Emit>[0]["rule"], message: string): void => {
      emit({
        rule,
        message,
        location: locationOf(node.range),
        stage: undefined,
        comments: node.prevComment,
      });
    };
    if (keyword === "maintainer")
      report(
        "MaintainerDeprecated",
        "Maintainer instruction is deprecated in favor of using label",
      );
    if (keyword === "from") {
      fromNodes.push(node);
      const args = node.args;
      if (args.length === 3 && args[2] !== toLowerGo(args[2] ?? "")) {
        report("StageNameCasing", `Stage name '${args[2] ?? ""}' should be lowercase`);
      }
      if (!fromMatchesAsCasing(node)) {
        report(
          "FromAsCasing",
          `'${args[1] ?? ""}' and '${node.keywordAsWritten}' keywords' casing do not match`,
        );
      }
      if (args.length === 3) describeDefinition("FROM", [toLowerGo(args[2] ?? "")], node, report);
    }
    if (keyword === "arg") {
      if (fromNodes.length === 0) metaArgNodes.push(node);
      const keys = node.args.map((arg) => {
        const equals = arg.indexOf("=");
        return equals < 0 ? arg : arg.slice(0, equals);
      });
      describeDefinition("ARG", keys, node, report);
    }
  }

  for (const warning of graph.warnings) {
    if (warning.rule !== "DuplicateStageName" && warning.rule !== "ReservedStageName") continue;
    const node = fromNodes.find(
      (candidate) => candidate.range.start.line === warning.position.line,
    );
    emit({
      rule: warning.rule,
      message: warning.message,
      location:
        node === undefined
          ? { ...warning.position, endLine: warning.position.line }
          : locationOf(node.range),
      stage: undefined,
      comments: undefined,
    });
  }

  checkInstructionCasing(analysis, fromNodes, emit);
  checkDefaultBaseNames(analysis, fromNodes, metaArgNodes, emit);
  checkFromArgs(analysis, fromNodes, emit);
}

/** `doesFromCaseMatchAsCase`: only judged when FROM itself is all-lower or all-upper. */
function fromMatchesAsCasing(node: DockerfileInstruction): boolean {
  if (node.args.length < 3) return true;
  const command = node.keywordAsWritten;
  const as = node.args[1] ?? "";
  const lower = command === toLowerGo(command);
  const upper = command === command.toUpperCase();
  if (!lower && !upper) return true;
  return lower ? as === toLowerGo(as) : as === as.toUpperCase();
}

/** InvalidDefinitionDescription (experimental): the last comment line must start with a defined name. */
function describeDefinition(
  instruction: "FROM" | "ARG",
  keys: readonly string[],
  node: DockerfileInstruction,
  report: (rule: "InvalidDefinitionDescription", message: string) => void,
): void {
  const last = node.prevComment.at(-1);
  if (last === undefined || keys.length === 0) return;
  if (keys.includes(last.split(" ")[0] ?? "")) return;
  const example = keys.length > 1 ? "<arg_key>" : (keys[0] ?? "");
  report(
    "InvalidDefinitionDescription",
    `Comment for ${instruction} should follow the format: \`# ${example} <description>\``,
  );
}

/** `validateCommandCasing`: every FROM and stage instruction against the majority's case. */
function checkInstructionCasing(
  analysis: DockerfileAnalysis,
  fromNodes: readonly DockerfileInstruction[],
  emit: Emit,
): void {
  const nodes: DockerfileInstruction[] = [];
  for (const stage of analysis.graph.stages) {
    const from = fromNodes[stage.index];
    if (from !== undefined) nodes.push(from);
    for (const instruction of stage.instructions) nodes.push(instruction.node);
  }
  // Keywords repeat: classify each spelling once ("lower", "upper" or "mixed").
  const casing = new Map<string, "lower" | "upper" | "mixed">();
  const classify = (name: string): "lower" | "upper" | "mixed" => {
    let known = casing.get(name);
    if (known === undefined) {
      known = name === toLowerGo(name) ? "lower" : name === name.toUpperCase() ? "upper" : "mixed";
      casing.set(name, known);
    }
    return known;
  };
  let lower = 0;
  let upper = 0;
  for (const node of nodes) {
    const kind = classify(node.keywordAsWritten);
    if (kind === "lower") lower++;
    else if (kind === "upper") upper++;
  }
  const majority = lower > upper ? "lower" : "upper";
  for (const node of nodes) {
    const name = node.keywordAsWritten;
    if (classify(name) === majority) continue;
    emit({
      rule: "ConsistentInstructionCasing",
      message: `Command '${name}' should match the case of the command majority (${majority === "lower" ? "lowercase" : "uppercase"})`,
      location: locationOf(node.range),
      stage: undefined,
      comments: undefined,
    });
  }
}

/** `validateBaseImagesWithDefaultArgs`: each base name must be a valid reference with the ARG defaults alone. */
function checkDefaultBaseNames(
  analysis: DockerfileAnalysis,
  fromNodes: readonly DockerfileInstruction[],
  metaArgNodes: readonly DockerfileInstruction[],
  emit: Emit,
): void {
  const graph = analysis.graph;
  let defaults: Map<string, string>;
  try {
    const metaArgs = metaArgNodes.map((node) => parseInstruction(node) as ArgInstruction);
    defaults = resolveGlobalArgs(metaArgs, {
      buildArgs: new Map(),
      buildPlatform: graph.buildPlatform,
      targetPlatform: graph.targetPlatform,
      targetStage: graph.stages.at(-1)?.name ?? "",
      escapeToken: graph.escapeToken,
    });
  } catch {
    // BuildKit abandons this check when the defaults do not expand.
    return;
  }
  // Base names repeat (`golang:${GO}-alpine` in many stages): judge each spelling once.
  const valid = new Map<string, boolean>();
  for (const stage of graph.stages) {
    let ok = valid.get(stage.from);
    if (ok === undefined) {
      let value: string;
      try {
        value = expandShellWord(stage.from, defaults, { escapeToken: graph.escapeToken }).value;
      } catch {
        return;
      }
      ok = value !== "" && validateImageReference(value) === undefined;
      valid.set(stage.from, ok);
    }
    if (ok) continue;
    const node = fromNodes[stage.index];
    emit({
      rule: "InvalidDefaultArgInFrom",
      message: `Default value for ARG ${stage.from} results in empty or invalid base image name`,
      location:
        node === undefined
          ? { ...stage.position, endLine: stage.position.line }
          : locationOf(node.range),
      stage: stage.id,
      comments: undefined,
    });
  }
}

/** The FROM checks of `buildDispatchStates`, for every stage, with the FROM's own comment merged. */
function checkFromArgs(
  analysis: DockerfileAnalysis,
  fromNodes: readonly DockerfileInstruction[],
  emit: Emit,
): void {
  const graph = analysis.graph;
  const keys = [...graph.globalArgs.keys()];
  const declared = new Set(keys);
  // FROM words and platforms repeat across stages: expand each spelling once.
  const expansions = new Map<string, ReturnType<typeof expandShellWord> | undefined>();
  const expansion = (word: string): ReturnType<typeof expandShellWord> | undefined => {
    if (expansions.has(word)) return expansions.get(word);
    let result: ReturnType<typeof expandShellWord> | undefined;
    try {
      result = expandShellWord(word, graph.globalArgs, { escapeToken: graph.escapeToken });
    } catch {
      result = undefined;
    }
    expansions.set(word, result);
    return result;
  };
  for (const stage of graph.stages) {
    const node = fromNodes[stage.index];
    const location =
      node === undefined
        ? { ...stage.position, endLine: stage.position.line }
        : locationOf(node.range);
    const report = (rule: Parameters<Emit>[0]["rule"], message: string): void => {
      emit({ rule, message, location, stage: stage.id, comments: node?.prevComment ?? [] });
    };
    const undeclared = (unmatched: readonly string[]): void => {
      for (const name of unmatched) {
        if (declared.has(name)) continue;
        const suggestion = suggestClosest(name, keys, true);
        report(
          "UndefinedArgInFrom",
          `FROM argument '${name}' is not declared${suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`}`,
        );
      }
    };
    const base = expansion(stage.from);
    if (base === undefined) continue;
    undeclared(base.unmatched);
    const platform = stage.platform;
    if (platform === undefined || platform === "") continue;
    const match = expansion(platform);
    if (match === undefined) continue;
    undeclared(match.unmatched);
    if (
      match.matched.length === 1 &&
      match.unmatched.length === 0 &&
      match.matched[0] === "TARGETPLATFORM" &&
      match.value === graph.globalArgs.get("TARGETPLATFORM")
    ) {
      report(
        "RedundantTargetPlatform",
        `Setting platform to predefined ${platform} in FROM is redundant as this is the default behavior`,
      );
    }
    if (match.matched.length === 0 && match.unmatched.length === 0) {
      const parsed = parsePlatform(match.value, graph.buildPlatform);
      if (!parsed.ok) continue;
      const name = stage.name ?? "";
      if (name.includes(parsed.platform.os) || name.includes(parsed.platform.architecture))
        continue;
      report(
        "FromPlatformFlagConstDisallowed",
        `FROM --platform flag should not use constant value ${quoteGo(match.value)}`,
      );
    }
  }
}

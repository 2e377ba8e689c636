import { DockerfileError, type SourcePosition } from "../errors.js";
import type { EscapeToken } from "../dockerfile/ast.js";
import type { DockerfileStage, Instruction } from "../dockerfile/instructions.js";
import { parseDockerfile } from "../dockerfile/parse-dockerfile.js";
import { parseInstruction } from "../dockerfile/parse-instructions.js";
import { commandOf, noUses, type Command, type StageLookup } from "./collect-uses.js";
import { referenceError } from "./dispatch-errors.js";
import type { ResolvedFrom } from "./resolve-from.js";

/** An ONBUILD trigger of a stage, parsed once for all the stages that inherit it. */
type ParsedTrigger =
  | { readonly ok: true; readonly instruction: Instruction }
  | { readonly ok: false; readonly error: DockerfileError };

/** A base stage's ONBUILD expressions, and each one parsed once first needed. */
export interface InheritedTriggers {
  readonly expressions: readonly string[];
  readonly parsed: (ParsedTrigger | undefined)[];
}

/**
 * The ONBUILD triggers a stage inherits from its base stage (only the direct base's own), parsed
 * as BuildKit does when the stage is built; their `--from`s become this stage's dependencies.
 * `uses` holds one list per trigger in `instructions`. Each trigger is parsed once, on first need,
 * for all the stages that inherit it (`cache`, by base stage index).
 */
export function inheritTriggers(
  stage: ResolvedFrom,
  all: readonly DockerfileStage[],
  cache: Map<number, InheritedTriggers>,
  lookup: StageLookup,
  escapeToken: EscapeToken,
): { instructions: Instruction[]; commands: Command[]; errors: DockerfileError[] } {
  const result = {
    instructions: [] as Instruction[],
    commands: [] as Command[],
    errors: [] as DockerfileError[],
  };
  if (stage.base.kind !== "stage") return result;
  const parentIndex = stage.base.index;
  let inherited = cache.get(parentIndex);
  if (inherited === undefined) {
    inherited = { expressions: onbuildExpressions(all[parentIndex]), parsed: [] };
    cache.set(parentIndex, inherited);
  }
  const { expressions, parsed } = inherited;
  for (const [index, expression] of expressions.entries()) {
    try {
      const trigger = (parsed[index] ??= parseTriggerOnce(expression));
      if (!trigger.ok) throw trigger.error;
      const command = commandOf(trigger.instruction, lookup, escapeToken, true, stage.position);
      result.instructions.push(trigger.instruction);
      if (command !== undefined) result.commands.push(command);
      for (const use of command?.uses ?? noUses) {
        if (use.kind !== "image") continue;
        const error = referenceError(use.reference, stage.position);
        if (error !== undefined) result.errors.push(error);
      }
    } catch (error) {
      if (!(error instanceof DockerfileError)) throw error;
      // BuildKit reports a trigger's error at the FROM of the stage that inherits it.
      result.errors.push(
        new DockerfileError(error.code, error.message, stage.position, { hint: error.hint }),
      );
      break;
    }
  }
  return result;
}

function onbuildExpressions(stage: DockerfileStage | undefined): string[] {
  const expressions: string[] = [];
  for (const instruction of stage?.instructions ?? []) {
    if (instruction.kind === "onbuild") expressions.push(instruction.expression);
  }
  return expressions;
}

/** A trigger parsed, or the DockerfileError it raises (any other error is thrown). */
function parseTriggerOnce(expression: string): ParsedTrigger {
  try {
    // The position is replaced by the inheriting stage's FROM when the error is reported.
    return { ok: true, instruction: parseTrigger(expression, { line: 1, column: 1 }) };
  } catch (error) {
    if (error instanceof DockerfileError) return { ok: false, error };
    throw error;
  }
}

function parseTrigger(expression: string, position: SourcePosition): Instruction {
  const ast = parseDockerfile(expression);
  const [node, ...rest] = ast.children;
  if (node === undefined || rest.length > 0) {
    throw new DockerfileError(
      "DOCKERFILE_SYNTAX",
      "onbuild trigger should be a single expression",
      position,
    );
  }
  return parseInstruction(node);
}

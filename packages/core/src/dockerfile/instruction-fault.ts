import type { DockerfileErrorCode } from "../errors.js";
import type { DockerfileInstruction } from "./ast.js";
import { parseFlags, type FlagSpec, type ParsedFlags } from "./parse-flags.js";

/** An instruction-level error before it gets its position; `word` points the column at a flag. */
export class InstructionFault extends Error {
  constructor(
    readonly code: DockerfileErrorCode,
    message: string,
    readonly word?: string,
  ) {
    super(message);
  }
}

/** Parses an instruction's flags against `spec`, or throws BuildKit's flag error. */
export function checkFlags(node: DockerfileInstruction, spec: FlagSpec): ParsedFlags {
  const result = parseFlags(node.flags, spec);
  if (!result.ok) throw new InstructionFault("DOCKERFILE_FLAG", result.message, result.word);
  return result.flags;
}

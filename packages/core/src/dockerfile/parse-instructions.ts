import { DockerfileError, type SourcePosition } from "../errors.js";
import type { DockerfileAst, DockerfileInstruction } from "./ast.js";
import { quoteGo } from "./go/strconv.js";
import { toLowerGo, trimGoSpace } from "./go/strings.js";
import { checkFlags, InstructionFault } from "./instruction-fault.js";
import type {
  ArgDefinition,
  ArgInstruction,
  DockerfileInstructions,
  FromInstruction,
  Instruction,
  InstructionBase,
  KeyValue,
  KeyValueInstruction,
  OnbuildInstruction,
  OtherInstruction,
  StageInstruction,
} from "./instructions.js";
import { parseAdd, parseCopy } from "./parse-copy-and-add.js";
import { suggestClosest, withSuggestion } from "./parse-flags.js";
import { parseHealthcheck } from "./parse-healthcheck.js";
import { parseRun } from "./parse-run.js";

/**
 * Turns the parser's nodes into typed instructions grouped into stages, checking what BuildKit's
 * `instructions.Parse` checks (flags, argument counts, stage names, ONBUILD), in its words.
 *
 * @example
 * const { stages } = parseInstructions(parseDockerfile("FROM alpine AS build\nRUN make\n"));
 * stages[0]?.from.stageName; // "build"
 * @throws DockerfileError `dockerfile parse error on line N: …`, or `no build stage in current context`.
 */
export function parseInstructions(ast: DockerfileAst): DockerfileInstructions {
  const metaArgs: ArgInstruction[] = [];
  const stages: { index: number; from: FromInstruction; instructions: StageInstruction[] }[] = [];
  for (const node of ast.children) {
    const instruction = parseWrapped(node);
    const current = stages.at(-1);
    if (instruction.kind === "from") {
      stages.push({ index: stages.length, from: instruction, instructions: [] });
    } else if (current !== undefined) {
      current.instructions.push(instruction);
    } else if (instruction.kind === "arg") {
      metaArgs.push(instruction);
    } else {
      throw new DockerfileError(
        "DOCKERFILE_NO_STAGES",
        "no build stage in current context",
        node.range.start,
        { hint: "Start the Dockerfile with FROM (only ARG may come before the first FROM)." },
      );
    }
  }
  return { escapeToken: ast.escapeToken, metaArgs, stages };
}

/**
 * Types one instruction, as BuildKit does for an `ONBUILD` trigger when it fires: errors carry
 * BuildKit's bare message (no `dockerfile parse error on line N:` prefix).
 */
export function parseInstruction(node: DockerfileInstruction): Instruction {
  try {
    return parseNode(node);
  } catch (error) {
    if (error instanceof InstructionFault) {
      throw new DockerfileError(error.code, error.message, faultPosition(node, error.word));
    }
    throw error;
  }
}

function parseWrapped(node: DockerfileInstruction): Instruction {
  try {
    return parseNode(node);
  } catch (error) {
    if (error instanceof InstructionFault) {
      throw new DockerfileError(
        error.code,
        `dockerfile parse error on line ${node.range.start.line}: ${error.message}`,
        faultPosition(node, error.word),
      );
    }
    throw error;
  }
}

/** The keyword's position, or the offending word's when the instruction is on one line. */
function faultPosition(node: DockerfileInstruction, word: string | undefined): SourcePosition {
  const start = node.range.start;
  if (word === undefined || word === "" || node.range.end.line !== start.line) return start;
  const offset = node.original.indexOf(word);
  return offset < 0 ? start : { line: start.line, column: start.column + offset };
}

const instructionNames = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
];

function parseNode(node: DockerfileInstruction): Instruction {
  // The instruction objects list `node` and `position` explicitly rather than spreading `base`: a
  // spread gave nearly every object its own V8 hidden class, which tripled the stage graph's time.
  const base = { node, position: node.range.start };
  switch (node.keyword.toLowerCase()) {
    case "from":
      return parseFrom(node, base);
    case "copy":
      return parseCopy(node, base);
    case "add":
      return parseAdd(node, base);
    case "run":
      return parseRun(node, base);
    case "arg":
      return parseArg(node, base);
    case "env":
    case "label":
      return parseKeyValues(node, base);
    case "onbuild":
      return parseOnbuild(node, base);
    case "healthcheck":
      return parseHealthcheck(node, base);
    case "cmd":
    case "entrypoint":
      checkFlags(node, {});
      return {
        node: base.node,
        position: base.position,
        kind: node.keyword === "cmd" ? "cmd" : "entrypoint",
        values: node.args,
      };
    case "shell":
      return parseShell(node, base);
    case "expose":
    case "volume":
      return parseListInstruction(node, base);
    case "maintainer":
    case "workdir":
    case "user":
    case "stopsignal":
      return parseSingleValue(node, base);
    default: {
      const suggestion = suggestClosest(node.keywordAsWritten, instructionNames, false);
      throw new InstructionFault(
        "DOCKERFILE_UNKNOWN_INSTRUCTION",
        withSuggestion(`unknown instruction: ${node.keywordAsWritten}`, suggestion),
      );
    }
  }
}

type Base = InstructionBase;

const validStageName = /^[a-z][a-z0-9\-_.]*$/;

function parseFrom(node: DockerfileInstruction, base: Base): FromInstruction {
  const args = node.args;
  let stageName: string | undefined;
  if (args.length === 3 && /^[aA][sS\u017F]$/.test(args[1] ?? "")) {
    const written = args[2] ?? "";
    stageName = toLowerGo(written);
    if (!validStageName.test(stageName)) {
      throw new InstructionFault(
        "INVALID_STAGE_NAME",
        `invalid name for build stage: ${quoteGo(written)}, name can't start with a number or contain symbols`,
        written,
      );
    }
  } else if (args.length !== 1) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "FROM requires either one or three arguments");
  }
  const flags = checkFlags(node, { platform: "string" });
  return {
    node: base.node,
    position: base.position,
    kind: "from",
    baseName: args[0] ?? "",
    stageName,
    platform: flags.used.has("platform") ? flags.string("platform") : undefined,
  };
}

function parseArg(node: DockerfileInstruction, base: Base): ArgInstruction {
  // BuildKit never validates ARG's flags: `ARG --x A` silently ignores `--x`.
  if (node.args.length < 1) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "ARG requires at least one argument");
  }
  const args = node.args.map((arg): ArgDefinition => {
    const equals = arg.indexOf("=");
    if (equals < 0) return { key: arg, value: undefined };
    if (equals === 0) throw new InstructionFault("DOCKERFILE_SYNTAX", "ARG names can not be blank");
    return { key: arg.slice(0, equals), value: arg.slice(equals + 1) };
  });
  return { node: base.node, position: base.position, kind: "arg", args };
}

function parseKeyValues(node: DockerfileInstruction, base: Base): KeyValueInstruction {
  const kind = node.keyword.toLowerCase() === "env" ? "env" : "label";
  const keyword = kind.toUpperCase();
  checkFlags(node, {});
  const args = node.args;
  if (args.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", `${keyword} requires at least one argument`);
  }
  if (args.length % 3 !== 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", `Bad input to ${keyword}, too many arguments`);
  }
  const pairs: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] ?? "";
    if (key === "") {
      throw new InstructionFault("DOCKERFILE_SYNTAX", `${keyword} names can not be blank`);
    }
    pairs.push({ key, value: args[i + 1] ?? "", noDelimiter: args[i + 2] === "" });
  }
  return { node: base.node, position: base.position, kind, pairs };
}

function parseOnbuild(node: DockerfileInstruction, base: Base): OnbuildInstruction {
  const trigger = node.trigger;
  if (trigger === undefined) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "ONBUILD requires at least one argument");
  }
  checkFlags(node, {});
  const keyword = trimGoSpace(trigger.keywordAsWritten).toUpperCase();
  if (keyword === "ONBUILD") {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    );
  }
  if (keyword === "MAINTAINER" || keyword === "FROM") {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `${keyword} isn't allowed as an ONBUILD trigger`,
    );
  }
  let expression = node.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, "");
  for (const heredoc of node.heredocs) expression += "\n" + heredoc.content + heredoc.name;
  return { node: base.node, position: base.position, kind: "onbuild", expression };
}

function parseShell(node: DockerfileInstruction, base: Base): OtherInstruction {
  checkFlags(node, {});
  if (node.args.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "SHELL requires at least one argument");
  }
  if (!node.json) {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      "SHELL requires the arguments to be in JSON form",
    );
  }
  return { node: base.node, position: base.position, kind: "shell", values: node.args };
}

function parseListInstruction(node: DockerfileInstruction, base: Base): OtherInstruction {
  const kind = node.keyword.toLowerCase() === "expose" ? "expose" : "volume";
  if (node.args.length === 0) {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `${kind.toUpperCase()} requires at least one argument`,
    );
  }
  checkFlags(node, {});
  if (kind === "expose")
    return { node: base.node, position: base.position, kind, values: [...node.args].sort() };
  const values = node.args.map((value) => {
    const trimmed = trimGoSpace(value);
    if (trimmed === "") {
      throw new InstructionFault(
        "DOCKERFILE_SYNTAX",
        "VOLUME specified can not be an empty string",
      );
    }
    return trimmed;
  });
  return { node: base.node, position: base.position, kind, values };
}

function parseSingleValue(node: DockerfileInstruction, base: Base): OtherInstruction {
  const kind = node.keyword.toLowerCase() as "maintainer" | "workdir" | "user" | "stopsignal";
  if (node.args.length !== 1) {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `${kind.toUpperCase()} requires exactly one argument`,
    );
  }
  // BuildKit never validates STOPSIGNAL's flags.
  if (kind !== "stopsignal") checkFlags(node, {});
  return { node: base.node, position: base.position, kind, values: node.args };
}

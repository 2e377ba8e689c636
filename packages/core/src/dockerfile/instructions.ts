import { DockerfileError, type DockerfileErrorCode, type SourcePosition } from "../errors.js";
import type { DockerfileAst, DockerfileInstruction, EscapeToken, Heredoc } from "./ast.js";
import { expandWords, quoteGo } from "./expand-words.js";
import { toLowerGo, trimGoSpace } from "./go-strings.js";
import {
  parseFlags,
  suggestClosest,
  withSuggestion,
  type FlagSpec,
  type ParsedFlags,
} from "./parse-flags.js";

/** What every typed instruction carries: its AST node and where it starts. */
export interface InstructionBase {
  /** The parser's node this instruction was made from. */
  readonly node: DockerfileInstruction;
  /** The keyword's position (BuildKit's StartLine; the column of the keyword). */
  readonly position: SourcePosition;
}

/** `FROM [--platform=…] <base> [AS <name>]`: opens a stage. */
export interface FromInstruction extends InstructionBase {
  readonly kind: "from";
  /** The base as written, before ARG expansion (quotes kept, e.g. `golang:${GO}`). */
  readonly baseName: string;
  /** The stage name lower-cased, or undefined for an unnamed stage. */
  readonly stageName: string | undefined;
  /** The `--platform` value as written, or undefined. */
  readonly platform: string | undefined;
}

/** `COPY`: `from` is the `--from` value as written, undefined when absent or empty. */
export interface CopyInstruction extends InstructionBase {
  readonly kind: "copy";
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Heredoc sources (`COPY <<EOF /dest`), by name. */
  readonly heredocSources: readonly Heredoc[];
  readonly destination: string;
  readonly chown: string;
  readonly chmod: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly excludes: readonly string[];
}

/** `ADD`. */
export interface AddInstruction extends InstructionBase {
  readonly kind: "add";
  readonly sources: readonly string[];
  readonly heredocSources: readonly Heredoc[];
  readonly destination: string;
  readonly chown: string;
  readonly chmod: string;
  readonly link: boolean;
  /** Undefined when `--keep-git-dir` was not given. */
  readonly keepGitDir: boolean | undefined;
  readonly checksum: string;
  /** Undefined when `--unpack` was not given. */
  readonly unpack: boolean | undefined;
  readonly excludes: readonly string[];
}

/** One `RUN --mount=…` as BuildKit reads it before dispatch: only `from` is looked at this early. */
export interface RunMount {
  /** The flag value as written, e.g. `type=cache,target=/root/.cache`. */
  readonly spec: string;
  /** Its CSV fields. */
  readonly fields: readonly string[];
  /** The `from=` value, undefined when absent. */
  readonly from: string | undefined;
}

/** One `RUN --device=…`. */
export interface RunDevice {
  readonly name: string;
  readonly required: boolean;
}

/** `RUN`. */
export interface RunInstruction extends InstructionBase {
  readonly kind: "run";
  readonly mounts: readonly RunMount[];
  readonly network: "default" | "none" | "host";
  readonly security: "sandbox" | "insecure";
  readonly devices: readonly RunDevice[];
  /** The exec-form words, or the one shell-form string. */
  readonly command: readonly string[];
  /** True for the shell form. */
  readonly prependShell: boolean;
  readonly heredocs: readonly Heredoc[];
}

/** One `ARG` name with its default as written (undefined when none). */
export interface ArgDefinition {
  readonly key: string;
  readonly value: string | undefined;
}

/** `ARG a=1 b`. */
export interface ArgInstruction extends InstructionBase {
  readonly kind: "arg";
  readonly args: readonly ArgDefinition[];
}

/** A key/value pair of `ENV` or `LABEL`; the value is as written (quotes removed at dispatch). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The legacy `ENV KEY value` form. */
  readonly noDelimiter: boolean;
}

/** `ENV` or `LABEL`. */
export interface KeyValueInstruction extends InstructionBase {
  readonly kind: "env" | "label";
  readonly pairs: readonly KeyValue[];
}

/** `ONBUILD <trigger>`: stored as text, run when a later stage builds on this one. */
export interface OnbuildInstruction extends InstructionBase {
  readonly kind: "onbuild";
  /** The trigger as BuildKit stores it: the line without `ONBUILD`, heredoc bodies re-attached. */
  readonly expression: string;
}

/** `HEALTHCHECK`; durations in nanoseconds (0 when not given). */
export interface HealthcheckInstruction extends InstructionBase {
  readonly kind: "healthcheck";
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  readonly test: readonly string[];
  readonly interval: bigint;
  readonly timeout: bigint;
  readonly startPeriod: bigint;
  readonly startInterval: bigint;
  readonly retries: number;
}

/** The instructions whose details the front end does not need: their arguments as parsed. */
export interface OtherInstruction extends InstructionBase {
  readonly kind:
    | "cmd"
    | "entrypoint"
    | "shell"
    | "expose"
    | "user"
    | "workdir"
    | "volume"
    | "stopsignal"
    | "maintainer";
  readonly values: readonly string[];
}

/** A typed instruction other than `FROM`. */
export type StageInstruction =
  | CopyInstruction
  | AddInstruction
  | RunInstruction
  | ArgInstruction
  | KeyValueInstruction
  | OnbuildInstruction
  | HealthcheckInstruction
  | OtherInstruction;

/** Any typed instruction. */
export type Instruction = FromInstruction | StageInstruction;

/** A stage: its `FROM` and the instructions up to the next `FROM`. */
export interface DockerfileStage {
  /** 0-based, in file order. */
  readonly index: number;
  readonly from: FromInstruction;
  readonly instructions: readonly StageInstruction[];
}

/** A Dockerfile as BuildKit's `instructions.Parse` sees it. */
export interface DockerfileInstructions {
  readonly escapeToken: EscapeToken;
  /** The `ARG`s before the first `FROM`. */
  readonly metaArgs: readonly ArgInstruction[];
  /** The stages in file order; may be empty (only meta ARGs), which the stage graph rejects. */
  readonly stages: readonly DockerfileStage[];
}

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

/** An instruction-level error before it gets its position; `word` points the column at a flag. */
class InstructionFault extends Error {
  constructor(
    readonly code: DockerfileErrorCode,
    message: string,
    readonly word?: string,
  ) {
    super(message);
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

function checkFlags(node: DockerfileInstruction, spec: FlagSpec): ParsedFlags {
  const result = parseFlags(node.flags, spec);
  if (!result.ok) throw new InstructionFault("DOCKERFILE_FLAG", result.message, result.word);
  return result.flags;
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

function noDestination(keyword: string): InstructionFault {
  return new InstructionFault(
    "DOCKERFILE_SYNTAX",
    `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
  );
}

function splitSourcesAndDestination(
  node: DockerfileInstruction,
  keyword: string,
): { sources: string[]; heredocSources: Heredoc[]; destination: string } {
  const destination = node.args.at(-1) ?? "";
  if (readHeredocWord(destination) !== undefined) {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `${keyword} cannot accept a heredoc as a destination`,
    );
  }
  const byName = new Map(node.heredocs.map((heredoc) => [heredoc.name, heredoc]));
  const sources: string[] = [];
  const heredocSources: Heredoc[] = [];
  for (const source of node.args.slice(0, -1)) {
    const heredoc = readHeredocWord(source);
    if (heredoc === undefined) {
      sources.push(source);
      continue;
    }
    const body = byName.get(heredoc.name);
    heredocSources.push({
      name: heredoc.name,
      expand: heredoc.expand,
      chomp: heredoc.chomp,
      fd: heredoc.fd,
      content: body?.content ?? "",
    });
  }
  return { sources, heredocSources, destination };
}

function parseCopy(node: DockerfileInstruction, base: Base): CopyInstruction {
  if (node.args.length < 2) throw noDestination("COPY");
  const flags = checkFlags(node, {
    chown: "string",
    from: "string",
    chmod: "string",
    link: "bool",
    exclude: "strings",
    parents: "bool",
  });
  const from = flags.string("from");
  return {
    node: base.node,
    position: base.position,
    kind: "copy",
    ...splitSourcesAndDestination(node, "COPY"),
    from: from === "" ? undefined : from,
    chown: flags.string("chown"),
    chmod: flags.string("chmod"),
    link: flags.bool("link"),
    parents: flags.bool("parents"),
    excludes: flags.strings("exclude"),
  };
}

function parseAdd(node: DockerfileInstruction, base: Base): AddInstruction {
  if (node.args.length < 2) throw noDestination("ADD");
  const flags = checkFlags(node, {
    chown: "string",
    chmod: "string",
    link: "bool",
    "keep-git-dir": "bool",
    checksum: "string",
    unpack: "bool",
    exclude: "strings",
  });
  return {
    node: base.node,
    position: base.position,
    kind: "add",
    ...splitSourcesAndDestination(node, "ADD"),
    chown: flags.string("chown"),
    chmod: flags.string("chmod"),
    link: flags.bool("link"),
    keepGitDir: flags.used.has("keep-git-dir") ? flags.bool("keep-git-dir") : undefined,
    checksum: flags.string("checksum"),
    unpack: flags.used.has("unpack") ? flags.bool("unpack") : undefined,
    excludes: flags.strings("exclude"),
  };
}

function parseRun(node: DockerfileInstruction, base: Base): RunInstruction {
  // BuildKit registers these in its files' init order: device, mount, network, security.
  const flags = checkFlags(node, {
    device: "strings",
    mount: "strings",
    network: { kind: "string", default: "default" },
    security: { kind: "string", default: "sandbox" },
  });
  const devices = flags.strings("device").map((spec) => parseDevice(spec));
  const mounts = flags.strings("mount").map((spec) => parseMount(spec));
  const network = flags.string("network");
  if (network !== "default" && network !== "none" && network !== "host") {
    throw new InstructionFault("DOCKERFILE_FLAG", `invalid network mode ${quoteGo(network)}`);
  }
  const security = flags.string("security");
  if (security !== "sandbox" && security !== "insecure") {
    throw new InstructionFault("DOCKERFILE_FLAG", `security ${quoteGo(security)} is not valid`);
  }
  return {
    node: base.node,
    position: base.position,
    kind: "run",
    mounts,
    network,
    security,
    devices,
    command: joinShellForm(node),
    prependShell: !node.json,
    heredocs: node.heredocs,
  };
}

function joinShellForm(node: DockerfileInstruction): readonly string[] {
  if (node.args.length === 0 || node.json) return node.args;
  return [node.args.join(" ")];
}

/** `--mount` at instruction-parse time: CSV fields, and only `from` is checked (for `$`). */
function parseMount(spec: string): RunMount {
  const fields = parseCsvFields(spec, "mounts");
  let from: string | undefined;
  for (const field of fields) {
    const equals = field.indexOf("=");
    if (equals < 0) continue;
    if (field.slice(0, equals).toLowerCase() !== "from") continue;
    const value = field.slice(equals + 1);
    const dollar = value.indexOf("$");
    if (dollar !== -1 && dollar !== value.length - 1) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        "'from' doesn't support variable expansion, define alias stage instead",
        spec,
      );
    }
    from = value;
  }
  return { spec, fields, from };
}

function parseDevice(spec: string): RunDevice {
  let name = "";
  let required = false;
  for (const field of parseCsvFields(spec, "devices")) {
    const equals = field.indexOf("=");
    const key = (equals < 0 ? field : field.slice(0, equals)).toLowerCase();
    const value = equals < 0 ? "" : field.slice(equals + 1);
    if (equals < 0) {
      if (key === "required") required = true;
      else if (name === "") name = field;
      else {
        throw new InstructionFault(
          "DOCKERFILE_FLAG",
          `invalid field '${field}' must be a key=value pair`,
          spec,
        );
      }
      continue;
    }
    if (key === "name") {
      if (name !== "") {
        throw new InstructionFault("DOCKERFILE_FLAG", `device name already set to ${name}`, spec);
      }
      name = value;
    } else if (key === "required") {
      const parsed = parseGoBool(value);
      if (parsed === undefined) {
        throw new InstructionFault("DOCKERFILE_FLAG", `invalid value for ${key}: ${value}`, spec);
      }
      required = parsed;
    } else if (name === "") {
      name = field;
    } else {
      const suggestion = suggestClosest(key, ["name", "required"], true);
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        withSuggestion(`unexpected key '${key}' in '${field}'`, suggestion),
        spec,
      );
    }
  }
  return { name, required };
}

/** Go `strconv.ParseBool`. */
function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

/**
 * One CSV line as tonistiigi/go-csvvalue reads it (encoding/csv rules, no lazy quotes), with its
 * error texts; columns are 1-based byte offsets.
 */
function parseCsvFields(line: string, what: "mounts" | "devices"): string[] {
  const fail = (byteOffset: number, reason: string): never => {
    throw new InstructionFault(
      "DOCKERFILE_FLAG",
      `failed to parse csv ${what}: parse error on line 1, column ${byteOffset + 1}: ${reason}`,
      line,
    );
  };
  let text = line;
  if (text.endsWith("\n")) text = text.slice(0, text.endsWith("\r\n") ? -2 : -1);
  if (text === "") {
    throw new InstructionFault("DOCKERFILE_FLAG", `failed to parse csv ${what}: EOF`, line);
  }
  const fields: string[] = [];
  let pos = 0;
  for (;;) {
    if (!text.startsWith('"', pos)) {
      const comma = text.indexOf(",", pos);
      const field = comma < 0 ? text.slice(pos) : text.slice(pos, comma);
      const quote = field.indexOf('"');
      if (quote >= 0) fail(utf8Length(text.slice(0, pos + quote)), 'bare " in non-quoted-field');
      fields.push(field);
      if (comma < 0) return fields;
      pos = comma + 1;
      continue;
    }
    pos++;
    let field = "";
    for (;;) {
      const quote = text.indexOf('"', pos);
      if (quote < 0)
        return fail(utf8Length(text.slice(0, pos)), 'extraneous or missing " in quoted-field');
      field += text.slice(pos, quote);
      pos = quote + 1;
      const next = text[pos];
      if (next === '"') {
        field += '"';
        pos++;
      } else if (next === ",") {
        fields.push(field);
        pos++;
        break;
      } else if (next === undefined) {
        fields.push(field);
        return fields;
      } else {
        return fail(utf8Length(text.slice(0, pos - 1)), 'extraneous or missing " in quoted-field');
      }
    }
  }
}

function utf8Length(text: string): number {
  let length = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    length += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return length;
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

function parseHealthcheck(node: DockerfileInstruction, base: Base): HealthcheckInstruction {
  if (node.args.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "HEALTHCHECK requires at least one argument");
  }
  const type = (node.args[0] ?? "").toUpperCase();
  const rest = node.args.slice(1);
  const none = { interval: 0n, timeout: 0n, startPeriod: 0n, startInterval: 0n, retries: 0 };
  if (type === "NONE") {
    // BuildKit does not look at the flags of HEALTHCHECK NONE.
    if (rest.length !== 0) {
      throw new InstructionFault("DOCKERFILE_SYNTAX", "HEALTHCHECK NONE takes no arguments");
    }
    return {
      node: base.node,
      position: base.position,
      kind: "healthcheck",
      test: ["NONE"],
      ...none,
    };
  }
  const flags = checkFlags(node, {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  });
  if (type !== "CMD") {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `Unknown type ${quoteGo(type)} in HEALTHCHECK (try CMD)`,
    );
  }
  const command = rest.length === 0 ? [] : node.json ? rest : [rest.join(" ")];
  if (command.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "Missing command after HEALTHCHECK CMD");
  }
  const interval = (name: string): bigint => {
    const value = flags.string(name);
    if (value === "") return 0n;
    const duration = parseGoDuration(value);
    if (typeof duration === "string") throw new InstructionFault("DOCKERFILE_FLAG", duration);
    if (duration !== 0n && duration < 1_000_000n) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        `Interval ${quoteGo(name)} cannot be less than 1ms`,
      );
    }
    return duration;
  };
  const result = {
    interval: interval("interval"),
    timeout: interval("timeout"),
    startPeriod: interval("start-period"),
    startInterval: interval("start-interval"),
  };
  let retries = 0;
  const retriesText = flags.string("retries");
  if (retriesText !== "") {
    if (!/^[+-]?[0-9]+$/.test(retriesText)) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        `strconv.ParseInt: parsing ${quoteGo(retriesText)}: invalid syntax`,
      );
    }
    const parsed = BigInt(retriesText);
    if (parsed > 2147483647n || parsed < -2147483648n) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        `strconv.ParseInt: parsing ${quoteGo(retriesText)}: value out of range`,
      );
    }
    if (parsed < 0n) {
      throw new InstructionFault("DOCKERFILE_FLAG", `--retries cannot be negative (${parsed})`);
    }
    retries = Number(parsed);
  }
  return {
    node: base.node,
    position: base.position,
    kind: "healthcheck",
    test: [node.json ? "CMD" : "CMD-SHELL", ...command],
    ...result,
    retries,
  };
}

const durationUnits = new Map<string, bigint>([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n],
  ["\u03bcs", 1_000n],
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

/** Go's `time.ParseDuration`: nanoseconds, or its error text. */
function parseGoDuration(original: string): bigint | string {
  const invalid = `time: invalid duration ${quoteTime(original)}`;
  const limit = 1n << 63n;
  let text = original;
  let negative = false;
  if (text.startsWith("-") || text.startsWith("+")) {
    negative = text.startsWith("-");
    text = text.slice(1);
  }
  if (text === "0") return 0n;
  if (text === "") return invalid;
  let total = 0n;
  while (text !== "") {
    if (!/^[0-9.]/.test(text)) return invalid;
    const whole = /^[0-9]*/.exec(text)?.[0] ?? "";
    text = text.slice(whole.length);
    let value = whole === "" ? 0n : BigInt(whole);
    if (value > limit) return invalid;
    let fraction = "";
    if (text.startsWith(".")) {
      fraction = /^\.[0-9]*/.exec(text)?.[0].slice(1) ?? "";
      text = text.slice(fraction.length + 1);
    }
    if (whole === "" && fraction === "") return invalid;
    const unitText = /^[^0-9.]*/.exec(text)?.[0] ?? "";
    if (unitText === "") return `time: missing unit in duration ${quoteTime(original)}`;
    text = text.slice(unitText.length);
    const unit = durationUnits.get(unitText);
    if (unit === undefined) {
      return `time: unknown unit ${quoteTime(unitText)} in duration ${quoteTime(original)}`;
    }
    if (value > limit / unit) return invalid;
    value *= unit;
    if (fraction !== "") {
      // Go keeps at most the digits that fit; the scaled fraction is truncated toward zero.
      const digits = fraction.slice(0, 18);
      value += (BigInt(digits === "" ? "0" : digits) * unit) / 10n ** BigInt(digits.length);
      if (value > limit) return invalid;
    }
    total += value;
    if (total > limit) return invalid;
  }
  if (negative) return -total;
  if (total > limit - 1n) return invalid;
  return total;
}

/** The `time` package's own quoting: non-ASCII and control bytes as `\xNN`. */
function quoteTime(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    if (byte >= 0x80 || byte < 0x20) out += "\\x" + byte.toString(16).padStart(2, "0");
    else {
      const ch = String.fromCharCode(byte);
      out += ch === '"' || ch === "\\" ? "\\" + ch : ch;
    }
  }
  return out + '"';
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

/** BuildKit's `parser.MustParseHeredoc` on one word: `<<EOF`, `<<-"EOF"`, `3<<EOF` … or undefined. */
export function readHeredocWord(
  word: string,
): { name: string; expand: boolean; chomp: boolean; fd: number } | undefined {
  const match = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/.exec(word);
  if (match === null) return undefined;
  const rest = match[3] ?? "";
  if (rest === "") return undefined;
  try {
    const words = expandWords(rest, {}, { skipUnsetEnv: true });
    if (words.length !== 1) return undefined;
    const raw = expandWords(rest, {}, { skipUnsetEnv: true, rawQuotes: true });
    if (raw.length !== 1) return undefined;
    const name = words[0] ?? "";
    const quotes = (text: string): number => text.replace(/[^'"]/g, "").length;
    return {
      name,
      expand: quotes(name) === quotes(raw[0] ?? ""),
      chomp: match[2] === "-",
      fd: Number(match[1] === "" ? "0" : match[1]),
    };
  } catch {
    return undefined;
  }
}

import type { DockerfileInstruction, SourceRange } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import { cleanGoPath } from "../dockerfile/go/path.js";
import { quoteGo } from "../dockerfile/go/strconv.js";
import type {
  CopyInstruction,
  AddInstruction,
  KeyValueInstruction,
  RunInstruction,
} from "../dockerfile/instructions.js";
import { suggestClosest } from "../dockerfile/parse-flags.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { GraphStage } from "../stages/stage-graph.js";
import type { BaseImageConfig, CheckLocation, ContextFacts } from "./check-types.js";
import type { Emit } from "./emit.js";
import { readShellCommands } from "./read-shell-commands.js";
import {
  describeBuildTool,
  readDependencyInstall,
  readPackageCommand,
  type DependencyInstall,
} from "./read-package-commands.js";

/** The user a stage runs as, and what set it. */
export interface UserFact {
  /**
   * As set (expanded), `""` for the default (root). `unresolved`: a USER whose variable the base
   * image may set, unknown here.
   */
  readonly value: string;
  readonly source: "instruction" | "unresolved" | "image" | "scratch" | "unknown";
  /** The USER instruction, for `instruction`. */
  readonly location: CheckLocation | undefined;
  /** The stage whose USER it is, for `instruction`. */
  readonly stage: string | undefined;
}

/** A build tool installed by a RUN line of a stage (or of a stage it is built on). */
export interface ToolFact {
  readonly name: string;
  readonly what: string;
  readonly command: string;
  readonly location: CheckLocation;
  readonly stage: string;
}

/** A `COPY --from` of a system directory (`/`, `/usr`, …) into a stage. */
export interface SystemCopy {
  readonly location: CheckLocation;
  readonly stage: string;
  /** The stage copied from, or undefined for an image. */
  readonly fromStage: number | undefined;
  readonly fromImage: string | undefined;
  readonly reference: string;
  readonly source: string;
}

/** A cache mount of a RUN line. */
export interface CacheMountUse {
  readonly id: string;
  readonly target: string;
  readonly sharing: string;
  readonly location: CheckLocation;
}

/** The order of whole-context copies and dependency installs within one stage's own instructions. */
export type OrderEvent =
  | {
      readonly kind: "whole-copy";
      readonly location: CheckLocation;
      readonly keyword: string;
      readonly source: string;
    }
  | {
      readonly kind: "install";
      readonly location: CheckLocation;
      readonly install: DependencyInstall;
    };

/** What the simulated dispatch learnt about one stage, for stagecraft's own rules. */
export interface StageFacts {
  readonly index: number;
  readonly id: string;
  /** The image at the bottom of its chain of base stages, or `scratch`. */
  readonly root:
    | { readonly kind: "image"; readonly reference: string; readonly stage: number }
    | { readonly kind: "scratch" };
  /** Whether the environment of the root image is known (it was inspected, or it is scratch). */
  readonly envKnown: boolean;
  readonly env: ReadonlyMap<string, string>;
  readonly user: UserFact;
  /** Build tools present from RUN installs, its own and its base stages', minus removals. */
  readonly tools: ReadonlyMap<string, ToolFact>;
  /** System-directory copies in it and its base stages. */
  readonly systemCopies: readonly SystemCopy[];
  readonly cacheMounts: readonly CacheMountUse[];
  readonly order: readonly OrderEvent[];
}

/** Inputs of the dispatch simulation. */
export interface DispatchInput {
  readonly analysis: DockerfileAnalysis;
  /** The stages BuildKit dispatches: all of them when no target is requested, else the plan's. */
  readonly dispatched: ReadonlySet<number>;
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly baseImages: ReadonlyMap<string, BaseImageConfig | undefined> | undefined;
  readonly context: ContextFacts | undefined;
  readonly emit: Emit;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** BuildKit expands heredoc bodies with `shell.NewLex('\\')` and SkipProcessQuotes. */
const RAW_LEXER = { escapeToken: "\\", skipProcessQuotes: true } as const;
const NON_ENV_ARGS = new Set(["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]);
const SECRET_NAME =
  /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOWED = /(?:_|^)(?:public|file|version)(?:_|$)/i;
const SYSTEM_DIRS = new Set([
  "/usr",
  "/usr/bin",
  "/usr/sbin",
  "/usr/lib",
  "/usr/libexec",
  "/usr/local",
  "/bin",
  "/sbin",
  "/lib",
  "/lib64",
  "/usr/lib64",
]);

/** A word that starts a command readPackageCommand or readDependencyInstall knows. */
const INTERESTING_COMMANDS =
  /\b(?:apt-get|apt|aptitude|apk|dnf|yum|microdnf|tdnf|zypper|pacman|npm|yarn|pnpm|pip3?|python3?|go\s+mod|mvnw?|bundle|cargo|composer|poetry|uv|dotnet)\b/;

/** Directories that are a toolchain wherever they are copied from. */
export const TOOLCHAIN_DIRS: ReadonlyMap<string, string> = new Map([
  ["/usr/local/go", "the Go toolchain"],
  ["/usr/local/cargo", "the Rust toolchain"],
  ["/usr/local/rustup", "the Rust toolchain"],
  ["/root/.cargo", "the Rust toolchain"],
  ["/usr/lib/jvm", "a JDK"],
]);

/** BuildKit's SecretsUsedInArgOrEnv test of a key (`dockerfile2llb/validations.go` getSecretsRegex). */
export function isSecretName(key: string): boolean {
  return SECRET_NAME.test(key) && !SECRET_ALLOWED.test(key);
}

/** A node's range as a finding location. */
export function locationOf(range: SourceRange): CheckLocation {
  return { line: range.start.line, column: range.start.column, endLine: range.end.line };
}

/** Where an instruction's findings point, computed only when one is reported. */
class InstructionAt {
  #location: CheckLocation | undefined;
  constructor(readonly node: DockerfileInstruction) {}
  get location(): CheckLocation {
    return (this.#location ??= locationOf(this.node.range));
  }
  get comments(): readonly string[] {
    return this.node.prevComment;
  }
}

interface State {
  env: Map<string, string>;
  envKnown: boolean;
  buildArgs: Set<string>;
  workdirSet: boolean;
  shell: readonly string[];
  user: UserFact;
  tools: Map<string, ToolFact>;
  virtuals: Map<string, string[]>;
  systemCopies: SystemCopy[];
  root: StageFacts["root"];
}

/**
 * Walks the dispatched stages in file order the way BuildKit's `dispatchStages` does, tracking each
 * stage's environment, build args, user, shell and WORKDIR, and runs BuildKit's dispatch-time rules
 * (UndefinedVar, LegacyKeyValueFormat, SecretsUsedInArgOrEnv, JSONArgsRecommended,
 * WorkdirRelativePath, MultipleInstructionsDisallowed, ExposeProtoCasing, ExposeInvalidFormat,
 * CopyIgnoredFile). Returns the facts stagecraft's rules need, by stage index.
 */
export function dispatchStages(input: DispatchInput): Map<number, StageFacts> {
  const { analysis, emit } = input;
  const graph = analysis.graph;
  const escapeToken = graph.escapeToken;
  const facts = new Map<number, StageFacts>();
  const states = new Map<number, State>();
  const ignoreRules = copyIgnoreRules(input.context);
  const lexer = { escapeToken };

  for (const stage of graph.stages) {
    if (!input.dispatched.has(stage.index)) continue;
    const state = initialState(stage, states, input.baseImages);
    const cmdAt: { cmd?: CheckLocation; entrypoint?: CheckLocation; healthcheck?: CheckLocation } =
      {};
    const cacheMounts: CacheMountUse[] = [];
    const order: OrderEvent[] = [];

    /** Whether the last word expanded used a variable the unknown base image may set. */
    const last = { unresolved: false };
    /** ProcessWord with the stage's env, reporting unset variables as BuildKit does. */
    const expand = (
      word: string,
      at: { location: CheckLocation; comments: readonly string[] },
      raw = false,
    ): string => {
      last.unresolved = false;
      if (!/[$'"\\`]/.test(word)) return word;
      let result;
      try {
        result = expandShellWord(word, state.env, raw ? RAW_LEXER : lexer);
      } catch {
        return word;
      }
      if (state.envKnown) {
        for (const name of result.unmatched) {
          if (state.buildArgs.has(name) || NON_ENV_ARGS.has(name)) continue;
          const suggestion = suggestClosest(name, [...state.env.keys()], true);
          emit({
            rule: "UndefinedVar",
            message: `Usage of undefined variable '$${name}'${suggestion === undefined ? "" : ` (did you mean $${suggestion}?)`}`,
            location: at.location,
            stage: stage.id,
            comments: at.comments,
          });
        }
      }
      last.unresolved = !state.envKnown && result.unmatched.length > 0;
      return result.value;
    };

    // One reporter per stage, for the instruction being dispatched (not a closure per instruction).
    let current: InstructionAt | undefined;
    const report = (
      rule: Parameters<Emit>[0]["rule"],
      message: string,
      location?: CheckLocation,
    ): void => {
      if (current === undefined) return;
      emit({
        rule,
        message,
        location: location ?? current.location,
        stage: stage.id,
        comments: current.comments,
      });
    };
    for (const instruction of stage.instructions) {
      const node = instruction.node;
      const at = new InstructionAt(node);
      current = at;
      switch (instruction.kind) {
        case "env": {
          const pairs = expandPairs(instruction, expand, at);
          for (const [index, pair] of pairs.entries()) {
            if (instruction.pairs[index]?.noDelimiter === true) {
              report("LegacyKeyValueFormat", legacyMessage(node.keywordAsWritten));
            }
            if (isSecretName(pair.key))
              report("SecretsUsedInArgOrEnv", secretMessage("ENV", pair.key));
            state.env.set(pair.key, pair.value);
          }
          break;
        }
        case "label": {
          expandPairs(instruction, expand, at);
          for (const pair of instruction.pairs) {
            if (pair.noDelimiter)
              report("LegacyKeyValueFormat", legacyMessage(node.keywordAsWritten));
          }
          break;
        }
        case "arg": {
          for (const arg of instruction.args) {
            if (isSecretName(arg.key))
              report("SecretsUsedInArgOrEnv", secretMessage("ARG", arg.key));
            let value: string | undefined;
            const given = input.buildArgs.get(arg.key);
            if (given !== undefined) value = given;
            else if (arg.value !== undefined) value = expand(arg.value, at);
            else value = graph.globalArgs.get(arg.key);
            if (value !== undefined && !NON_ENV_ARGS.has(arg.key)) state.env.set(arg.key, value);
            state.buildArgs.add(arg.key);
          }
          break;
        }
        case "workdir": {
          const path = expand(instruction.values[0] ?? "", at);
          // A variable the unknown base image may set: the path cannot be judged.
          const judged = !last.unresolved;
          if (judged && !state.workdirSet && !isAbsolute(path, stagePlatformOs(stage, analysis))) {
            report(
              "WorkdirRelativePath",
              `Relative workdir ${quoteGo(path)} can have unexpected results if the base image changes`,
            );
          }
          state.workdirSet = true;
          break;
        }
        case "user": {
          const value = expand(instruction.values[0] ?? "", at);
          state.user = {
            value,
            source: last.unresolved ? "unresolved" : "instruction",
            location: at.location,
            stage: stage.id,
          };
          break;
        }
        case "volume":
        case "stopsignal":
          for (const value of instruction.values) expand(value, at);
          break;
        case "shell":
          state.shell = instruction.values;
          break;
        case "cmd":
        case "entrypoint": {
          const previous = cmdAt[instruction.kind];
          if (previous !== undefined)
            report(
              "MultipleInstructionsDisallowed",
              multipleMessage(node.keywordAsWritten),
              previous,
            );
          cmdAt[instruction.kind] = at.location;
          if (!node.json && state.shell.length === 0) {
            report(
              "JSONArgsRecommended",
              `JSON arguments recommended for ${node.keywordAsWritten} to prevent unintended behavior related to OS signals`,
            );
          }
          break;
        }
        case "healthcheck": {
          if (cmdAt.healthcheck !== undefined) {
            report(
              "MultipleInstructionsDisallowed",
              multipleMessage(node.keywordAsWritten),
              cmdAt.healthcheck,
            );
          }
          cmdAt.healthcheck = at.location;
          break;
        }
        case "expose":
          for (const value of instruction.values) {
            let expanded;
            try {
              expanded = expandShellWord(value, state.env, { escapeToken });
            } catch {
              continue;
            }
            if (!state.envKnown && expanded.unmatched.length > 0) continue;
            for (const port of expanded.words) checkExposedPort(port, report);
          }
          break;
        case "copy":
        case "add": {
          const sources = expandCopy(instruction, expand, at);
          const keyword = instruction.kind === "copy" ? "Copy" : "Add";
          const fromContext = instruction.kind === "add" || instruction.from === undefined;
          if (fromContext && ignoreRules !== undefined) {
            for (const source of sources) {
              if (instruction.kind === "add" && isRemoteSource(source)) continue;
              const path = cleanGoPath(source);
              if (!isIgnoredSource(path, ignoreRules)) continue;
              report(
                "CopyIgnoredFile",
                `Attempting to ${keyword} file ${quoteGo(path)} that is excluded by .dockerignore`,
              );
            }
          }
          if (instruction.kind === "copy" && instruction.from !== undefined) {
            recordSystemCopies(instruction, stage, sources, state, at);
          }
          if (fromContext) {
            const whole = sources.find((source) => isWholeContext(source));
            if (whole !== undefined) {
              order.push({
                kind: "whole-copy",
                location: at.location,
                keyword: node.keywordAsWritten,
                source: whole,
              });
            }
          }
          break;
        }
        case "run": {
          for (const mount of instruction.mounts) {
            const values = new Map<string, string>();
            for (const field of mount.fields) {
              const equals = field.indexOf("=");
              if (equals < 0) continue;
              values.set(field.slice(0, equals).toLowerCase(), expand(field.slice(equals + 1), at));
            }
            if ((values.get("type") ?? "bind").toLowerCase() === "cache") {
              const target =
                values.get("target") ?? values.get("dst") ?? values.get("destination") ?? "";
              cacheMounts.push({
                id: values.get("id") ?? target,
                target,
                sharing: (values.get("sharing") ?? "shared").toLowerCase(),
                location: at.location,
              });
            }
          }
          readRun(instruction, stage, state, at, order);
          break;
        }
        case "onbuild":
        case "maintainer":
          break;
        default:
          instruction satisfies never;
      }
    }
    states.set(stage.index, state);
    facts.set(stage.index, {
      index: stage.index,
      id: stage.id,
      root: state.root,
      envKnown: state.envKnown,
      env: state.env,
      user: state.user,
      tools: state.tools,
      systemCopies: state.systemCopies,
      cacheMounts,
      order,
    });
  }
  return facts;
}

/** BuildKit's `dispatchState.init` (from a base stage) or the base image's config. */
function initialState(
  stage: GraphStage,
  states: ReadonlyMap<number, State>,
  baseImages: ReadonlyMap<string, BaseImageConfig | undefined> | undefined,
): State {
  const base = stage.base;
  if (base.kind === "stage") {
    const parent = states.get(base.index);
    if (parent !== undefined) {
      return {
        env: new Map(parent.env),
        envKnown: parent.envKnown,
        buildArgs: new Set(parent.buildArgs),
        workdirSet: parent.workdirSet,
        shell: parent.shell,
        user: parent.user,
        tools: new Map(parent.tools),
        virtuals: new Map(parent.virtuals),
        systemCopies: [...parent.systemCopies],
        root: parent.root,
      };
    }
  }
  const fresh = (
    root: StageFacts["root"],
    config: BaseImageConfig | undefined,
    known: boolean,
  ): State => {
    const env = new Map<string, string>();
    for (const entry of config?.env ?? []) {
      const equals = entry.indexOf("=");
      if (equals < 0) env.set(entry, "");
      else env.set(entry.slice(0, equals), entry.slice(equals + 1));
    }
    if (!env.has("PATH")) env.set("PATH", DEFAULT_PATH);
    const user: UserFact =
      root.kind === "scratch"
        ? { value: "", source: "scratch", location: undefined, stage: undefined }
        : known
          ? { value: config?.user ?? "", source: "image", location: undefined, stage: undefined }
          : { value: "", source: "unknown", location: undefined, stage: undefined };
    return {
      env,
      envKnown: known,
      buildArgs: new Set(),
      workdirSet: false,
      shell: config?.shell ?? [],
      user,
      tools: new Map(),
      virtuals: new Map(),
      systemCopies: [],
      root,
    };
  };
  if (base.kind === "image") {
    const config = baseImages?.get(base.reference);
    return fresh(
      { kind: "image", reference: base.reference, stage: stage.index },
      config,
      config !== undefined,
    );
  }
  return fresh({ kind: "scratch" }, undefined, true);
}

function expandPairs(
  instruction: KeyValueInstruction,
  expand: (word: string, at: { location: CheckLocation; comments: readonly string[] }) => string,
  at: { location: CheckLocation; comments: readonly string[] },
): { key: string; value: string }[] {
  // Every key and value is expanded before the instruction takes effect, as in BuildKit.
  return instruction.pairs.map((pair) => ({
    key: expand(pair.key, at),
    value: expand(pair.value, at),
  }));
}

function expandCopy(
  instruction: CopyInstruction | AddInstruction,
  expand: (
    word: string,
    at: { location: CheckLocation; comments: readonly string[] },
    raw?: boolean,
  ) => string,
  at: { location: CheckLocation; comments: readonly string[] },
): string[] {
  expand(instruction.chown, at);
  expand(instruction.chmod, at);
  if (instruction.kind === "add") expand(instruction.checksum, at);
  const sources = instruction.sources.map((source) => expand(source, at));
  expand(instruction.destination, at);
  for (const heredoc of instruction.heredocSources) {
    if (heredoc.expand) expand(heredoc.content, at, true);
  }
  return sources;
}

function legacyMessage(keyword: string): string {
  return `"${keyword} key=value" should be used instead of legacy "${keyword} key value" format`;
}

function secretMessage(instruction: "ARG" | "ENV", key: string): string {
  return `Do not use ARG or ENV instructions for sensitive data (${instruction} ${quoteGo(key)})`;
}

function multipleMessage(keyword: string): string {
  return `Multiple ${keyword} instructions should not be used in the same stage because only the last one will be used`;
}

function stagePlatformOs(stage: GraphStage, analysis: DockerfileAnalysis): string {
  return stage.resolvedPlatform?.os ?? analysis.graph.targetPlatform.os;
}

/** moby `system.IsAbs` for the stage's OS. */
function isAbsolute(path: string, os: string): boolean {
  if (os === "windows")
    return /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\") || path.startsWith("/");
  return path.startsWith("/");
}

/** BuildKit's `parsePort` lint part: protocol casing and host parts in an EXPOSE value. */
function checkExposedPort(
  rawPort: string,
  report: (rule: "ExposeProtoCasing" | "ExposeInvalidFormat", message: string) => void,
): void {
  const parts = rawPort.split(":");
  const containerPort = parts.at(-1) ?? "";
  const hostIp = parts.length >= 3 ? parts.slice(0, -2).join(":") : "";
  const hostPort = parts.length >= 2 ? (parts.at(-2) ?? "") : "";
  const slash = containerPort.indexOf("/");
  const port = slash < 0 ? containerPort : containerPort.slice(0, slash);
  const proto = slash < 0 ? "" : containerPort.slice(slash + 1);
  if (port === "") return;
  if (!["", "tcp", "udp", "sctp"].includes(proto.toLowerCase())) return;
  if (proto !== proto.toLowerCase()) {
    report(
      "ExposeProtoCasing",
      `Defined protocol '${rawPort}' in EXPOSE instruction should be lowercase`,
    );
  }
  if (hostIp !== "" || hostPort !== "") {
    report(
      "ExposeInvalidFormat",
      `EXPOSE instruction should not define an IP address or host-port mapping, found '${rawPort}'`,
    );
  }
}

/** The ignore rules CopyIgnoredFile uses, or undefined when BuildKit would not run it. */
function copyIgnoreRules(
  context: ContextFacts | undefined,
): { context: ContextFacts; rootIgnored: boolean } | undefined {
  if (context === undefined || context.ignorePatterns.length === 0) return undefined;
  // BuildKit does not judge paths when an exception (`!…`) could bring a file back.
  if (context.ignorePatterns.some((pattern) => pattern.startsWith("!"))) return undefined;
  const rootIgnored = context.ignorePatterns.some(
    (pattern) => pattern === "*" || pattern === "**" || pattern === "**/*",
  );
  return { context, rootIgnored };
}

function isIgnoredSource(
  path: string,
  rules: { context: ContextFacts; rootIgnored: boolean },
): boolean {
  if (path === "." || path === "/") return rules.rootIgnored;
  return rules.context.isIgnored(path.replace(/^\/+/, ""));
}

function isRemoteSource(source: string): boolean {
  return /^(https?|git):\/\//.test(source) || source.startsWith("git@");
}

/** `.`, `./`, `/` or `*`: a COPY source that is the whole build context. */
function isWholeContext(source: string): boolean {
  const first = source.charCodeAt(0);
  // Anything but `.`, `/` or `*` first cannot clean to the whole context.
  if (first !== 0x2e && first !== 0x2f && first !== 0x2a) return false;
  const clean = cleanGoPath(source);
  return clean === "." || clean === "/" || clean === "*";
}

function recordSystemCopies(
  instruction: CopyInstruction,
  stage: GraphStage,
  sources: readonly string[],
  state: State,
  at: InstructionAt,
): void {
  // Nearly no COPY --from copies a system directory: look for the stage's use of it only then.
  const system = sources.map((source) => cleanGoPath(source)).filter(isSystemSource);
  if (system.length === 0) return;
  const dependency = stage.dependencies.find(
    (use) => use.kind === "copy" && !use.onbuild && use.position.line === instruction.position.line,
  );
  const image = stage.imageUses.find(
    (use) => use.kind === "copy" && !use.onbuild && use.position.line === instruction.position.line,
  );
  if (dependency === undefined && image === undefined) return;
  for (const source of system) {
    state.systemCopies.push({
      location: at.location,
      stage: stage.id,
      fromStage: dependency?.stage,
      fromImage: dependency === undefined ? image?.reference : undefined,
      reference: instruction.from ?? "",
      source,
    });
  }
}

function isSystemSource(clean: string): boolean {
  return clean === "/" || SYSTEM_DIRS.has(clean) || TOOLCHAIN_DIRS.has(clean);
}

/** Package installs and removals, and dependency installs, of one RUN line. */
function readRun(
  instruction: RunInstruction,
  stage: GraphStage,
  state: State,
  at: InstructionAt,
  order: OrderEvent[],
): void {
  let script = instruction.prependShell
    ? (instruction.command[0] ?? "")
    : instruction.command.join(" ");
  for (const heredoc of instruction.heredocs) script += `\n${heredoc.content}`;
  if (
    instruction.command.length >= 3 &&
    !instruction.prependShell &&
    /^(ba|da|a)?sh$/.test(instruction.command[0]?.split("/").at(-1) ?? "") &&
    instruction.command[1] === "-c"
  ) {
    // RUN ["sh", "-c", "…"]: the script is the third word.
    script = instruction.command.slice(2).join(" ");
  }
  // Most RUN lines run nothing these rules read: skip the shell reading for them.
  if (!INTERESTING_COMMANDS.test(script)) return;
  const commands = readShellCommands(script, (name) => state.env.get(name));
  const location = at.location;
  for (const words of commands) {
    const install = readDependencyInstall(words);
    if (install !== undefined) order.push({ kind: "install", location, install });
    const packages = readPackageCommand(words);
    if (packages === undefined) continue;
    if (packages.action === "install") {
      const names: string[] = [];
      for (const name of packages.packages) {
        const what = describeBuildTool(name);
        if (what === undefined) continue;
        names.push(name);
        state.tools.set(name, { name, what, command: packages.command, location, stage: stage.id });
      }
      if (packages.virtual !== undefined) state.virtuals.set(packages.virtual, names);
    } else {
      for (const name of packages.packages) {
        const virtual = state.virtuals.get(name);
        for (const member of virtual ?? [name]) state.tools.delete(member);
        state.virtuals.delete(name);
      }
    }
  }
}

import { BakeError } from "../errors.js";
import { BAKE_TARGET_FIELDS, type BakeGroup, type BakeTarget } from "./bake-target.js";
import { evaluateHcl, toHclString, typeName, type HclScope } from "./evaluate-hcl.js";
import {
  parseHcl,
  parseHclTemplate,
  type HclAttribute,
  type HclBlock,
  type HclBody,
  type HclExpression,
  type HclValue,
} from "./parse-hcl.js";
import { readComposeFile } from "./read-compose-file.js";

/** One bake, JSON or compose file, as read from disk (or stdin) by the caller. */
export interface BakeFile {
  /** The name the user gave or bake found, used in errors and to pick the syntax. */
  name: string;
  text: string;
}

/** A target as defined in the files, before `inherits`, defaults and overrides. */
export interface DefinedTarget {
  name: string;
  attributes: BakeTarget;
  inherits: string[];
  file: string;
  line: number;
  /**
   * The line of each attribute written in the block (`inherits`, `contexts`) and of each key of a
   * map attribute written as an object (`contexts.NAME`), for errors about that key; a key without
   * one (a JSON file's, a `--set`) is named at the block's `line`.
   */
  keyLines?: Record<string, number> | undefined;
}

/** What the files define, merged in the order bake merges them (compose first, then HCL and JSON). */
export interface BakeDefinition {
  targets: DefinedTarget[];
  groups: { name: string; targets: string[]; file: string; line: number }[];
  /** Compose services without `build:`: not targets, but naming one is an error that says why. */
  servicesWithoutBuild: { name: string; file: string; line: number }[];
}

/** Options of reading bake files: the environment for variables, built-in variables. */
export interface ReadBakeFilesOptions {
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Built-in variables (`BAKE_CMD_CONTEXT`, `BAKE_LOCAL_PLATFORM`) and `--var` values. */
  vars?: Readonly<Record<string, string>> | undefined;
}

const TARGET_NAME = /^[a-zA-Z0-9_-]+$/;

/** Which syntax a file is in, by its name as bake decides (content for other names). */
export function bakeFileSyntax(file: BakeFile): "compose" | "hcl" | "json" {
  const lower = file.name.toLowerCase();
  if (lower.endsWith(".yml") || lower.endsWith(".yaml")) return "compose";
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".hcl")) return "hcl";
  const start = file.text.trimStart();
  if (start.startsWith("{")) return "json";
  return /^\s*services\s*:/m.test(file.text) ? "compose" : "hcl";
}

/**
 * Reads bake files (HCL, JSON and compose) into one definition: variables, functions and `matrix`
 * evaluated, same-named targets merged as bake merges them.
 */
export function readBakeFiles(
  files: readonly BakeFile[],
  options: ReadBakeFilesOptions = {},
): BakeDefinition {
  const definition: BakeDefinition = { targets: [], groups: [], servicesWithoutBuild: [] };
  const hclBodies: { file: string; body: HclBody }[] = [];
  for (const file of files) {
    const syntax = bakeFileSyntax(file);
    if (syntax === "compose") {
      const compose = readComposeFile(file, options.env ?? {});
      definition.targets.push(...compose.targets);
      definition.groups.push(...compose.groups);
      definition.servicesWithoutBuild.push(...compose.servicesWithoutBuild);
    } else if (syntax === "json") {
      hclBodies.push({ file: file.name, body: jsonToBody(file) });
    } else {
      hclBodies.push({ file: file.name, body: parseHcl(file.text, file.name) });
    }
  }
  if (hclBodies.length > 0) evaluateBodies(hclBodies, options, definition);
  return definition;
}

// --- JSON files: the HCL JSON syntax, where every string is a template ---------------------

function lineFinder(text: string): (needle: string) => number {
  return (needle) => {
    const at = text.indexOf(needle);
    if (at === -1) return 1;
    let line = 1;
    for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
    return line;
  };
}

function jsonToExpression(value: unknown, file: string, line: number): HclExpression {
  if (typeof value === "string") return parseHclTemplate(value, file, line);
  if (Array.isArray(value)) {
    return { kind: "tuple", items: value.map((item) => jsonToExpression(item, file, line)), line };
  }
  if (value !== null && typeof value === "object") {
    return {
      kind: "object",
      entries: Object.entries(value).map(([key, item]) => ({
        key: { kind: "literal", value: key, line },
        value: jsonToExpression(item, file, line),
      })),
      line,
    };
  }
  return { kind: "literal", value: (value ?? null) as HclValue, line };
}

function jsonToBody(file: BakeFile): HclBody {
  let data: unknown;
  try {
    data = JSON.parse(file.text);
  } catch (error) {
    throw new BakeError("BAKE_SYNTAX", error instanceof Error ? error.message : String(error), {
      file: file.name,
    });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new BakeError("BAKE_SYNTAX", "a bake JSON file must hold one object", {
      file: file.name,
    });
  }
  const findLine = lineFinder(file.text);
  const body: HclBody = { attributes: [], blocks: [] };
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const blockLike = ["target", "group", "variable", "function"].includes(key);
    if (!blockLike || value === null || typeof value !== "object" || Array.isArray(value)) {
      const line = findLine(`"${key}"`);
      body.attributes.push({
        name: key,
        expression: jsonToExpression(value, file.name, line),
        line,
      });
      continue;
    }
    for (const [label, content] of Object.entries(value as Record<string, unknown>)) {
      const line = findLine(`"${label}"`);
      const inner: HclBody = { attributes: [], blocks: [] };
      const items = content !== null && typeof content === "object" ? Object.entries(content) : [];
      for (const [name, item] of items) {
        let expression = jsonToExpression(item, file.name, line);
        // A function's params are names, not templates.
        if (key === "function" && (name === "params" || name === "variadic_params")) {
          const names: unknown[] = Array.isArray(item) ? item : [item];
          expression = {
            kind: "tuple",
            items: names.map((n) => ({ kind: "variable", name: String(n), line })),
            line,
          };
        }
        inner.attributes.push({ name, expression, line });
      }
      body.blocks.push({ type: key, labels: [label], body: inner, line });
    }
  }
  return body;
}

// --- evaluation --------------------------------------------------------------------------

interface Located<T> {
  value: T;
  file: string;
}

function attribute(block: HclBlock, name: string): HclAttribute | undefined {
  return block.body.attributes.find((attr) => attr.name === name);
}

function evaluateBodies(
  bodies: { file: string; body: HclBody }[],
  options: ReadBakeFilesOptions,
  definition: BakeDefinition,
): void {
  const env = options.env ?? {};
  const builtins = options.vars ?? {};
  const topAttributes = new Map<string, Located<HclAttribute>>();
  const variables = new Map<string, Located<HclBlock>>();
  const functions = new Map<string, Located<HclBlock>>();
  const blocks: Located<HclBlock>[] = [];
  for (const { file, body } of bodies) {
    for (const attr of body.attributes) topAttributes.set(attr.name, { value: attr, file });
    for (const block of body.blocks) {
      const label = block.labels[0];
      switch (block.type) {
        case "variable":
        case "function":
          if (block.labels.length !== 1 || label === undefined) {
            throw new BakeError("BAKE_SYNTAX", `a ${block.type} block takes one label`, {
              file,
              line: block.line,
            });
          }
          (block.type === "variable" ? variables : functions).set(label, { value: block, file });
          break;
        case "target":
        case "group":
          if (block.labels.length !== 1 || label === undefined) {
            throw new BakeError("BAKE_SYNTAX", `a ${block.type} block takes one label, its name`, {
              file,
              line: block.line,
            });
          }
          blocks.push({ value: block, file });
          break;
        default:
          throw new BakeError(
            "BAKE_SYNTAX",
            `blocks of type "${block.type}" are not expected here`,
            {
              file,
              line: block.line,
              hint: "A bake file holds variable, function, target and group blocks.",
            },
          );
      }
    }
  }

  const values = new Map<string, HclValue>();
  const resolving = new Set<string>();
  const globalScope: HclScope = {
    file: bodies[0]?.file ?? "docker-bake.hcl",
    lookup: (name) => resolveVariable(name),
    callUser: (name, args, line) => callUserFunction(name, args, line),
  };
  const scopeFor = (file: string, extra: Record<string, HclValue> = {}): HclScope => ({
    file,
    lookup: (name) => (name in extra ? extra[name] : resolveVariable(name)),
    callUser: globalScope.callUser,
  });

  function resolveVariable(name: string): HclValue | undefined {
    const known = values.get(name);
    if (known !== undefined) return known;
    const builtin = builtins[name];
    const top = topAttributes.get(name);
    const variable = variables.get(name);
    if (top === undefined && variable === undefined) {
      if (builtin !== undefined) return builtin;
      return undefined;
    }
    if (resolving.has(name)) {
      const where = top ?? variable;
      throw new BakeError("BAKE_CYCLE", `variable cycle not allowed for ${name}`, {
        file: where?.file,
        line: where?.value.line,
      });
    }
    resolving.add(name);
    let value: HclValue;
    if (top !== undefined) {
      value = evaluateHcl(top.value.expression, scopeFor(top.file));
    } else if (variable !== undefined) {
      const fromEnv = env[name];
      const defaultAttr = attribute(variable.value, "default");
      if (defaultAttr === undefined) {
        value = builtin ?? fromEnv ?? "";
      } else {
        const fallback = evaluateHcl(defaultAttr.expression, scopeFor(variable.file));
        value =
          builtin ??
          (fromEnv === undefined ? fallback : typedFromEnv(name, fromEnv, fallback, variable));
      }
    } else {
      value = "";
    }
    resolving.delete(name);
    values.set(name, value);
    return value;
  }

  function callUserFunction(name: string, args: HclValue[], line: number): HclValue | undefined {
    const fn = functions.get(name);
    if (fn === undefined) return undefined;
    const paramNames = (attr: HclAttribute | undefined): string[] => {
      if (attr === undefined) return [];
      const expr = attr.expression;
      const items = expr.kind === "tuple" ? expr.items : [expr];
      return items.map((item) => (item.kind === "variable" ? item.name : ""));
    };
    const params = paramNames(attribute(fn.value, "params"));
    const variadic = paramNames(attribute(fn.value, "variadic_params"))[0];
    const result = attribute(fn.value, "result");
    if (result === undefined) {
      throw new BakeError("BAKE_INVALID", `function "${name}" has no result`, {
        file: fn.file,
        line: fn.value.line,
      });
    }
    if (args.length < params.length || (variadic === undefined && args.length > params.length)) {
      throw new BakeError(
        "BAKE_INVALID",
        `function "${name}" takes ${params.length} arguments, got ${args.length}`,
        {
          file: fn.file,
          line,
        },
      );
    }
    const bindings: Record<string, HclValue> = {};
    params.forEach((param, i) => (bindings[param] = args[i] ?? null));
    if (variadic !== undefined) bindings[variadic] = args.slice(params.length);
    return evaluateHcl(result.expression, scopeFor(fn.file, bindings));
  }

  for (const { value: block, file } of blocks) {
    const label = block.labels[0] ?? "";
    if (block.type === "group") {
      const targetsAttr = attribute(block, "targets");
      for (const attr of block.body.attributes) {
        if (attr.name !== "targets" && attr.name !== "description") {
          throw new BakeError("BAKE_INVALID", `unsupported argument "${attr.name}"`, {
            file,
            line: attr.line,
            key: `group "${label}"`,
          });
        }
      }
      const targets =
        targetsAttr === undefined
          ? []
          : toStringList(
              evaluateHcl(targetsAttr.expression, scopeFor(file)),
              `group "${label}".targets`,
              file,
              targetsAttr.line,
            );
      definition.groups.push({ name: label, targets, file, line: block.line });
      continue;
    }
    const matrixAttr = attribute(block, "matrix");
    const contexts =
      matrixAttr === undefined
        ? [{}]
        : matrixContexts(evaluateHcl(matrixAttr.expression, scopeFor(file)), file, matrixAttr.line);
    const names: string[] = [];
    for (const bindings of contexts) {
      const scope = scopeFor(file, bindings);
      const nameAttr = attribute(block, "name");
      let name = label;
      if (nameAttr !== undefined) {
        name = toHclString(evaluateHcl(nameAttr.expression, scope), "name");
      } else if (matrixAttr !== undefined) {
        throw new BakeError("BAKE_INVALID", "a target with a matrix needs a name", {
          file,
          line: matrixAttr.line,
          key: `target "${label}"`,
          hint: 'Add `name = "...-${...}"` built from the matrix values.',
        });
      }
      if (!TARGET_NAME.test(name)) {
        throw new BakeError(
          "BAKE_INVALID",
          `invalid target name "${name}": only a-z, A-Z, 0-9, _ and - are allowed`,
          {
            file,
            line: nameAttr?.line ?? block.line,
          },
        );
      }
      names.push(name);
      definition.targets.push(evaluateTarget(block, name, file, scope));
    }
    if (names.length !== 1 || names[0] !== label) {
      definition.groups.push({ name: label, targets: [...new Set(names)], file, line: block.line });
    }
  }
}

function typedFromEnv(
  name: string,
  text: string,
  fallback: HclValue,
  variable: Located<HclBlock>,
): HclValue {
  const where = { file: variable.file, line: variable.value.line, key: `variable "${name}"` };
  if (typeof fallback === "boolean") {
    const lower = text.toLowerCase();
    if (["1", "t", "true"].includes(lower)) return true;
    if (["0", "f", "false"].includes(lower)) return false;
    throw new BakeError("BAKE_INVALID", `failed to parse ${name} as bool: "${text}"`, where);
  }
  if (typeof fallback === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) {
      throw new BakeError("BAKE_INVALID", `failed to parse ${name} as number: "${text}"`, where);
    }
    return n;
  }
  if (typeof fallback === "string" || fallback === null) return text;
  throw new BakeError(
    "BAKE_UNSUPPORTED",
    `a ${typeName(fallback)} variable cannot be set from the environment`,
    where,
  );
}

function matrixContexts(matrix: HclValue, file: string, line: number): Record<string, HclValue>[] {
  if (matrix === null || typeof matrix !== "object" || Array.isArray(matrix)) {
    throw new BakeError("BAKE_INVALID", "matrix must be a map", { file, line });
  }
  let contexts: Record<string, HclValue>[] = [{}];
  // buildx walks a Go map here (random order); sorted keys give the same set, always in one order.
  for (const key of Object.keys(matrix).sort()) {
    const values = matrix[key];
    if (!Array.isArray(values)) {
      throw new BakeError("BAKE_INVALID", "matrix values must be a list", {
        file,
        line,
        key: `matrix.${key}`,
      });
    }
    const next: Record<string, HclValue>[] = [];
    for (const value of values)
      for (const context of contexts) next.push({ ...context, [key]: value });
    contexts = next;
  }
  return contexts;
}

function toStringList(value: HclValue, key: string, file: string, line: number): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) {
    throw new BakeError("BAKE_INVALID", `must be a list of strings, not a ${typeName(value)}`, {
      file,
      line,
      key,
    });
  }
  return value.filter((item) => item !== null).map((item) => toHclString(item, key));
}

function evaluateTarget(
  block: HclBlock,
  name: string,
  file: string,
  scope: HclScope,
): DefinedTarget {
  const attributes: Record<string, unknown> = {};
  const keyLines: Record<string, number> = {};
  let inherits: string[] = [];
  for (const attr of block.body.attributes) {
    if (attr.name === "matrix" || attr.name === "name") continue;
    const key = `target "${name}".${attr.name}`;
    keyLines[attr.name] = attr.line;
    if (attr.expression.kind === "object") {
      for (const entry of attr.expression.entries) {
        const entryKey = evaluateHcl(entry.key, scope);
        if (typeof entryKey === "string") keyLines[`${attr.name}.${entryKey}`] = entry.key.line;
      }
    }
    if (attr.name === "inherits") {
      inherits = toStringList(evaluateHcl(attr.expression, scope), key, file, attr.line);
      continue;
    }
    const field = BAKE_TARGET_FIELDS.find((candidate) => candidate.key === attr.name);
    if (field === undefined) {
      throw new BakeError("BAKE_INVALID", `unsupported argument "${attr.name}"`, {
        file,
        line: attr.line,
        key: `target "${name}"`,
        hint: `A target takes ${BAKE_TARGET_FIELDS.map((f) => f.key).join(", ")}, inherits, matrix and name.`,
      });
    }
    const value = evaluateHcl(attr.expression, scope);
    if (value === null) continue;
    switch (field.kind) {
      case "string":
        attributes[field.key] = toHclString(value, key);
        break;
      case "bool":
        if (typeof value !== "boolean" && value !== "true" && value !== "false") {
          throw new BakeError("BAKE_INVALID", `must be a bool, not a ${typeName(value)}`, {
            file,
            line: attr.line,
            key,
          });
        }
        attributes[field.key] = value === true || value === "true";
        break;
      case "list":
        attributes[field.key] = toStringList(value, key, file, attr.line);
        break;
      case "map": {
        if (typeof value !== "object" || Array.isArray(value)) {
          throw new BakeError("BAKE_INVALID", `must be a map, not a ${typeName(value)}`, {
            file,
            line: attr.line,
            key,
          });
        }
        const map: Record<string, string> = {};
        for (const [k, v] of Object.entries(value)) {
          // A null arg means "not set here", as buildx's *string does.
          if (v !== null) map[k] = toHclString(v, `${key}.${k}`);
        }
        attributes[field.key] = map;
        break;
      }
      default:
        return field satisfies never;
    }
  }
  return { name, attributes: attributes, inherits, file, line: block.line, keyLines };
}

/** The groups of a definition by name, the later definition's targets added to the earlier's. */
export function groupsByName(
  definition: BakeDefinition,
): Map<string, BakeGroup & { file: string; line: number }> {
  const groups = new Map<string, BakeGroup & { file: string; line: number }>();
  for (const group of definition.groups) {
    const known = groups.get(group.name);
    if (known === undefined)
      groups.set(group.name, { targets: [...group.targets], file: group.file, line: group.line });
    else
      for (const target of group.targets)
        if (!known.targets.includes(target)) known.targets.push(target);
  }
  return groups;
}

import { BakeError } from "../errors.js";
import {
  formatBakeTarget,
  mergeBakeTarget,
  normalizeBakeTarget,
  type BakeGroup,
  type BakeTarget,
} from "./bake-target.js";
import {
  groupsByName,
  readBakeFiles,
  type BakeDefinition,
  type BakeFile,
  type DefinedTarget,
  type ReadBakeFilesOptions,
} from "./read-bake-files.js";

/** The resolved configuration: what `docker buildx bake --print` shows. */
export interface BakeConfig {
  group: Record<string, BakeGroup>;
  /** Resolved targets by name: `inherits`, defaults and overrides applied. */
  target: Record<string, BakeTarget>;
  /**
   * Targets resolved only because another reads them (`contexts = { x = "target:NAME" }`): built,
   * but not exported, as buildx gives them `type=cacheonly`. Not part of `--print`.
   */
  linked?: string[] | undefined;
}

/** Options of resolving bake files into targets. */
export interface ResolveBakeOptions extends ReadBakeFilesOptions {
  /** Targets and groups to resolve; `["default"]` when empty, as bake does. */
  targets?: readonly string[] | undefined;
  /** `--set pattern.key=value` (and `+=`), in order. */
  overrides?: readonly string[] | undefined;
}

interface Override {
  value?: string;
  list?: string[];
  append?: boolean;
}

const LIST_OVERRIDES: Record<string, keyof BakeTarget> = {
  output: "output",
  "cache-to": "cache-to",
  "cache-from": "cache-from",
  tags: "tags",
  platform: "platforms",
  platforms: "platforms",
  secrets: "secret",
  secret: "secret",
  ssh: "ssh",
  attest: "attest",
  annotations: "annotations",
  "no-cache-filter": "no-cache-filter",
  ulimits: "ulimits",
};

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i);
      if (end === -1) throw new BakeError("BAKE_INVALID", `bad pattern "${pattern}"`);
      source += `[${pattern.slice(i + 1, end).replace(/^\^|^!/, "^")}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * Reads bake files and resolves the requested targets and groups as `docker buildx bake` does:
 * groups expanded, `inherits` merged, `context`/`dockerfile` defaulted, `--set` applied.
 * @example
 * const config = resolveBake([{ name: "docker-bake.hcl", text }], { targets: ["default"] });
 */
export function resolveBake(
  files: readonly BakeFile[],
  options: ResolveBakeOptions = {},
): BakeConfig {
  return resolveBakeDefinition(readBakeFiles(files, options), options);
}

/** Resolves an already read definition; see {@link resolveBake}. */
export function resolveBakeDefinition(
  definition: BakeDefinition,
  options: ResolveBakeOptions = {},
): BakeConfig {
  const requested = (
    options.targets === undefined || options.targets.length === 0 ? ["default"] : options.targets
  ).map((name) => name.replace(/\./g, "_"));
  const defined = new Map<string, DefinedTarget>();
  for (const target of definition.targets) {
    const known = defined.get(target.name);
    if (known === undefined) {
      defined.set(target.name, {
        ...target,
        attributes: structuredClone(target.attributes),
        inherits: [...target.inherits],
      });
    } else {
      mergeBakeTarget(known.attributes, target.attributes);
      known.inherits.push(...target.inherits);
    }
  }
  const groups = groupsByName(definition);
  const overrides = parseOverrides(options.overrides ?? [], [...defined.keys()], options.env ?? {});

  const resolvedTargets = new Map<string, BakeTarget>();
  const resolvedGroups: Record<string, BakeGroup> = {};
  const resolveTarget = (name: string): BakeTarget => {
    const resolved = resolveOne(name, defined, overrides, [], definition);
    resolvedTargets.set(name, resolved);
    return resolved;
  };
  for (const name of requested) {
    const { targets, groupNames } = expandGroup(name, groups);
    for (const target of targets) {
      if (
        name === "default" &&
        !defined.has(target) &&
        targets.length === 1 &&
        !groups.has("default")
      ) {
        throw new BakeError("BAKE_UNKNOWN_TARGET", "failed to find target default", {
          hint: availableHint(defined, groups),
        });
      }
      resolveTarget(target);
    }
    for (const groupName of groupNames) {
      const group = groups.get(groupName);
      if (group !== undefined) resolvedGroups[groupName] = { targets: [...group.targets] };
    }
  }
  for (const name of requested) {
    if (name === "default") continue;
    const group = "default" in resolvedGroups ? resolvedGroups.default : { targets: [] };
    resolvedGroups.default = group;
    if (!group.targets.includes(name)) group.targets.push(name);
  }
  if ("default" in resolvedGroups) {
    resolvedGroups.default.targets = [...new Set(resolvedGroups.default.targets)];
  }
  // Targets named by `contexts = { x = "target:y" }` are built too, without outputs.
  const linkedOnly: string[] = [];
  const linked = (name: string, target: BakeTarget, visited: string[]): void => {
    for (const [key, value] of Object.entries(target.contexts ?? {})) {
      if (!value.startsWith("target:")) continue;
      const other = value.slice("target:".length);
      const written =
        locateKey(name, `contexts.${key}`, definition) ?? locateKey(name, "contexts", definition);
      const where = {
        file: written?.file ?? defined.get(name)?.file,
        line: written?.line ?? defined.get(name)?.line,
        key: `target "${name}".contexts.${key}`,
        hint: "A target cannot read itself, directly or through the targets it reads.",
      };
      if (other === name) {
        throw new BakeError("BAKE_CYCLE", `target ${other} cannot link to itself`, where);
      }
      if (visited.includes(other)) {
        const chain = [...visited.slice(visited.indexOf(other)), name, other].join(" -> ");
        throw new BakeError(
          "BAKE_CYCLE",
          `infinite loop from ${name} to ${other} (${chain})`,
          where,
        );
      }
      let resolved = resolvedTargets.get(other);
      if (resolved === undefined) {
        resolved = resolveTarget(other);
        delete resolved.output;
        linkedOnly.push(other);
      }
      linked(other, resolved, [...visited, name]);
    }
  };
  for (const [name, target] of [...resolvedTargets]) linked(name, target, []);

  const target: Record<string, BakeTarget> = {};
  for (const name of [...resolvedTargets.keys()].sort())
    target[name] = resolvedTargets.get(name) ?? {};
  return {
    group: resolvedGroups,
    target,
    ...(linkedOnly.length === 0 ? {} : { linked: linkedOnly.sort() }),
  };
}

/**
 * Where a target's key is written: in the target's last definition that writes it, else in the
 * targets it inherits from (the later parent first, as the later one wins the merge).
 */
function locateKey(
  name: string,
  key: string,
  definition: BakeDefinition,
  seen: readonly string[] = [],
): { file: string; line: number } | undefined {
  const own = definition.targets.filter((target) => target.name === name).reverse();
  for (const target of own) {
    const line = target.keyLines?.[key];
    if (line !== undefined) return { file: target.file, line };
  }
  for (const target of own) {
    for (const parent of [...target.inherits].reverse()) {
      if (parent === name || seen.includes(parent)) continue;
      const found = locateKey(parent, key, definition, [...seen, name]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function availableHint(defined: Map<string, DefinedTarget>, groups: Map<string, unknown>): string {
  const names = [...new Set([...groups.keys(), ...defined.keys()])];
  return names.length === 0
    ? "The files define no targets."
    : `Targets and groups defined: ${names.slice(0, 20).join(", ")}${names.length > 20 ? ", ..." : ""}.`;
}

function expandGroup(
  name: string,
  groups: Map<string, BakeGroup>,
): { targets: string[]; groupNames: string[] } {
  const visiting = new Set<string>();
  const walk = (current: string): { targets: string[]; groupNames: string[] } => {
    const group = groups.get(current);
    if (group === undefined) return { targets: [current], groupNames: [] };
    if (visiting.has(current)) return { targets: [], groupNames: [] };
    visiting.add(current);
    const targets: string[] = [];
    const groupNames = [current];
    for (const member of group.targets) {
      const inner = walk(member);
      targets.push(...inner.targets);
      groupNames.push(...inner.groupNames);
    }
    return { targets, groupNames };
  };
  const result = walk(name);
  return { targets: [...new Set(result.targets)], groupNames: [...new Set(result.groupNames)] };
}

function resolveOne(
  name: string,
  defined: Map<string, DefinedTarget>,
  overrides: Map<string, Map<string, Override>>,
  chain: string[],
  definition: BakeDefinition,
): BakeTarget {
  const target = defined.get(name);
  if (target === undefined) {
    const service = definition.servicesWithoutBuild.find(
      (s) => s.name.replace(/\./g, "_") === name,
    );
    if (service !== undefined) {
      throw new BakeError("BAKE_UNKNOWN_TARGET", `service "${service.name}" has no build section`, {
        file: service.file,
        line: service.line,
        hint: "Only compose services with `build:` are bake targets.",
      });
    }
    const parent = chain.at(-1);
    const from = parent === undefined ? undefined : defined.get(parent);
    throw new BakeError("BAKE_UNKNOWN_TARGET", `failed to find target ${name}`, {
      file: from?.file,
      line: from?.line,
      key: parent === undefined ? undefined : `target "${parent}".inherits`,
      hint: availableHint(defined, groupsByName(definition)),
    });
  }
  if (chain.includes(name)) {
    const start = defined.get(chain[0] ?? name) ?? target;
    const written = definition.targets
      .filter(
        (entry) => entry.name === (chain[0] ?? name) && entry.keyLines?.inherits !== undefined,
      )
      .at(-1);
    throw new BakeError("BAKE_CYCLE", `inherits cycle: ${[...chain, name].join(" -> ")}`, {
      file: written?.file ?? start.file,
      line: written?.keyLines?.inherits ?? start.line,
      key: `target "${chain[0] ?? name}".inherits`,
      hint: "Remove one of the targets from the other's inherits.",
    });
  }
  const merged: BakeTarget = {};
  for (const parent of target.inherits) {
    mergeBakeTarget(merged, resolveOne(parent, defined, overrides, [...chain, name], definition));
  }
  mergeBakeTarget(merged, target.attributes);
  applyOverrides(merged, overrides.get(name), target);
  normalizeBakeTarget(merged);
  if (chain.length === 0) {
    merged.context ??= ".";
    merged.dockerfile ??= "Dockerfile";
  }
  return merged;
}

function parseOverrides(
  entries: readonly string[],
  names: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Map<string, Map<string, Override>> {
  const result = new Map<string, Map<string, Override>>();
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    const append = equals > 0 && entry.charAt(equals - 1) === "+";
    const left = equals === -1 ? entry : entry.slice(0, append ? equals - 1 : equals);
    const value = equals === -1 ? undefined : entry.slice(equals + 1);
    const keys = left.split(".");
    const pattern = keys[0] ?? "";
    const key = keys.slice(1).join(".");
    const field = keys[1];
    if (keys.length < 2 || field === undefined) {
      throw new BakeError("BAKE_INVALID", `invalid override key ${left}, expected target.name`, {
        hint: "Write --set TARGET.KEY=VALUE (TARGET may be a pattern such as *).",
      });
    }
    if (value === undefined && field !== "args") {
      throw new BakeError("BAKE_INVALID", `invalid override ${entry}, expected target.name=value`);
    }
    if ((field === "args" || field === "contexts" || field === "labels") && keys.length < 3) {
      throw new BakeError("BAKE_INVALID", `invalid key ${left}, ${field} requires name`);
    }
    let matched = names.includes(pattern) ? [pattern] : [];
    if (matched.length === 0) {
      const regexp = globToRegExp(pattern);
      matched = names.filter((name) => regexp.test(name));
    }
    if (matched.length === 0) {
      throw new BakeError("BAKE_UNKNOWN_TARGET", `could not find any target matching '${pattern}'`);
    }
    for (const name of matched) {
      const forTarget = result.get(name) ?? new Map<string, Override>();
      result.set(name, forTarget);
      const override = forTarget.get(key) ?? {};
      if (field in LIST_OVERRIDES) {
        if (value !== undefined) override.list = [...(override.list ?? []), value];
        if (append) override.append = true;
      } else if (value === undefined) {
        const fromEnv = env[keys[2] ?? ""];
        if (fromEnv === undefined) continue;
        override.value = fromEnv;
      } else {
        override.value = value;
      }
      forTarget.set(key, override);
    }
  }
  return result;
}

function parseBool(value: string, key: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw new BakeError("BAKE_INVALID", `invalid value ${value} for boolean key ${key}`);
}

function applyOverrides(
  target: BakeTarget,
  overrides: Map<string, Override> | undefined,
  defined: DefinedTarget,
): void {
  if (overrides === undefined) return;
  for (const [key, override] of overrides) {
    const [field = "", sub] = key.split(/\.(.*)/s);
    const value = override.value ?? "";
    const listKey = LIST_OVERRIDES[field];
    if (listKey !== undefined) {
      const list = override.list ?? [];
      const current = (target[listKey] as string[] | undefined) ?? [];
      const appends = override.append === true || field === "attest" || field === "annotations";
      (target as Record<string, unknown>)[listKey] = appends ? [...current, ...list] : list;
      continue;
    }
    switch (field) {
      case "context":
      case "dockerfile":
      case "dockerfile-inline":
      case "target":
      case "network":
      case "shm-size":
      case "description":
        target[field] = value;
        break;
      case "args":
      case "contexts":
      case "labels":
        target[field] = { ...target[field], [sub ?? ""]: value };
        break;
      case "no-cache":
      case "pull":
        target[field] = parseBool(value, field);
        break;
      case "push": {
        parseBool(value, "push");
        const outputs = target.output ?? [];
        target.output =
          outputs.length === 0
            ? ["type=image,push=true"]
            : outputs.map((output) =>
                /(^|,)type=(image|registry)(,|$)/.test(output) ? `${output},push=${value}` : output,
              );
        break;
      }
      case "load": {
        parseBool(value, "load");
        const outputs = target.output ?? [];
        if (!outputs.some((output) => /(^|,)type=docker(,|$)/.test(output)))
          target.output = [...outputs, "type=docker"];
        break;
      }
      default:
        throw new BakeError("BAKE_INVALID", `unknown key: ${field}`, {
          file: defined.file,
          key: `--set ${defined.name}.${key}`,
        });
    }
  }
}

/** The resolved configuration as `docker buildx bake --print` writes it (two-space JSON). */
export function formatBakePrint(config: BakeConfig): string {
  const target: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config.target)) target[name] = formatBakeTarget(value);
  const group: Record<string, BakeGroup> = {};
  for (const name of Object.keys(config.group).sort()) {
    const value = config.group[name];
    if (value !== undefined) group[name] = value;
  }
  const shaped = Object.keys(group).length === 0 ? { target } : { group, target };
  return `${JSON.stringify(shaped, null, 2)}\n`;
}

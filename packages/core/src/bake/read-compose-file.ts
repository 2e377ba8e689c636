import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from "yaml";
import { BakeError } from "../errors.js";
import type { BakeTarget } from "./bake-target.js";
import type { BakeDefinition, BakeFile } from "./read-bake-files.js";

type Env = Readonly<Record<string, string | undefined>>;

/** A relative path as compose-go writes it: `./docs/` -> `docs`, `.` stays. */
function cleanPath(path: string): string {
  if (path.startsWith("/") || /^[a-z]+:\/\//i.test(path)) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else parts.push(part);
  }
  return parts.length === 0 ? "." : parts.join("/");
}

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$VAR` and `$$`, as compose interpolates. */
function interpolate(text: string, env: Env): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (
      match,
      braced: string | undefined,
      op: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      if (match === "$$") return "$";
      const name = braced ?? bare ?? "";
      const value = env[name];
      if (op === ":-") return value === undefined || value === "" ? (word ?? "") : value;
      if (op === "-") return value ?? word ?? "";
      if (op === ":?" || op === "?") {
        if (value === undefined || (op === ":?" && value === ""))
          throw new Error(`required variable ${name} is missing a value: ${word ?? ""}`);
        return value;
      }
      return value ?? "";
    },
  );
}

function interpolateDeep(value: unknown, env: Env): unknown {
  if (typeof value === "string") return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  }
  return value;
}

function asStrings(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => String(item));
}

/** A compose map, or a `KEY=VALUE` list; a bare `KEY` takes its value from `lookup`. */
function asMap(
  value: unknown,
  lookup: (key: string) => string | undefined,
): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const equals = text.indexOf("=");
      if (equals === -1) {
        const found = lookup(text);
        if (found !== undefined) out[text] = found;
      } else out[text.slice(0, equals)] = text.slice(equals + 1);
    }
    return out;
  }
  if (typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (item === null) {
        const found = lookup(key);
        if (found !== undefined) out[key] = found;
      } else out[key] = String(item);
    }
  }
  return out;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * Reads the `build:` sections of a compose file into bake targets, one per service, as buildx's
 * `bake/compose.go` does (a service without `build:` is not a target; `x-bake` adds bake's keys).
 */
export function readComposeFile(file: BakeFile, env: Env): BakeDefinition {
  const lineCounter = new LineCounter();
  const document = parseDocument(file.text, { lineCounter });
  if (document.errors.length > 0) {
    const [first] = document.errors;
    throw new BakeError("BAKE_SYNTAX", first?.message.split("\n")[0] ?? "invalid YAML", {
      file: file.name,
      line: first?.linePos?.[0].line,
    });
  }
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range == null ? undefined : lineCounter.linePos(node.range[0]).line;
  let data: Record<string, unknown>;
  try {
    data = record(interpolateDeep(document.toJS(), env));
  } catch (error) {
    throw new BakeError("BAKE_INVALID", error instanceof Error ? error.message : String(error), {
      file: file.name,
    });
  }
  const servicesNode = document.get("services", true);
  const services = record(data.services);
  const topSecrets = record(data.secrets);
  const definition: BakeDefinition = { targets: [], groups: [], servicesWithoutBuild: [] };
  const names: string[] = [];
  for (const [serviceName, raw] of Object.entries(services)) {
    const service = record(raw);
    const serviceNode = isMap(servicesNode) ? servicesNode.get(serviceName, true) : undefined;
    const line =
      lineOf(
        isMap(servicesNode)
          ? (servicesNode.items.find((item) => isScalar(item.key) && item.key.value === serviceName)
              ?.key as Node)
          : undefined,
      ) ??
      lineOf(serviceNode) ??
      1;
    if (service.build === undefined || service.build === null) {
      definition.servicesWithoutBuild.push({ name: serviceName, file: file.name, line });
      continue;
    }
    const build: Record<string, unknown> =
      typeof service.build === "string" ? { context: service.build } : record(service.build);
    const name = serviceName.replace(/\./g, "_");
    if (!/^[a-zA-Z0-9_-]+$/.test(name)) {
      throw new BakeError("BAKE_INVALID", `invalid service name "${name}"`, {
        file: file.name,
        line,
      });
    }
    const environment = asMap(service.environment, () => undefined) ?? {};
    const lookup = (key: string): string | undefined => environment[key] ?? env[key];
    const target: BakeTarget = {};
    if (typeof build.context === "string" && build.context !== "")
      target.context = cleanPath(build.context);
    if (typeof build.dockerfile === "string" && build.dockerfile !== "")
      target.dockerfile = build.dockerfile;
    if (typeof build.dockerfile_inline === "string" && build.dockerfile_inline !== "") {
      target["dockerfile-inline"] = build.dockerfile_inline;
    }
    const contexts = asMap(build.additional_contexts, () => undefined);
    if (contexts !== undefined) target.contexts = contexts;
    const args = asMap(build.args, lookup);
    if (args !== undefined) target.args = args;
    target.labels = asMap(build.labels, () => "") ?? {};
    const tags = asStrings(build.tags);
    if (tags !== undefined) target.tags = tags;
    const cacheFrom = asStrings(build.cache_from);
    if (cacheFrom !== undefined) target["cache-from"] = cacheFrom;
    const cacheTo = asStrings(build.cache_to);
    if (cacheTo !== undefined) target["cache-to"] = cacheTo;
    if (typeof build.target === "string" && build.target !== "") target.target = build.target;
    if (typeof build.network === "string" && build.network !== "") target.network = build.network;
    const platforms = asStrings(build.platforms);
    if (platforms !== undefined) target.platforms = platforms;
    if (typeof build.no_cache === "boolean") target["no-cache"] = build.no_cache;
    if (typeof build.pull === "boolean") target.pull = build.pull;
    const ssh = asStrings(build.ssh);
    if (ssh !== undefined) target.ssh = ssh;
    if (Array.isArray(build.secrets)) {
      target.secret = build.secrets.map((entry) =>
        composeSecret(entry, topSecrets, file.name, line),
      );
    }
    if (target.tags === undefined && typeof service.image === "string" && service.image !== "") {
      target.tags = [service.image];
    }
    applyXBake(target, record(build["x-bake"]));
    names.push(name);
    definition.targets.push({
      name,
      attributes: target,
      inherits: [],
      file: file.name,
      line,
      keyLines: contextLines(isMap(serviceNode) ? serviceNode.get("build", true) : undefined),
    });
  }
  /** `build.additional_contexts` and each of its names (map or `NAME=VALUE` list) by line. */
  function contextLines(build: unknown): Record<string, number> {
    const lines: Record<string, number> = {};
    if (!isMap(build)) return lines;
    const pair = build.items.find(
      (item) => isScalar(item.key) && item.key.value === "additional_contexts",
    );
    if (pair === undefined) return lines;
    const at = lineOf(pair.key as Node);
    if (at !== undefined) lines.contexts = at;
    const items: { name: string; node: Node }[] = isMap(pair.value)
      ? pair.value.items.flatMap((item) =>
          isScalar(item.key) ? [{ name: String(item.key.value), node: item.key }] : [],
        )
      : isSeq(pair.value)
        ? pair.value.items.flatMap((item) =>
            isScalar(item) ? [{ name: String(item.value).split("=")[0] ?? "", node: item }] : [],
          )
        : [];
    for (const { name, node } of items) {
      const line = lineOf(node);
      if (line !== undefined) lines[`contexts.${name}`] = line;
    }
    return lines;
  }
  if (Object.keys(services).length > 0) {
    definition.groups.push({
      name: "default",
      targets: names,
      file: file.name,
      line: lineOf(servicesNode as Node | undefined) ?? 1,
    });
  }
  return definition;
}

function composeSecret(
  entry: unknown,
  topSecrets: Record<string, unknown>,
  file: string,
  line: number,
): string {
  const source =
    typeof entry === "string"
      ? entry
      : JSON.stringify(record(entry).source ?? "").replace(/^"|"$/g, "");
  const target = typeof entry === "string" ? undefined : record(entry).target;
  const id = typeof target === "string" && target !== "" ? target : source;
  const secret = record(topSecrets[source]);
  if (typeof secret.file === "string") return `id=${id},src=${secret.file}`;
  if (typeof secret.environment === "string") return `id=${id},env=${secret.environment}`;
  throw new BakeError("BAKE_INVALID", `secret "${source}" has neither file nor environment`, {
    file,
    line,
  });
}

/** Compose's `x-bake` extension: bake's own keys on a compose service (buildx `xbake`). */
function applyXBake(target: BakeTarget, xbake: Record<string, unknown>): void {
  const lists = [
    "tags",
    "cache-from",
    "cache-to",
    "secret",
    "ssh",
    "platforms",
    "output",
    "no-cache-filter",
  ] as const;
  for (const key of lists) {
    const value = asStrings(xbake[key]);
    if (value === undefined) continue;
    if (
      key === "tags" ||
      key === "cache-from" ||
      key === "cache-to" ||
      key === "secret" ||
      key === "ssh"
    ) {
      target[key] = [...(target[key] ?? []), ...value];
    } else {
      target[key] = value;
    }
  }
  if (typeof xbake.pull === "boolean") target.pull = xbake.pull;
  if (typeof xbake["no-cache"] === "boolean") target["no-cache"] = xbake["no-cache"];
  const contexts = asMap(xbake.contexts, () => undefined);
  if (contexts !== undefined) target.contexts = { ...target.contexts, ...contexts };
}

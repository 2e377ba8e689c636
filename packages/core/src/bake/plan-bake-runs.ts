import { BakeError } from "../errors.js";
import type { BakeTarget } from "./bake-target.js";
import type { BakeFile } from "./read-bake-files.js";
import type { BakeConfig } from "./resolve-bake.js";

/** One `runBuild` of a bake: one context, one Dockerfile, one set of build settings. */
export interface BakeRun {
  /** A short name for the live view and the report: the first bake target's name. */
  name: string;
  /** The context directory as the bake file names it (relative to the working directory). */
  context: string;
  /**
   * The Dockerfile, relative to the working directory (bake names it relative to the context); for
   * a `dockerfile-inline`, the name its lines are shown under (see `dockerfileInline`).
   */
  dockerfile: string;
  /**
   * A `dockerfile-inline` text, to build instead of a file. Found verbatim in a bake file (a
   * heredoc), it is shifted down by blank lines so that its line numbers are the bake file's, and
   * `dockerfile` is that file (`docker-bake.hcl:7`); else `dockerfile` is
   * `target "NAME" dockerfile-inline` and the lines are the text's own.
   */
  dockerfileInline: string | undefined;
  /** Stages to build; `undefined` is the Dockerfile's last stage. */
  stages: (string | undefined)[];
  /** Bake target names by stage (`""` for the last stage); one stage may serve several targets. */
  targetsByStage: Record<string, string[]>;
  /** Image names by stage (`""` for the last stage): every tag of every target it serves. */
  tagsByStage: Record<string, string[]>;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  /**
   * The target's `platforms` (empty: the engine's own). Several build into one image index, on the
   * containerd image store only: `checkBakePlatforms` refuses them elsewhere before building, and
   * says what the engine does with each one that is not its own.
   */
  platforms: string[];
  noCache: boolean;
  pull: boolean;
  network: "default" | "host" | "none" | undefined;
  /** Image references to use as inline cache. */
  cacheFrom: string[];
  secrets: string[];
  ssh: string[];
  /**
   * Named contexts (`contexts`): a directory relative to the working directory, as buildx reads
   * it, or `docker-image://REF`.
   */
  namedContexts: Record<string, string>;
  /**
   * Named contexts made by other bake targets (`target:NAME`): context name → bake target name.
   * Those targets build first, in the same run, and their images are read as the contexts.
   */
  contextsFrom: Record<string, string>;
  /** Push every target's tags once built (an output `type=registry` or `type=image,push=true`). */
  push: boolean;
  /** A `type=local|tar` output (the run then holds one target). */
  output: string | undefined;
  /** What the run cannot do that the bake file asks for (cache-to ...), as warnings. */
  warnings: string[];
}

function joinPath(context: string, dockerfile: string): string {
  if (dockerfile.startsWith("/")) return dockerfile;
  const base = context === "." || context === "" ? "" : context.replace(/\/+$/, "");
  return base === "" ? dockerfile : `${base}/${dockerfile}`;
}

function cacheRef(entry: string): string | undefined {
  if (!entry.includes("=")) return entry;
  const fields = Object.fromEntries(
    entry.split(",").map((part) => {
      const equals = part.indexOf("=");
      return equals === -1 ? [part, ""] : [part.slice(0, equals), part.slice(equals + 1)];
    }),
  ) as Record<string, string | undefined>;
  const type = fields.type ?? "registry";
  return type === "registry" ? fields.ref : undefined;
}

function unsupported(name: string, key: string, why: string): never {
  throw new BakeError("BAKE_UNSUPPORTED", why, {
    key: `target "${name}".${key}`,
    hint: "`stagecraft bake --print` shows the configuration; `docker buildx bake` can build it.",
  });
}

function networkOf(name: string, network: string | undefined): BakeRun["network"] {
  if (network === undefined || network === "default" || network === "host" || network === "none") {
    return network;
  }
  return unsupported(
    name,
    "network",
    `network "${network}" is not supported; use default, host or none`,
  );
}

/** A target's `contexts`: directories and images, and those other targets make (`target:`). */
function namedContextsOf(
  name: string,
  target: BakeTarget,
): { contexts: Record<string, string>; from: Record<string, string> } {
  const contexts: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const [key, value] of Object.entries(target.contexts ?? {})) {
    if (value.startsWith("target:")) {
      from[key] = value.slice("target:".length);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(value) && !value.startsWith("docker-image://")) {
      unsupported(
        name,
        `contexts.${key}`,
        `context "${value}" is not supported by stagecraft yet; use a directory or docker-image://REF`,
      );
    }
    contexts[key] = value;
  }
  return { contexts, from };
}

/** One `--output` entry's fields, read as buildx reads it (Go's CSV: a field may be quoted whole). */
function outputFields(output: string): Partial<Record<string, string>> {
  const fields: string[] = [];
  let at = 0;
  while (at <= output.length) {
    if (output.charAt(at) === '"') {
      let value = "";
      let end = at + 1;
      for (; end < output.length; end++) {
        if (output.charAt(end) !== '"') value += output.charAt(end);
        else if (output.charAt(end + 1) === '"') value += output.charAt(++end);
        else break;
      }
      fields.push(value);
      const comma = output.indexOf(",", end);
      at = comma < 0 ? output.length + 1 : comma + 1;
      continue;
    }
    const comma = output.indexOf(",", at);
    fields.push(output.slice(at, comma === -1 ? output.length : comma));
    at = comma === -1 ? output.length + 1 : comma + 1;
  }
  const out: Partial<Record<string, string>> = {};
  for (const field of fields) {
    const equals = field.indexOf("=");
    if (equals === -1) out.type ??= field === "" ? "" : "local";
    else out[field.slice(0, equals).trim().toLowerCase()] = field.slice(equals + 1);
  }
  if (!output.includes("=")) out.dest = output;
  return out;
}

/**
 * The names a target's image gets: its tags, or, without tags, the `name=` of its image outputs, as
 * buildx fills an image exporter's name from the tags and keeps its `name=` only when there are none.
 */
export function imageNamesOf(target: BakeTarget): string[] {
  if ((target.tags?.length ?? 0) > 0) return [...(target.tags ?? [])];
  const names: string[] = [];
  for (const output of target.output ?? []) {
    const fields = outputFields(output);
    if (fields.type !== "image" && fields.type !== "registry" && fields.type !== "docker") continue;
    for (const name of (fields.name ?? "").split(",")) {
      if (name.trim() !== "" && !names.includes(name.trim())) names.push(name.trim());
    }
  }
  return names;
}

/** A target's outputs: one local or tar export, or the engine's image store and maybe a push. */
function outputOf(name: string, target: BakeTarget): { local: string | undefined; push: boolean } {
  let local: string | undefined;
  let push = false;
  for (const output of target.output ?? []) {
    const fields = outputFields(output);
    const type = fields.type ?? "";
    if (type === "docker" || type === "image" || type === "registry") {
      // buildx: `type=registry` is `type=image,push=true`.
      if (type === "registry" || (type === "image" && fields.push === "true")) push = true;
      continue;
    }
    if (type === "local" || type === "tar") {
      if (local !== undefined)
        unsupported(name, "output", "only one local or tar output per target");
      local = output.includes("=") ? output : `type=local,dest=${output}`;
      continue;
    }
    unsupported(name, "output", `output "${output}" is not supported by stagecraft yet`);
  }
  if (push && local !== undefined) {
    unsupported(name, "output", "a pushed image and a local or tar output in one target");
  }
  if (push && imageNamesOf(target).length === 0) {
    throw new BakeError("BAKE_INVALID", "tag is needed when pushing to registry", {
      key: `target "${name}".output`,
      hint: "Give the target tags, or the output a name= (type=image,name=REGISTRY/NAME:TAG,push=true).",
    });
  }
  return { local, push };
}

/** A directive (`# syntax=`, `# escape=`, `# check=`) counts only on a Dockerfile's first lines. */
const DIRECTIVE = /^\s*#\s*[a-zA-Z]+\s*=/;

/** The target's Dockerfile: a path, or an inline text located in the bake file that holds it. */
function dockerfileOf(
  name: string,
  target: BakeTarget,
  context: string,
  files: readonly BakeFile[],
): { dockerfile: string; dockerfileInline: string | undefined } {
  const text = target["dockerfile-inline"];
  if (text === undefined) {
    return {
      dockerfile: joinPath(context, target.dockerfile ?? "Dockerfile"),
      dockerfileInline: undefined,
    };
  }
  const own = { dockerfile: `target "${name}" dockerfile-inline`, dockerfileInline: text };
  const first = text.split("\n").find((line) => line.trim() !== "");
  if (text.trim() === "" || (first !== undefined && DIRECTIVE.test(first))) return own;
  // Once in one file, at the start of a line (a heredoc's body), or the lines would be wrong.
  const holders = files.filter((file) => {
    const at = file.text.indexOf(text);
    return (
      at !== -1 &&
      (at === 0 || file.text.charAt(at - 1) === "\n") &&
      !file.text.includes(text, at + 1)
    );
  });
  const holder = holders.length === 1 ? holders[0] : undefined;
  if (holder === undefined) return own;
  const before = holder.text.slice(0, holder.text.indexOf(text));
  const offset = before.split("\n").length - 1;
  return { dockerfile: holder.name, dockerfileInline: "\n".repeat(offset) + text };
}

/**
 * Splits resolved bake targets into `runBuild` runs: targets of the same context, Dockerfile and
 * build settings share one run (one context transfer, common stages built once); a stage asked
 * for by several such targets is built once with all their tags.
 */
export function planBakeRuns(config: BakeConfig, files: readonly BakeFile[] = []): BakeRun[] {
  const runs = new Map<string, BakeRun>();
  const linked = new Set(config.linked ?? []);
  for (const [name, target] of Object.entries(config.target)) {
    const { contexts: namedContexts, from: contextsFrom } = namedContextsOf(name, target);
    const network = networkOf(name, target.network);
    const { local: output, push } = outputOf(name, target);
    const warnings: string[] = [];
    if ((target["cache-to"]?.length ?? 0) > 0) {
      warnings.push(
        `target "${name}": cache-to is not applied (the engine exports inline cache only)`,
      );
    }
    const cacheFrom: string[] = [];
    for (const entry of target["cache-from"] ?? []) {
      const ref = cacheRef(entry);
      if (ref === undefined)
        warnings.push(`target "${name}": cache-from "${entry}" is not applied`);
      else cacheFrom.push(ref);
    }
    const context = target.context ?? ".";
    const settings = {
      context,
      ...dockerfileOf(name, target, context, files),
      buildArgs: target.args ?? {},
      labels: target.labels ?? {},
      // buildx splits each entry at commas when it builds (`--set t.platform=a,b` is one entry).
      platforms: [
        ...new Set(
          (target.platforms ?? []).flatMap((entry) =>
            entry
              .split(",")
              .map((platform) => platform.trim())
              .filter((platform) => platform !== ""),
          ),
        ),
      ],
      noCache: target["no-cache"] ?? false,
      pull: target.pull ?? false,
      network,
      cacheFrom,
      secrets: target.secret ?? [],
      ssh: target.ssh ?? [],
      namedContexts,
      contextsFrom,
      push,
    };
    const key = JSON.stringify(settings, (_k, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
    );
    const runKey = output === undefined ? key : `${key}\0${name}`;
    const run: BakeRun = runs.get(runKey) ?? {
      name,
      ...settings,
      stages: [],
      targetsByStage: {},
      tagsByStage: {},
      output,
      warnings: [],
    };
    runs.set(runKey, run);
    run.warnings.push(...warnings);
    const stage = target.target ?? "";
    if (!(stage in run.targetsByStage)) {
      run.stages.push(target.target);
      run.targetsByStage[stage] = [];
      run.tagsByStage[stage] = [];
    }
    run.targetsByStage[stage]?.push(name);
    // A target built only to be read by another is not exported (buildx: `type=cacheonly`).
    if (linked.has(name)) continue;
    const tags = run.tagsByStage[stage] ?? [];
    for (const tag of imageNamesOf(target)) if (!tags.includes(tag)) tags.push(tag);
  }
  return [...runs.values()];
}

import { resolve } from "node:path";
import { UsageError } from "@stagecraft/core";
import { validateImageReference } from "@stagecraft/core/dockerfile";
import type { CacheEntry, NetworkMode } from "@stagecraft/core/engine";
import type { Io } from "../io.js";
import {
  choiceOption,
  keyValueOption,
  listOption,
  positiveIntegerOption,
  stringOption,
  type OptionTable,
  type ParsedOptions,
} from "../parse-command-line.js";
import type { RequestedProgressMode } from "../renderers/choose-progress-mode.js";
import { parseCacheFlag } from "./parse-cache-flags.js";
import { checkWritableFile, isDirectory } from "./write-run-files.js";
import { POOL_HELP, POOL_OPTIONS } from "./read-pool-flags.js";

export const BUILD_HELP = `Usage: stagecraft build [CONTEXT] [options]

Builds one or more targets of a multi-stage Dockerfile at once on a Docker Engine (one BuildKit build
per target, submitted together so shared steps run once), shows live progress per target and stage,
and ends with a report. CONTEXT is the build context directory (default: .).

On a standalone buildkitd (--engine buildkit+unix:///PATH or buildkit+tcp://HOST:PORT) images go
where its worker keeps them: into the Docker Engine behind moby's worker, into containerd for a
containerd worker; the OCI worker keeps none, so -t is refused there (use -o) and a build without
-o leaves its result in the build cache (a warning says so). --push goes through BuildKit's image
exporter there, which a graph-driver Engine's moby worker lacks (refused before building).

Options:
  -f, --file FILE            the Dockerfile (default: CONTEXT/Dockerfile)
      --target T             a stage to build; repeat or separate with commas (default: the last stage;
                             an unnamed stage by the id plan shows, e.g. stage-2)
  -t, --tag NAME:TAG         tag the image; with several targets write TARGET=NAME:TAG
      --build-arg K=V        a build arg (K alone takes the value from the environment)
      --build-arg-secret K=V a build arg whose value is masked as *** in progress, logs and reports
      --label K=V            a label on every built image
      --platform P[,P...]    the target platform, e.g. linux/amd64; several build each target
                             into one image index (engines with the containerd image store only,
                             through BuildKit's Control API); a platform the engine cannot run
                             is warned of before building, naming its RUN steps (as bake does)
      --no-cache             do not use the build cache
      --pull                 always look for newer base images in their registry
      --network MODE         network of RUN steps: default, host or none
      --add-host HOST:IP     add an /etc/hosts entry inside RUN steps
      --cache-from REF | type=registry,ref=REF | type=local,src=DIR
                             where to look for cache (repeatable): an image with inline cache or a
                             registry cache; REF alone is type=registry. Through the engine's
                             /build only registry refs travel (every image store). With several
                             targets REF is also read as REF-TARGET for each (what a shared
                             --cache-to ref writes)
      --cache-to type=inline | type=registry,ref=REF[,mode=min|max] | type=local,dest=DIR
                             export the build cache (repeatable). type=inline puts it into the image
                             (mode=min, the final stage's layers; push the image to share it). Other
                             types are refused before building: /build cannot export them, and a
                             graph-driver engine exports inline only (see stagecraft engine). With
                             several targets a shared registry ref gets a tag per target (TAG-TARGET)
                             and every target reads all of them
      --pin-bases REGISTRY/PATH
                             before building, push each base image of the targets to this mirror
                             and build FROM it by registry digest (named contexts: the Dockerfile is
                             untouched), so a cache made on one engine matches on another. On by
                             default with a registry cache (--cache-to/--cache-from type=registry):
                             mirror <cache registry>/stagecraft-bases. Over a pool (--engine) each
                             base is pinned once, from one engine that has it, and every engine
                             reads it; on by default with --registry: mirror <registry>/stagecraft-bases
      --no-pin-bases         build FROM the bases as the engine has them (no mirror push)
      --push                 push every tag of each target to its registry once it is built, with the
                             docker CLI's logins (~/.docker/config.json: auths, credsStore,
                             credHelpers); the digests go into the report and --metadata-file
      --build-context NAME=DIR|docker-image://REF
                             a named context: FROM NAME and COPY --from=NAME read DIR or the image
                             (builds then go through BuildKit's Control API on the engine's /grpc)
      --secret id=ID[,src=FILE|,env=VAR]
                             a secret for RUN --mount=type=secret,id=ID, read from FILE or the
                             environment variable VAR; with only id=ID, from the variable ID when set,
                             else the file ID (docker's rules). Never stored in the image or shown
      --ssh ID[=SOCKET]      forward an SSH agent for RUN --mount=type=ssh[,id=ID]: SOCKET, or
                             $SSH_AUTH_SOCK without one (--ssh default). Agent sockets only: load key
                             files into an agent with ssh-add first
  -o, --output type=tar,dest=FILE | type=local,dest=DIR | DIR
                             export the target's files to a tar file or a directory instead of an
                             image (one target at a time; -t does not apply)
      --concurrency N        build at most N targets at once (default: all)
      --context-transfer HOW auto (default), tar or session: how the context reaches the engine;
                             auto sends it through a session (only changed files) when it is 4 MB
                             or more, the engine is remote, .dockerignore excludes the Dockerfile
                             (a tar would put it into COPY .) or the engine keeps images in the
                             containerd store before Docker 28 (it cannot read a tar upload), as
                             one tar per target otherwise
      --keep-going           let independent targets finish when one fails (default: cancel the others)
      --check                run stagecraft check first (findings on stderr) and build nothing
                             when it fails per --fail-on LEVEL: error (default), warning, never
      --timeout DURATION     cancel every build when the run has taken this long, e.g. 90s, 20m, 1h
                             (the run then fails, exit 1)
      --size-budget TARGET=SIZE
                             fail (exit 1) when TARGET's image is bigger than SIZE, e.g. 50MB,
                             1.2GiB (kB/MB/GB are 1000s, KiB/MiB/GiB 1024s; repeatable); says by how
                             much and which layers weigh most; also "max-size" per target in
                             CONTEXT/.stagecraft/config.json: {"targets":{"app":{"max-size":"50MB"}}}
      --no-stage-sizes       do not measure the stage a target copies from: one untagged build of
                             it, sent once the run has built it while other targets go on (on the
                             containerd store, after the targets), 0.2-0.5 s when its size is not
                             remembered; the report then has no "runtime ← build" comparison
      --stall-notice DURATION
                             say so when nothing has come from the engine for this long while
                             builds run (default 30s); the run keeps waiting
      --progress MODE        auto, tty, plain, json or quiet (auto: tty on a terminal, github under
                             GitHub Actions, plain otherwise)
      --report FILE          write the report to FILE: JSON, or a self-contained HTML page when
                             FILE ends in .html (timeline, critical path, stage graph, sizes)
      --metadata-file FILE   write image ids and names per built target as JSON to FILE (with
                             --push, the pushed digest as containerimage.digest)
      --log-level LEVEL      stagecraft's own diagnostics: error, warn, info, debug, trace or
                             silent (default: off; info with --log-file)
      --log-file FILE        write diagnostics to FILE instead of stderr
${POOL_HELP}  -h, --help                 show this help

With a pool (--engine, STAGECRAFT_ENGINES or .stagecraft/engines.json) the registry is checked
first, the targets are placed on the engines (see stagecraft plan --engine) and each engine builds
its own; the targets of an engine that cannot be reached or drops its builds move to the others.
Each engine still builds the shared stages its targets need (no push/import between engines yet).

The size each target is set against (runtime 48 MB ← build 1.1 GB) comes from an untagged build of
that stage, inspected and removed; a stage the run did not change is remembered instead, in
$STAGECRAFT_CACHE_DIR/stage-sizes.json (default ~/.cache/stagecraft; STAGECRAFT_CACHE_DIR= keeps none).

Every image carries the labels org.stagecraft.managed=true and org.stagecraft.target=<stage>:
  docker images --filter label=org.stagecraft.target=app

Before sending, the engine is asked which images it has; what it would refuse (RUN --network=host
without --network host, RUN --security=insecure) stops the build with exit 2, missing images warn.
Exit codes: 0 all targets built, 1 a build failed (or --timeout), 2 usage or Dockerfile error, or
the engine would refuse the build (nothing was built), 130 interrupted, 141 stdout closed (cancelled as on an interrupt; the
shell's code for a program whose reader went away).
Build args are stored in the image history and the daemon's build records: use --build-arg-secret only
to keep values off the screen and out of reports, and BuildKit secrets for real credentials.
`;

export const BUILD_OPTIONS: OptionTable = {
  file: { type: "string", short: "f" },
  target: { type: "string", multiple: true },
  tag: { type: "string", short: "t", multiple: true },
  "build-arg": { type: "string", multiple: true },
  "build-arg-secret": { type: "string", multiple: true },
  label: { type: "string", multiple: true },
  platform: { type: "string" },
  "no-cache": { type: "boolean" },
  pull: { type: "boolean" },
  network: { type: "string" },
  "add-host": { type: "string", multiple: true },
  "build-context": { type: "string", multiple: true },
  "cache-from": { type: "string", multiple: true },
  "cache-to": { type: "string", multiple: true },
  push: { type: "boolean" },
  "pin-bases": { type: "string" },
  "no-pin-bases": { type: "boolean" },
  secret: { type: "string", multiple: true },
  ssh: { type: "string", multiple: true },
  output: { type: "string", short: "o" },
  concurrency: { type: "string" },
  "context-transfer": { type: "string" },
  "keep-going": { type: "boolean" },
  check: { type: "boolean" },
  "fail-on": { type: "string" },
  timeout: { type: "string" },
  "stall-notice": { type: "string" },
  "size-budget": { type: "string", multiple: true },
  "no-stage-sizes": { type: "boolean" },
  progress: { type: "string" },
  report: { type: "string" },
  "metadata-file": { type: "string" },
  "log-level": { type: "string" },
  "log-file": { type: "string" },
  help: { type: "boolean", short: "h" },
  ...POOL_OPTIONS,
};

/** Every `build` flag, read and checked: nothing here needs the Dockerfile or the engine. */
export interface BuildFlags {
  contextDir: string;
  file: string | undefined;
  targets: string[];
  /** `-t` values as given: `NAME:TAG` or `TARGET=NAME:TAG` (matched to targets once they are known). */
  tags: string[];
  buildArgs: Record<string, string>;
  /** The values of `--build-arg-secret`, masked everywhere. */
  secretValues: string[];
  labels: Record<string, string>;
  /** The target platform: `--platform`'s first, when it names several. */
  platform: string | undefined;
  /** `--platform a,b`: every platform, built into one image index; undefined for one or none. */
  platforms: string[] | undefined;
  noCache: boolean;
  pull: boolean;
  network: NetworkMode;
  extraHosts: string[];
  cacheFrom: CacheEntry[];
  cacheTo: CacheEntry[];
  push: boolean;
  /** `--pin-bases MIRROR`, `false` for `--no-pin-bases`, undefined: the default (see `runBuild`). */
  pinBases: string | false | undefined;
  /** `--build-context NAME=VALUE`, by name. */
  buildContexts: Record<string, string>;
  secret: string[];
  ssh: string[];
  output: string | undefined;
  concurrency: number | undefined;
  contextTransfer: "auto" | "tar" | "session";
  keepGoing: boolean;
  /** `--check`, with its `--fail-on` level (as given; the check command reads it). */
  check: { failOn: string | undefined } | undefined;
  timeoutMs: number | undefined;
  stallNoticeMs: number | undefined;
  /** `--size-budget` in bytes per target (lower-cased; checked against the targets later). */
  sizeBudgets: Record<string, number> | undefined;
  /** False for `--no-stage-sizes`. */
  stageSizes: boolean;
  progress: RequestedProgressMode;
  report: string | undefined;
  metadataFile: string | undefined;
  logLevel: string | undefined;
  logFile: string | undefined;
}

/** Reads the parsed command line into `BuildFlags`; every bad value is a UsageError naming its flag. */
export function readBuildFlags(
  values: ParsedOptions,
  positionals: readonly string[],
  io: Io,
): BuildFlags {
  if (positionals.length > 1) {
    throw new UsageError(
      `build takes one build context, got ${positionals.length}: ${positionals.join(" ")}`,
      { hint: "Put options before or after the context; quote paths with spaces." },
    );
  }
  const secretArgs = keyValueOption(values, "build-arg-secret", io.env);
  const extraHosts = listOption(values, "add-host");
  for (const host of extraHosts) {
    if (!/^[^:\s]+:\S+$/.test(host)) {
      throw new UsageError(`--add-host "${host}" is not HOST:IP`, {
        hint: "Write --add-host myhost:10.0.0.5.",
      });
    }
  }
  const buildContexts: Record<string, string> = {};
  for (const entry of listOption(values, "build-context")) {
    const match = /^([^=\s]+)=(.+)$/.exec(entry);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new UsageError(
        `--build-context "${entry}" is not NAME=DIR or NAME=docker-image://REF`,
        {
          hint: "Write --build-context lib=../lib or --build-context base=docker-image://alpine:3.20.",
        },
      );
    }
    // A value that is no URL (docker-image://, target:) is a directory the session will serve.
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//.test(match[2]) || match[2].startsWith("target:");
    if (!isUrl && !isDirectory(resolve(io.cwd, match[2]))) {
      throw new UsageError(
        `--build-context ${entry}: ${resolve(io.cwd, match[2])} is not a directory`,
        { hint: "Give the directory of the named context, or docker-image://REF for an image." },
      );
    }
    buildContexts[match[1]] = match[2];
  }
  const tags = listOption(values, "tag");
  for (const tag of tags) checkTag(tag);
  const report = stringOption(values, "report");
  if (report !== undefined) checkWritableFile("--report", resolve(io.cwd, report));
  if (values.check !== true && values["fail-on"] !== undefined) {
    throw new UsageError("--fail-on works with --check", {
      hint: "Add --check, or drop --fail-on.",
    });
  }
  const metadataFile = stringOption(values, "metadata-file");
  if (metadataFile !== undefined)
    checkWritableFile("--metadata-file", resolve(io.cwd, metadataFile));
  return {
    contextDir: positionals[0] ?? ".",
    file: stringOption(values, "file"),
    targets: listOption(values, "target", true),
    tags,
    buildArgs: { ...keyValueOption(values, "build-arg", io.env), ...secretArgs },
    secretValues: Object.values(secretArgs),
    labels: keyValueOption(values, "label", undefined),
    ...readPlatforms(stringOption(values, "platform")),
    noCache: values["no-cache"] === true,
    pull: values.pull === true,
    network: choiceOption<NetworkMode>(values, "network", ["default", "host", "none"], "default"),
    extraHosts,
    cacheFrom: listOption(values, "cache-from").map((value) =>
      parseCacheFlag("--cache-from", value),
    ),
    cacheTo: listOption(values, "cache-to").map((value) => parseCacheFlag("--cache-to", value)),
    push: values.push === true,
    pinBases: pinBasesOption(values),
    buildContexts,
    secret: listOption(values, "secret"),
    ssh: listOption(values, "ssh"),
    output: stringOption(values, "output"),
    concurrency: positiveIntegerOption(values, "concurrency"),
    contextTransfer: choiceOption(
      values,
      "context-transfer",
      ["auto", "tar", "session"] as const,
      "auto",
    ),
    keepGoing: values["keep-going"] === true,
    check: values.check === true ? { failOn: stringOption(values, "fail-on") } : undefined,
    timeoutMs: durationOption(values, "timeout"),
    stallNoticeMs: durationOption(values, "stall-notice"),
    sizeBudgets: sizeBudgetOption(listOption(values, "size-budget")),
    stageSizes: values["no-stage-sizes"] !== true,
    progress: choiceOption(
      values,
      "progress",
      ["auto", "tty", "plain", "json", "quiet"] as const,
      "auto",
    ),
    report,
    metadataFile,
    logLevel: stringOption(values, "log-level"),
    logFile: stringOption(values, "log-file"),
  };
}

/**
 * The tags per target: `-t NAME:TAG` tags the only target, `-t TARGET=NAME:TAG` one of several.
 * `targets` are the ids of the planned targets, in order.
 */
export function tagsByTarget(
  tags: readonly string[],
  targets: readonly string[],
): Record<string, string[]> {
  const byTarget: Record<string, string[]> = Object.fromEntries(targets.map((id) => [id, []]));
  for (const tag of tags) {
    const equals = tag.indexOf("=");
    if (equals === -1) {
      if (targets.length > 1) {
        throw new UsageError(`-t ${tag}: with several targets, say which one it tags`, {
          hint: `Write -t TARGET=${tag}, e.g. -t ${targets[0] ?? "app"}=${tag}.`,
        });
      }
      byTarget[targets[0] ?? ""]?.push(tag);
      continue;
    }
    const name = tag.slice(0, equals).toLowerCase();
    const list = byTarget[name];
    if (list === undefined) {
      throw new UsageError(
        `-t ${tag}: "${tag.slice(0, equals)}" is not one of the targets being built`,
        {
          hint: `Targets: ${targets.join(", ")}.`,
        },
      );
    }
    list.push(tag.slice(equals + 1));
  }
  return byTarget;
}

/** The `--size-budget` targets must be targets of the build (ids of the planned targets). */
export function checkBudgetTargets(
  budgets: Readonly<Record<string, number>> | undefined,
  targets: readonly string[],
): Readonly<Record<string, number>> | undefined {
  for (const target of Object.keys(budgets ?? {})) {
    if (!targets.includes(target)) {
      throw new UsageError(
        `--size-budget ${target}=…: "${target}" is not one of the targets being built`,
        {
          hint: `Targets: ${targets.join(", ")}.`,
        },
      );
    }
  }
  return budgets;
}

/** `--pin-bases REGISTRY/PATH` (a registry host and a path) or `--no-pin-bases`, not both. */
function pinBasesOption(values: ParsedOptions): string | false | undefined {
  const mirror = stringOption(values, "pin-bases");
  if (values["no-pin-bases"] === true) {
    if (mirror !== undefined) {
      throw new UsageError("--pin-bases and --no-pin-bases exclude each other", {
        hint: "Keep one of them.",
      });
    }
    return false;
  }
  if (mirror === undefined) return undefined;
  const slash = mirror.indexOf("/");
  const host = slash === -1 ? "" : mirror.slice(0, slash);
  const problem =
    host.includes(".") || host.includes(":") || host === "localhost"
      ? validateImageReference(mirror.replace(/\/+$/, ""))
      : "it names no registry host";
  if (problem !== undefined || mirror.includes("@") || /:[^/]*$/.test(mirror.slice(slash + 1))) {
    throw new UsageError(
      `--pin-bases "${mirror}" is not REGISTRY/PATH: ${problem ?? "a mirror takes no tag or digest"}`,
      {
        hint: "Write --pin-bases 127.0.0.1:5000/stagecraft-bases (the registry host, then a path).",
      },
    );
  }
  return mirror.replace(/\/+$/, "");
}

/** A `-t` value's image name must be one the engine accepts (lower case, no spaces, not empty). */
function checkTag(tag: string): void {
  const equals = tag.indexOf("=");
  const name = equals === -1 ? tag : tag.slice(equals + 1);
  const problem = name === "" ? "the name is empty" : validateImageReference(name);
  if (problem === undefined && !name.includes("@")) return;
  throw new UsageError(
    `-t ${JSON.stringify(tag)} is not a valid image name: ${problem ?? "a tag cannot carry a digest"}`,
    {
      code: "INVALID_TAG",
      hint: "Image names are lower-case letters, digits and separators, e.g. -t myorg/app:1.2 (with several targets, -t app=myorg/app:1.2).",
    },
  );
}

/** `--size-budget TARGET=SIZE` values as bytes per target; undefined when none was given. */
export function sizeBudgetOption(values: readonly string[]): Record<string, number> | undefined {
  if (values.length === 0) return undefined;
  const budgets: Record<string, number> = {};
  for (const value of values) {
    const equals = value.indexOf("=");
    const target = equals <= 0 ? "" : value.slice(0, equals).trim().toLowerCase();
    const bytes = equals <= 0 ? undefined : parseSize(value.slice(equals + 1));
    if (target === "" || bytes === undefined) {
      throw new UsageError(`--size-budget "${value}" is not TARGET=SIZE`, {
        hint: "Write --size-budget app=50MB (kB, MB, GB are 1000s; KiB, MiB, GiB 1024s).",
      });
    }
    budgets[target] = bytes;
  }
  return budgets;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `50MB`, `1.2GiB`, `700 kB` or plain bytes, as whole bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (match === null) return undefined;
  const unit = SIZE_UNITS[(match[2] ?? "").toLowerCase() || "b"];
  const bytes = unit === undefined ? NaN : Math.round(Number(match[1]) * unit);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/** `90s`, `20m`, `1h30m`, `1.5h` or plain seconds, as milliseconds. */
export function durationOption(values: ParsedOptions, name: string): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`--${name} "${text}" is not a duration`, {
      hint: `Write a duration such as --${name} 90s, 20m or 1h30m.`,
    });
  }
  return ms;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== trimmed) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * (UNIT_MS[part[2] ?? ""] ?? 0), 0);
}

/** `--platform a,b` (docker's comma-separated list): the first for the analysis, and all of them. */
function readPlatforms(value: string | undefined): {
  platform: string | undefined;
  platforms: string[] | undefined;
} {
  if (!value?.includes(",")) return { platform: value, platforms: undefined };
  const platforms = [
    ...new Set(
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    ),
  ];
  if (platforms.length === 0) {
    throw new UsageError(`--platform "${value}" names no platform`, {
      hint: "Write a platform as os/arch[/variant], e.g. linux/amd64,linux/arm64.",
    });
  }
  return { platform: platforms[0], platforms: platforms.length > 1 ? platforms : undefined };
}

/**
 * What only BuildKit's Control API carries, whatever the engine: named contexts, several
 * platforms (`/build` takes one) and a registry cache export. A build with any of them goes
 * through it on a Docker Engine too, on one engine or over a pool.
 */
export function needsControlApi(flags: BuildFlags): boolean {
  return (
    Object.keys(flags.buildContexts).length > 0 ||
    flags.platforms !== undefined ||
    flags.cacheTo.some((entry) => entry.type === "registry")
  );
}

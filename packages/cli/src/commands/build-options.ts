import { resolve } from "node:path";
import { UsageError } from "@stagecraft/core";
import { validateImageReference } from "@stagecraft/core/dockerfile";
import type { NetworkMode } from "@stagecraft/core/engine";
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
import { checkWritableFile } from "./write-run-files.js";

export const BUILD_HELP = `Usage: stagecraft build [CONTEXT] [options]

Builds one or more targets of a multi-stage Dockerfile at once on a Docker Engine (one BuildKit build
per target, submitted together so shared steps run once), shows live progress per target and stage,
and ends with a report. CONTEXT is the build context directory (default: .).

Options:
  -f, --file FILE            the Dockerfile (default: CONTEXT/Dockerfile)
      --target T             a stage to build; repeat or separate with commas (default: the last stage;
                             an unnamed stage by the id plan shows, e.g. stage-2)
  -t, --tag NAME:TAG         tag the image; with several targets write TARGET=NAME:TAG
      --build-arg K=V        a build arg (K alone takes the value from the environment)
      --build-arg-secret K=V a build arg whose value is masked as *** in progress, logs and reports
      --label K=V            a label on every built image
      --platform P           the target platform, e.g. linux/amd64
      --no-cache             do not use the build cache
      --pull                 always look for newer base images in their registry
      --network MODE         network of RUN steps: default, host or none
      --add-host HOST:IP     add an /etc/hosts entry inside RUN steps
      --cache-from REF       an image to use as a cache source (inline cache)
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
                             or more, the engine is remote, or .dockerignore excludes the Dockerfile
                             (a tar would put it into COPY .), as one tar per target otherwise
      --keep-going           let independent targets finish when one fails (default: cancel the others)
      --check                run stagecraft check first (findings on stderr) and build nothing
                             when it fails per --fail-on LEVEL: error (default), warning, never
      --timeout DURATION     cancel every build when the run has taken this long, e.g. 90s, 20m, 1h
                             (the run then fails, exit 1)
      --stall-notice DURATION
                             say so when nothing has come from the engine for this long while
                             builds run (default 30s); the run keeps waiting
      --progress MODE        auto, tty, plain, json or quiet (auto: tty on a terminal, github under
                             GitHub Actions, plain otherwise)
      --report FILE          write the report to FILE: JSON, or a self-contained HTML page when
                             FILE ends in .html (timeline, critical path, stage graph, sizes)
      --metadata-file FILE   write image ids and names per built target as JSON to FILE
      --log-level LEVEL      stagecraft's own diagnostics: error, warn, info, debug (default: off)
      --log-file FILE        write diagnostics to FILE instead of stderr
  -h, --help                 show this help

Every image carries the labels org.stagecraft.managed=true and org.stagecraft.target=<stage>:
  docker images --filter label=org.stagecraft.target=app

Exit codes: 0 all targets built, 1 a build failed (or --timeout), 2 usage or Dockerfile error
(nothing was built), 130 interrupted (or stdout closed).
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
  "cache-from": { type: "string", multiple: true },
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
  progress: { type: "string" },
  report: { type: "string" },
  "metadata-file": { type: "string" },
  "log-level": { type: "string" },
  "log-file": { type: "string" },
  help: { type: "boolean", short: "h" },
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
  platform: string | undefined;
  noCache: boolean;
  pull: boolean;
  network: NetworkMode;
  extraHosts: string[];
  cacheFrom: string[];
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
    platform: stringOption(values, "platform"),
    noCache: values["no-cache"] === true,
    pull: values.pull === true,
    network: choiceOption<NetworkMode>(values, "network", ["default", "host", "none"], "default"),
    extraHosts,
    cacheFrom: listOption(values, "cache-from"),
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

// The commands that read a Dockerfile without building (plan, graph, check) take the same options
// for it, and read and analyse it the same way.
import {
  analyzeDockerfile,
  type AnalyzeDockerfileOptions,
  type DockerfileAnalysis,
} from "@stagecraft/core/dockerfile";
import type { Io } from "../io.js";
import {
  keyValueOption,
  listOption,
  stringOption,
  type OptionTable,
  type ParsedOptions,
} from "../parse-command-line.js";
import { loadDockerfile, type LoadedDockerfile } from "./load-dockerfile.js";

/** Options shared by the commands that read a Dockerfile without building. */
export const FRONT_END_OPTIONS: OptionTable = {
  file: { type: "string", short: "f" },
  target: { type: "string", multiple: true },
  "build-arg": { type: "string", multiple: true },
  platform: { type: "string" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Which Dockerfile to read, and what to analyse it for. */
export interface FrontEndRequest {
  readonly contextDir: string;
  readonly file: string | undefined;
  readonly targets: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly platform: string | undefined;
}

/** The request the front-end options describe. */
export function readFrontEndRequest(
  io: Io,
  values: ParsedOptions,
  contextDir: string,
): FrontEndRequest {
  return {
    contextDir,
    file: stringOption(values, "file"),
    targets: listOption(values, "target", true),
    buildArgs: keyValueOption(values, "build-arg", io.env),
    platform: stringOption(values, "platform"),
  };
}

/** Reads and analyses the requested Dockerfile; `options` are those it was analysed with. */
export function analyzeRequest(
  io: Io,
  request: FrontEndRequest,
): {
  dockerfile: LoadedDockerfile;
  options: AnalyzeDockerfileOptions;
  analysis: DockerfileAnalysis;
} {
  const dockerfile = loadDockerfile(io.cwd, request.contextDir, request.file);
  const options: AnalyzeDockerfileOptions = {
    file: dockerfile.displayPath,
    targets: request.targets,
    buildArgs: request.buildArgs,
    ...(request.platform === undefined ? {} : { platform: request.platform }),
  };
  return { dockerfile, options, analysis: analyzeDockerfile(dockerfile.text, options) };
}

/** Reads and analyses the Dockerfile named by the front-end options. */
export function analyzeFromOptions(
  io: Io,
  values: ParsedOptions,
  contextDir: string,
): { dockerfile: LoadedDockerfile; analysis: DockerfileAnalysis } {
  const { dockerfile, analysis } = analyzeRequest(io, readFrontEndRequest(io, values, contextDir));
  return { dockerfile, analysis };
}

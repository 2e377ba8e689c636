import type { EscapeToken } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import type { ArgInstruction } from "../dockerfile/instructions.js";
import { formatPlatform, formatPlatformAll, type Platform } from "./parse-platform.js";

/** What the global scope of a Dockerfile depends on besides its meta ARGs. */
export interface GlobalArgsOptions {
  /** `--build-arg`s: override predefined args and declared meta ARGs (used verbatim). */
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly buildPlatform: Platform;
  readonly targetPlatform: Platform;
  /** The value of TARGETSTAGE: the requested target, else the last stage's name, else `default`. */
  readonly targetStage: string;
  readonly escapeToken: EscapeToken;
}

/**
 * The variables `FROM` lines see: BuildKit's predefined platform args, then each meta ARG in file
 * order (a `--build-arg` wins verbatim; a default is expanded with what came before).
 *
 * A meta `ARG X` without a default counts as set to `""`, as on BuildKit 0.13–0.16 (Docker 26.1,
 * the engine stagecraft drives); BuildKit ≥ 0.17 leaves it unset.
 *
 * @throws DockerfileError (`DOCKERFILE_EXPANSION`) at the ARG when a default does not expand.
 */
export function resolveGlobalArgs(
  metaArgs: readonly ArgInstruction[],
  options: GlobalArgsOptions,
): Map<string, string> {
  const { buildPlatform: build, targetPlatform: target, buildArgs } = options;
  const predefined: [string, string][] = [
    ["BUILDPLATFORM", formatPlatform(build)],
    ["BUILDOS", build.os],
    ["BUILDOSVERSION", build.osVersion],
    ["BUILDARCH", build.architecture],
    ["BUILDVARIANT", build.variant],
    ["TARGETPLATFORM", formatPlatformAll(target)],
    ["TARGETOS", target.os],
    ["TARGETOSVERSION", target.osVersion],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant],
    ["TARGETSTAGE", options.targetStage === "" ? "default" : options.targetStage],
  ];
  const env = new Map<string, string>();
  for (const [key, value] of predefined) env.set(key, buildArgs.get(key) ?? value);

  for (const instruction of metaArgs) {
    for (const { key, value } of instruction.args) {
      const override = buildArgs.get(key);
      if (override !== undefined) {
        env.set(key, override);
      } else if (value !== undefined) {
        const expanded = expandShellWord(value, env, {
          escapeToken: options.escapeToken,
          position: instruction.position,
        });
        env.set(key, expanded.value);
      } else {
        env.set(key, "");
      }
    }
  }
  return env;
}

import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import {
  defaultPlatform,
  formatPlatformAll,
  parsePlatform,
  type Platform,
} from "../stages/parse-platform.js";
import type { CheckOptions } from "./check-types.js";
import { commentsAt } from "./comments-at.js";
import type { Emit } from "./emit.js";

/**
 * InvalidBaseImagePlatform: a base image the engine has, with another OS or architecture than the
 * stage is built for (its `FROM --platform`, else the target platform). BuildKit's
 * `validateBaseImagePlatform` (frontend/dockerfile/dockerfile2llb/convert.go) compares the OS and
 * architecture only, and names the image as the FROM line wrote it.
 */
export function checkBasePlatforms(
  analysis: DockerfileAnalysis,
  dispatched: ReadonlySet<number>,
  options: CheckOptions,
  emit: Emit,
): void {
  if (options.baseImages === undefined) return;
  const buildPlatform = platformOf(options.buildPlatform, defaultPlatform);
  const targetPlatform = platformOf(options.platform, buildPlatform);
  for (const stage of analysis.graph.stages) {
    if (!dispatched.has(stage.index) || stage.base.kind !== "image") continue;
    const found = options.baseImages.get(stage.base.reference)?.platform;
    if (found === undefined || found.os === "" || found.architecture === "") continue;
    const actual: Platform = {
      os: found.os,
      architecture: found.architecture,
      variant: found.variant ?? "",
      osVersion: "",
      osFeatures: [],
    };
    const expected = stage.resolvedPlatform ?? targetPlatform;
    if (expected.os === actual.os && expected.architecture === actual.architecture) continue;
    emit({
      rule: "InvalidBaseImagePlatform",
      message: `Base image ${stage.baseName} was pulled with platform "${formatPlatformAll(actual)}", expected "${formatPlatformAll(expected)}" for current build`,
      fix: `Pull ${stage.base.reference} for ${formatPlatformAll(expected)} (docker pull --platform ${formatPlatformAll(expected)} ${stage.base.reference}), or build for ${formatPlatformAll(actual)}.`,
      location: {
        line: stage.position.line,
        column: stage.position.column,
        endLine: stage.position.line,
      },
      stage: stage.id,
      comments: commentsAt(analysis, stage.position.line),
    });
  }
}

function platformOf(value: string | undefined, fallback: Platform): Platform {
  if (value === undefined) return fallback;
  const parsed = parsePlatform(value, fallback);
  return parsed.ok ? parsed.platform : fallback;
}

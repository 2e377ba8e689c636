import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { formatBytes } from "../report/format-bytes.js";
import type { ContextFacts, ContextHazard } from "./check-types.js";
import { commentsAt } from "./comments-at.js";
import type { StageFacts } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";

/** Build output smaller than this is not worth a warning (a `build/` of scripts is often source). */
const BUILD_OUTPUT_MIN_BYTES = 1024 * 1024;

/**
 * ContextNotIgnored: the context holds version-control data, installed dependencies or build
 * output (1 MiB or more) that no ignore file excludes. Points at the first whole-context COPY of the
 * planned stages, which puts them in an image; else at line 1 (they are still sent to the engine).
 */
export function checkContext(
  analysis: DockerfileAnalysis,
  facts: ReadonlyMap<number, StageFacts>,
  planned: readonly number[],
  context: ContextFacts,
  emit: Emit,
): void {
  const hazards = context.hazards.filter(
    (hazard) =>
      !hazard.ignored && (hazard.kind !== "build-output" || hazard.bytes >= BUILD_OUTPUT_MIN_BYTES),
  );
  if (hazards.length === 0) return;
  let copy:
    { line: number; column: number; endLine: number; stage: string; keyword: string } | undefined;
  for (const index of planned) {
    const fact = facts.get(index);
    const event = fact?.order.find((candidate) => candidate.kind === "whole-copy");
    if (fact === undefined || event?.kind !== "whole-copy") continue;
    if (copy === undefined || event.location.line < copy.line) {
      copy = { ...event.location, stage: fact.id, keyword: `${event.keyword} ${event.source}` };
    }
  }
  const listed = hazards.map(describeHazard).join(", ");
  const excluded =
    context.ignoreFile === undefined
      ? "there is no .dockerignore"
      : `${context.ignoreFile} does not exclude ${hazards.length === 1 ? "it" : "them"}`;
  const consequence =
    copy === undefined
      ? "; every build sends it to the engine"
      : `; ${copy.keyword} at line ${copy.line} copies ${hazards.length === 1 ? "it" : "them"} into stage "${copy.stage}"`;
  emit({
    rule: "ContextNotIgnored",
    message: `the build context holds ${listed} and ${excluded}${consequence}`,
    fix: `Add ${hazards.map((hazard) => hazard.path).join(", ")} to ${context.ignoreFile ?? ".dockerignore"}.`,
    location:
      copy === undefined
        ? { line: 1, column: 1, endLine: 1 }
        : { line: copy.line, column: copy.column, endLine: copy.endLine },
    stage: copy?.stage,
    comments: copy === undefined ? undefined : commentsAt(analysis, copy.line),
  });
}

function describeHazard(hazard: ContextHazard): string {
  const what =
    hazard.kind === "vcs"
      ? "version control"
      : hazard.kind === "dependencies"
        ? "installed dependencies"
        : "build output";
  const size = `${hazard.truncated ? "over " : ""}${formatBytes(hazard.bytes)}, ${hazard.truncated ? "over " : ""}${hazard.files.toLocaleString("en-US")} ${hazard.files === 1 ? "file" : "files"}`;
  return `${hazard.path} (${what}, ${size})`;
}

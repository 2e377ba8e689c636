import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { findStageTypos } from "../plan/find-stage-typos.js";
import { commentsAt } from "./comments-at.js";
import type { Emit } from "./emit.js";

/** The tag of an image reference: `latest`, a version, `""` when untagged, undefined when pinned by digest. */
export function imageTag(reference: string): string | undefined {
  if (reference.includes("@")) return undefined;
  const slash = reference.lastIndexOf("/");
  const colon = reference.indexOf(":", slash + 1);
  return colon < 0 ? "" : reference.slice(colon + 1);
}

/**
 * UnpinnedBaseImage: a base image or `COPY --from` / `RUN --mount from=` image of a planned stage
 * that is untagged or tagged `latest` (after ARG expansion; digests are pinned).
 */
export function checkUnpinnedImages(
  analysis: DockerfileAnalysis,
  planned: readonly number[],
  emit: Emit,
): void {
  const keywords = { base: "FROM", copy: "COPY --from", mount: "RUN --mount from" } as const;
  for (const index of planned) {
    const stage = analysis.graph.stages[index];
    if (stage === undefined) continue;
    const seen = new Set<string>();
    for (const use of stage.imageUses) {
      if (use.onbuild) continue;
      const tag = imageTag(use.reference);
      if (tag !== "" && tag !== "latest") continue;
      const key = `${use.position.line}\u0000${use.reference}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const written =
        use.kind === "base" ? `FROM ${use.reference}` : `${keywords[use.kind]}=${use.reference}`;
      emit({
        rule: "UnpinnedBaseImage",
        message:
          tag === ""
            ? `${written} (stage "${stage.id}") has no tag, so it means ${use.reference}:latest, whatever that is when the build runs`
            : `${written} (stage "${stage.id}") uses the latest tag, which moves with every release`,
        fix: `Pin a version, e.g. ${use.reference.replace(/:latest$/, "")}:<version>, and a digest for reproducible builds.`,
        location: {
          line: use.position.line,
          column: use.position.column,
          endLine: use.position.line,
        },
        stage: stage.id,
        comments: commentsAt(analysis, use.position.line),
      });
    }
  }
}

/**
 * StageNameTypo: `findStageTypos` for the planned stages: a reference BuildKit will pull as an
 * image although it is one typo away from a stage's name.
 */
export function checkStageTypos(
  analysis: DockerfileAnalysis,
  planned: readonly number[],
  emit: Emit,
): void {
  const ids = new Set(planned.map((index) => analysis.graph.stages[index]?.id));
  const keywords = { base: "FROM", copy: "COPY --from=", mount: "RUN --mount from=" } as const;
  for (const typo of findStageTypos(analysis.graph)) {
    if (!ids.has(typo.stage)) continue;
    emit({
      rule: "StageNameTypo",
      message: typo.message,
      fix: `Write ${keywords[typo.kind]}${typo.kind === "base" ? " " : ""}${typo.suggestion}.`,
      location: {
        line: typo.position.line,
        column: typo.position.column,
        endLine: typo.position.line,
      },
      stage: typo.stage,
      comments: commentsAt(analysis, typo.position.line),
    });
  }
}

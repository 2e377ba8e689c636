import { DockerfileError, type SourcePosition } from "../errors.js";
import { quoteGo } from "../dockerfile/go/strconv.js";
import type { Command } from "./collect-uses.js";
import type { ResolvedFrom } from "./resolve-from.js";
import { validateImageReference } from "./validate-image-reference.js";
import { validateMount } from "./validate-mount.js";

/**
 * What BuildKit rejects when it dispatches one instruction of the stage: a `RUN --mount` that does
 * not validate, then `--from` / mount edges to a stage that is not built yet.
 */
export function commandDispatchErrors(stage: ResolvedFrom, command: Command): DockerfileError[] {
  const errors: DockerfileError[] = [];
  for (const mount of command.mounts) {
    const problem = validateMount(mount.fields);
    if (problem !== undefined) {
      errors.push(new DockerfileError("DOCKERFILE_FLAG", problem, command.position));
    }
  }
  for (const use of command.uses) {
    if (use.kind !== "stage" || use.use === "base" || use.stage < stage.index) continue;
    if (use.use === "copy") {
      errors.push(
        new DockerfileError(
          "STAGE_ORDER",
          `cannot copy from stage ${quoteGo(use.reference)}, it needs to be defined before current stage ${quoteGo(stage.id)}`,
          use.position,
          { hint: "Move the stage it copies from above this one." },
        ),
      );
    } else if (use.reference !== "" || use.type === "cache") {
      errors.push(
        new DockerfileError(
          "STAGE_ORDER",
          `cannot mount from stage ${quoteGo(use.reference === "" ? "scratch" : use.reference)} to ${quoteGo(use.target ?? "")}, stage needs to be defined before current command`,
          use.position,
          { hint: "Move the stage it mounts from above this one." },
        ),
      );
    }
  }
  return errors;
}

/** An image reference BuildKit cannot parse, as the error a build would meet. */
export function referenceError(
  reference: string,
  position: SourcePosition,
): DockerfileError | undefined {
  const problem = validateImageReference(reference);
  if (problem === undefined) return undefined;
  return new DockerfileError(
    "INVALID_IMAGE_REFERENCE",
    `failed to parse stage name ${quoteGo(reference)}: ${problem}`,
    position,
    { hint: "Image names are lower-case; a FROM naming a stage must match its AS name exactly." },
  );
}

/** The image references of the stages' bases and commands that BuildKit cannot parse. */
export function imageReferenceErrors(
  stages: readonly ResolvedFrom[],
  stageCommands: readonly (readonly Command[])[],
): DockerfileError[] {
  const errors: DockerfileError[] = [];
  for (const stage of stages) {
    if (stage.base.kind === "image") {
      const error = referenceError(stage.baseName, stage.position);
      if (error !== undefined) errors.push(error);
    }
  }
  for (const commands of stageCommands) {
    for (const { uses } of commands) {
      for (const use of uses) {
        if (use.kind === "image") {
          const error = referenceError(use.reference, use.position);
          if (error !== undefined) errors.push(error);
        }
      }
    }
  }
  return errors;
}

import type { DockerfileMap } from "../progress/attribute-stage.js";
import { contextNameOf } from "../stages/context-name-of.js";
import type { StageGraph } from "../stages/stage-graph.js";

/** The instruction kinds that make a BuildKit vertex of their own (dockerfile2llb `prefixCommand`). */
const VERTEX_KINDS = new Set(["run", "copy", "add", "workdir"]);

/**
 * Lists, per stage, the instructions BuildKit shows as `[stage i/n]` vertices, so progress can map a
 * step back to its Dockerfile line: `FROM <image>` (not `FROM <stage>`, not `scratch`), then `RUN`,
 * `COPY`, `ADD` and `WORKDIR` in file order. Inherited `ONBUILD` triggers run first and count too.
 * `namedContexts` are the names of the build's named contexts: a stage whose base image one of
 * them replaces is numbered without its `FROM` (`indexShift`).
 */
export function createDockerfileMap(
  graph: StageGraph,
  namedContexts: readonly string[] = [],
): DockerfileMap {
  const named = new Set(namedContexts);
  return graph.stages.map((stage) => {
    const instructions: { line: number; text: string }[] = [];
    if (stage.base.kind === "image") {
      instructions.push({ line: stage.position.line, text: `FROM ${stage.baseName}` });
    }
    for (const trigger of stage.inheritedTriggers) {
      if (VERTEX_KINDS.has(trigger.kind)) {
        instructions.push({ line: stage.position.line, text: trigger.node.original });
      }
    }
    for (const instruction of stage.instructions) {
      if (VERTEX_KINDS.has(instruction.kind)) {
        instructions.push({ line: instruction.position.line, text: instruction.node.original });
      }
    }
    const replaced = stage.base.kind === "image" && named.has(contextNameOf(stage.base.reference));
    return { id: stage.id, instructions, ...(replaced ? { indexShift: 1 } : {}) };
  });
}

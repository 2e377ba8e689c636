import { DockerfileError, type SourcePosition } from "../errors.js";
import type { Command } from "./collect-uses.js";
import type { ResolvedFrom } from "./resolve-from.js";

/**
 * BuildKit's `validateCircularDependency`: a depth-first search over `--from` and mount edges
 * (bases cannot loop), stages in file order; it names the stage the search started from.
 */
export function checkCycles(
  stages: readonly ResolvedFrom[],
  commands: readonly (readonly Command[])[],
): void {
  const edges = commands.map((list) => {
    const byStage = new Map<number, SourcePosition>();
    for (const { uses } of list) {
      for (const use of uses) {
        if (use.kind === "stage" && !byStage.has(use.stage)) byStage.set(use.stage, use.position);
      }
    }
    return [...byStage];
  });
  const visited = new Uint8Array(stages.length);
  const onPath = new Uint8Array(stages.length);
  // An explicit stack (a chain of thousands of stages must not overflow the call stack). The error
  // is reported at the first edge of the path from the starting stage, so only that is kept.
  interface Frame {
    readonly stage: number;
    next: number;
    readonly first: SourcePosition | undefined;
  }
  const visit = (start: number): SourcePosition | undefined => {
    if (visited[start] === 1) return undefined;
    visited[start] = 1;
    onPath[start] = 1;
    const stack: Frame[] = [{ stage: start, next: 0, first: undefined }];
    for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
      const [target, position] = edges[frame.stage]?.[frame.next] ?? [];
      if (target === undefined || position === undefined) {
        onPath[frame.stage] = 0;
        stack.pop();
        continue;
      }
      frame.next++;
      const first = frame.first ?? position;
      if (onPath[target] === 1) return first;
      if (visited[target] === 1) continue;
      visited[target] = 1;
      onPath[target] = 1;
      stack.push({ stage: target, next: 0, first });
    }
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.index);
    if (cycle !== undefined) {
      throw new DockerfileError(
        "STAGE_CYCLE",
        `circular dependency detected on stage: ${stage.id}`,
        cycle,
        { hint: "A stage cannot copy or mount from itself or from a stage that depends on it." },
      );
    }
  }
}

import type { DockerfileInstruction } from "../dockerfile/ast.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";

const byAnalysis = new WeakMap<DockerfileAnalysis, Map<number, DockerfileInstruction>>();

/**
 * The comment lines before the instruction that starts at `line` (where a `# check=skip=…` for it
 * is written); none when no instruction starts there.
 */
export function commentsAt(analysis: DockerfileAnalysis, line: number): readonly string[] {
  let index = byAnalysis.get(analysis);
  if (index === undefined) {
    index = new Map(analysis.ast.children.map((node) => [node.range.start.line, node]));
    byAnalysis.set(analysis, index);
  }
  return index.get(line)?.prevComment ?? [];
}

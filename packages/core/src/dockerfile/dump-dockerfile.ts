import type { DockerfileAst, DockerfileInstruction } from "./ast.js";
import { quoteGo } from "./go/strconv.js";
import { trimGoSpace } from "./go/strings.js";

/**
 * Prints a parsed Dockerfile in BuildKit's `node.Dump()` format plus a final newline, which is
 * byte for byte the `result` file of BuildKit's parser test cases.
 *
 * @example
 * dumpDockerfile(parseDockerfile("FROM alpine\nONBUILD RUN echo hi\n"));
 * // '(from "alpine")\n(onbuild (run "echo hi"))\n'
 */
export function dumpDockerfile(ast: DockerfileAst): string {
  return ast.children.map((child) => `(${dumpInstruction(child)})`).join("\n") + "\n";
}

/** One instruction in `node.Dump()` form, without the surrounding parentheses: `run "make"`. */
export function dumpInstruction(instruction: DockerfileInstruction): string {
  // Iterative over ONBUILD triggers, which can nest thousands deep.
  const parts: string[] = [];
  let depth = 0;
  for (
    let node: DockerfileInstruction | undefined = instruction;
    node !== undefined;
    node = node.trigger
  ) {
    if (depth > 0) parts.push(" (");
    parts.push(node.keyword);
    if (node.flags.length > 0) parts.push(` [${node.flags.map(quoteGo).join(" ")}]`);
    for (const arg of node.args) parts.push(" ", quoteGo(arg));
    depth++;
  }
  parts.push(")".repeat(depth - 1));
  // Go trims the whole dump; only an empty keyword (a line of blanks after a `\`) leaves a blank.
  return trimGoSpace(parts.join(""));
}

import { cleanGoPath } from "../dockerfile/go/path.js";

/**
 * Reads the text of a `.dockerignore` into patterns exactly as docker does (moby/patternmatcher
 * `ignorefile.ReadAll`): a UTF-8 BOM is dropped, lines starting with `#` are comments, each line is
 * trimmed and cleaned like Go's `filepath.Clean`, a leading `/` is dropped, and `!` marks an exception.
 *
 * @example
 * parseIgnoreFile("# deps\nnode_modules/\n!/node_modules/keep\n"); // ["node_modules", "!node_modules/keep"]
 */
export function parseIgnoreFile(text: string): string[] {
  const patterns: string[] = [];
  // bufio.ScanLines splits on "\n" and drops one trailing "\r".
  for (const [index, rawLine] of text.split("\n").entries()) {
    let line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (index === 0 && line.startsWith("\uFEFF")) line = line.slice(1);
    // Only a "#" in the first column starts a comment: docker tests before trimming.
    if (line.startsWith("#")) continue;
    let pattern = line.trim();
    if (pattern === "") continue;
    const exception = pattern.startsWith("!");
    if (exception) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanGoPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    patterns.push(exception ? `!${pattern}` : pattern);
  }
  return patterns;
}

import dockerignoreModule from "@balena/dockerignore";

import { ContextError } from "../errors.js";

// The package is CommonJS with `module.exports = ignore; ignore.default = ignore` and an ESM-style
// `export default` in its types, which `nodenext` reads as `module.exports.default`.
const dockerignore = dockerignoreModule.default;

/** Decides which paths of a build context are left out, with docker's `.dockerignore` semantics. */
export interface IgnoreMatcher {
  /** The patterns, as `parseIgnoreFile` returns them (`!` marks an exception). */
  readonly patterns: readonly string[];
  /** True when a context-relative, slash-separated path is excluded, by its own match or a parent's. */
  ignores(path: string): boolean;
  /**
   * True when an excluded directory must still be walked because an exception pattern starts with
   * it (`!dir/keep`): docker skips an excluded directory unless one does, even if `!**\/keep` would
   * match something inside it (moby/go-archive `TarWithOptions`).
   */
  mustWalkExcluded(dir: string): boolean;
}

/**
 * Builds the matcher for a list of ignore patterns; `source` (the ignore file's path) is named in the
 * error thrown for a pattern docker would reject.
 *
 * @example
 * const matcher = createIgnoreMatcher(["*.log", "!keep.log"], "/app/.dockerignore");
 * matcher.ignores("debug.log"); // true
 */
export function createIgnoreMatcher(patterns: readonly string[], source: string): IgnoreMatcher {
  for (const pattern of patterns) assertValidPattern(pattern, source);
  // Docker matches case-sensitively on Linux; the library's default is case-insensitive.
  const rules = dockerignore({ ignorecase: false }).add(patterns.map(toLibraryPattern));
  const exceptions = patterns
    .filter((pattern) => pattern.startsWith("!"))
    .map((pattern) => `${pattern.slice(1)}/`);
  return {
    patterns,
    ignores: (path) => rules.ignores(path),
    mustWalkExcluded: (dir) => exceptions.some((exception) => exception.startsWith(`${dir}/`)),
  };
}

/**
 * @balena/dockerignore drops every pattern that starts with `#` as a comment, but docker only drops
 * lines that start with one before trimming: `  #x` is the pattern `#x`. An escaped `\#` matches the same.
 */
function toLibraryPattern(pattern: string): string {
  return pattern.startsWith("#") ? `\\${pattern}` : pattern;
}

/** Rejects what moby/patternmatcher `New` rejects (`filepath.Match`'s `ErrBadPattern`), in its words. */
function assertValidPattern(pattern: string, source: string): void {
  const hint = "Fix or remove the pattern; .dockerignore patterns use Go's filepath.Match syntax.";
  if (pattern === "!") {
    throw new ContextError(
      "CONTEXT_UNREADABLE",
      `illegal exclusion pattern: "!" in ${source}`,
      source,
      { hint },
    );
  }
  const body = pattern.startsWith("!") ? pattern.slice(1) : pattern;
  let valid = !/(^|[^\\])(\\\\)*\\$/.test(body);
  if (valid) {
    try {
      dockerignore({ ignorecase: false }).add(toLibraryPattern(pattern)).ignores("probe");
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new ContextError(
      "CONTEXT_UNREADABLE",
      `invalid pattern "${pattern}" in ${source}: syntax error in pattern`,
      source,
      { hint },
    );
  }
}

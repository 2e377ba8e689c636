import {
  createPatternMatcher,
  type PathMatch,
  type PathPattern,
  type PatternMatcher,
} from "./create-pattern-matcher.js";

/** What the walk does with one entry. */
export type FilterAction =
  /** Send it (and first any hidden directory above it that was not sent yet). */
  | "keep"
  /** Do not send it; a directory is still walked, and sent once something below it is kept. */
  | "hide"
  /** Do not send it, and do not walk into it: nothing below it can be kept. */
  | "prune";

/** The patterns' results for a directory, which its entries inherit. */
export interface FilterState {
  readonly include: PathMatch | undefined;
  readonly exclude: PathMatch | undefined;
}

/** Decides, entry by entry in walk order, what a walk of a build context sends. */
export interface ContextFilter {
  /** The exclude patterns (`.dockerignore`), as given. */
  readonly excludePatterns: readonly string[];
  /** True when neither includes nor excludes are set: every entry is kept. */
  readonly keepsEverything: boolean;
  /**
   * Decides for the context path `path`, given the state of its parent directory (undefined at the
   * top); `state` is what the directory's own entries get.
   */
  check(
    path: string,
    isDir: boolean,
    parent: FilterState | undefined,
  ): { action: FilterAction; state: FilterState | undefined };
  /** True when a walk would send `path` (its parents are walked and checked first). */
  sends(path: string): boolean;
}

/** Options of `createContextFilter`: fsutil `FilterOpt`, with the followed paths already resolved. */
export interface ContextFilterOptions {
  /** A path is kept only when it (or a parent directory) matches one of these. */
  includePatterns?: readonly string[] | undefined;
  /** A path that matches one of these (or whose parent directory does) is left out; `!` excepts. */
  excludePatterns?: readonly string[] | undefined;
}

// fsutil `NewFilterFS`: a pattern with one of these is more than a path prefix.
const PATTERN_CHARS = /[*[\]?^\\]/;

/**
 * The rules by which BuildKit's file walker (tonistiigi/fsutil `filterFS.Walk`, used by the docker CLI
 * and buildx to send a context) leaves paths out. A path is matched with its parent directory's
 * results (moby/patternmatcher `MatchesUsingParentResults`). An excluded directory is walked when an
 * exception could keep something below it: when any exception has a wildcard (`!**\/*.log`), every
 * excluded directory is walked; when none has, only those an exception starts with (`!dir/keep`). A
 * hidden directory is sent, before the first entry below it that is kept, as fsutil sends it.
 *
 * Throws `InvalidPatternError` for a pattern moby/patternmatcher rejects.
 *
 * @example
 * const filter = createContextFilter({ excludePatterns: ["*", "!**\/*.log"] });
 * filter.check("a", true, undefined).action; // "hide": walked, sent only if a log is found below
 */
export function createContextFilter(options: ContextFilterOptions): ContextFilter {
  const excludePatterns = options.excludePatterns ?? [];
  const includes =
    options.includePatterns !== undefined && options.includePatterns.length > 0
      ? createPatternMatcher(options.includePatterns)
      : undefined;
  const excludes = excludePatterns.length > 0 ? createPatternMatcher(excludePatterns) : undefined;

  // Only when every relevant pattern is a plain path can a directory be skipped by its name alone.
  const includePrefixes = includes === undefined ? undefined : prefixesOf(includes, false);
  const exceptionPrefixes = excludes === undefined ? undefined : prefixesOf(excludes, true);

  const check: ContextFilter["check"] = (path, isDir, parent) => {
    let hidden = false;
    let include: PathMatch | undefined;
    let exclude: PathMatch | undefined;
    if (includes !== undefined) {
      include = includes.match(path, parent?.include);
      if (!include.matched) {
        if (isDir && includePrefixes !== undefined && !startsAny(includePrefixes, path)) {
          return { action: "prune", state: undefined };
        }
        hidden = true;
      }
    }
    if (excludes !== undefined) {
      exclude = excludes.match(path, parent?.exclude);
      if (exclude.matched) {
        if (isDir && exceptionPrefixes !== undefined && !startsAny(exceptionPrefixes, path)) {
          return { action: "prune", state: undefined };
        }
        hidden = true;
      }
    }
    return {
      action: hidden ? "hide" : "keep",
      state: isDir ? { include, exclude } : undefined,
    };
  };

  return {
    excludePatterns,
    keepsEverything: includes === undefined && excludes === undefined,
    check,
    sends(path) {
      const parts = path.split("/");
      let state: FilterState | undefined;
      for (const [index, part] of parts.entries()) {
        const isLast = index === parts.length - 1;
        const result = check(parts.slice(0, index).concat(part).join("/"), !isLast, state);
        if (result.action === "prune") return false;
        if (isLast) return result.action === "keep";
        state = result.state;
      }
      return false;
    },
  };
}

/**
 * The patterns (inclusions, or exceptions) as path prefixes ending in "/" (without a trailing `/**`
 * or `/*`), or undefined when one of them has a wildcard and so may match below any directory.
 */
function prefixesOf(matcher: PatternMatcher, exceptions: boolean): string[] | undefined {
  const prefixes: string[] = [];
  for (const pattern of matcher.patterns) {
    if (pattern.exclusion !== exceptions) continue;
    const prefix = withoutTrailingGlob(pattern);
    if (PATTERN_CHARS.test(prefix)) return undefined;
    prefixes.push(`${prefix}/`);
  }
  return prefixes;
}

function withoutTrailingGlob(pattern: PathPattern): string {
  let text = pattern.text;
  if (text.endsWith("/**")) text = text.slice(0, -3);
  if (text.endsWith("/*")) text = text.slice(0, -2);
  return text;
}

function startsAny(prefixes: readonly string[], dir: string): boolean {
  const dirSlash = `${dir}/`;
  return prefixes.some((prefix) => prefix.startsWith(dirSlash));
}

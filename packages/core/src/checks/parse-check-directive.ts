import { parseGoBool, quoteGo } from "../dockerfile/go/strconv.js";
import type { CheckConfig } from "./check-types.js";

/** The config BuildKit uses when the Dockerfile has no `# check=` directive. */
export const DEFAULT_CHECK_CONFIG: CheckConfig = {
  skipAll: false,
  skip: [],
  experimentalAll: false,
  experimental: [],
  errorOnWarning: false,
};

/** A `# check=` value BuildKit refuses, with its error text. */
export class CheckDirectiveError extends Error {}

/**
 * BuildKit's `linter.ParseLintOptions`: `skip=<rules|all>`, `experimental=<rules|all>` and
 * `error=<bool>`, separated by `;` (at most three parts: a third keeps any further `;`).
 *
 * @throws CheckDirectiveError with BuildKit's text, e.g. `invalid check option "foo"`.
 */
export function parseCheckOptions(value: string): CheckConfig {
  const text = value.trim();
  if (text === "") return DEFAULT_CHECK_CONFIG;
  let skip: string[] = [];
  let experimental: string[] = [];
  let skipAll = false;
  let experimentalAll = false;
  let errorOnWarning = false;
  for (const part of splitN(text, ";", 3)) {
    const equals = part.indexOf("=");
    if (equals < 0) throw new CheckDirectiveError(`invalid check option ${quoteGo(part)}`);
    const key = part.slice(0, equals).trim();
    const raw = part.slice(equals + 1);
    switch (key) {
      case "skip": {
        const list = raw.trim();
        if (list === "all") skipAll = true;
        else skip = list.split(",").map((rule) => rule.trim());
        break;
      }
      case "experimental": {
        const list = raw.trim();
        if (list === "all") experimentalAll = true;
        else experimental = list.split(",").map((rule) => rule.trim());
        break;
      }
      case "error": {
        const parsed = parseGoBool(raw.trim());
        if (parsed === undefined) {
          throw new CheckDirectiveError(
            `failed to parse check option ${quoteGo(part)}: strconv.ParseBool: parsing ${quoteGo(raw.trim())}: invalid syntax`,
          );
        }
        errorOnWarning = parsed;
        break;
      }
      default:
        throw new CheckDirectiveError(`invalid check option ${quoteGo(key)}`);
    }
  }
  return { skipAll, skip, experimentalAll, experimental, errorOnWarning };
}

/**
 * The value of the Dockerfile's `check` directive as BuildKit's `parser.ParseDirective("check", …)`
 * finds it: among the leading `#` directive lines (a byte-order mark and a `#!` first line skipped),
 * cut at the first space. Undefined when there is none.
 */
export function readCheckDirective(text: string): { value: string; line: number } | undefined {
  let body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let line = 0;
  const firstBreak = body.indexOf("\n");
  const firstLine = firstBreak < 0 ? body : body.slice(0, firstBreak);
  if (firstLine.startsWith("#!")) {
    body = firstBreak < 0 ? "" : body.slice(firstBreak + 1);
    line = 1;
  }
  const seen = new Set<string>();
  // Line by line, only as far as the directives go (never the whole file).
  for (let start = 0; start <= body.length;) {
    const end = body.indexOf("\n", start);
    const raw = body.slice(start, end < 0 ? body.length : end);
    start = end < 0 ? body.length + 1 : end + 1;
    line++;
    const physical = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!physical.startsWith("#")) return undefined;
    const directive = matchDirective(physical.slice(1));
    if (directive === undefined) return undefined;
    // A repeated key ends the directives (BuildKit's ParseAll stops at its error).
    if (seen.has(directive.name)) return undefined;
    seen.add(directive.name);
    if (directive.name === "check") return { value: cutAtSpace(directive.value), line };
  }
  return undefined;
}

/**
 * BuildKit's `Linter.WithMergedConfigFromComments`: the first comment before an instruction that
 * reads as a `check=` directive adds its skipped and experimental rules (never `error=`); an
 * invalid one leaves the config as it is.
 */
export function mergeCheckComments(config: CheckConfig, comments: readonly string[]): CheckConfig {
  for (const comment of comments) {
    const directive = matchDirective(comment);
    if (directive?.name !== "check") continue;
    let other: CheckConfig;
    try {
      other = parseCheckOptions(cutAtSpace(directive.value));
    } catch {
      return config;
    }
    return {
      skipAll: config.skipAll || other.skipAll,
      skip: other.skip.length > 0 ? [...config.skip, ...other.skip] : config.skip,
      experimentalAll: config.experimentalAll || other.experimentalAll,
      experimental:
        other.experimental.length > 0
          ? [...config.experimental, ...other.experimental]
          : config.experimental,
      errorOnWarning: config.errorOnWarning,
    };
  }
  return config;
}

/** Whether BuildKit's `Linter.Run` would report a rule under this config. */
export function isRuleEnabled(config: CheckConfig, rule: string, experimental: boolean): boolean {
  if (experimental) return config.experimentalAll || config.experimental.includes(rule);
  return !config.skipAll && !config.skip.includes(rule);
}

const DIRECTIVE_KEYS = new Set(["syntax", "escape", "check"]);

/**
 * `DirectiveParser.ParseLine` after the comment prefix: leading Unicode spaces trimmed, then
 * `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with a known key (lower-cased).
 */
function matchDirective(line: string): { name: string; value: string } | undefined {
  const match = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s.exec(
    line.replace(/^\s+/u, ""),
  );
  if (match === null) return undefined;
  const name = (match[1] ?? "").toLowerCase();
  if (!DIRECTIVE_KEYS.has(name)) return undefined;
  return { name, value: match[2] ?? "" };
}

function cutAtSpace(value: string): string {
  const space = value.indexOf(" ");
  return space < 0 ? value : value.slice(0, space);
}

/** Go's `strings.SplitN`. */
function splitN(text: string, separator: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (parts.length < limit - 1) {
    const at = rest.indexOf(separator);
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + separator.length);
  }
  parts.push(rest);
  return parts;
}

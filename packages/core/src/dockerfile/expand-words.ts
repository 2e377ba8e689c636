import { DockerfileError, type SourcePosition } from "../errors.js";
import { quoteGo } from "./go/strconv.js";
import { splitOnGoSpaces } from "./go/unicode.js";
import { lexSimpleWord } from "./lex-simple-word.js";
import { runSteps } from "./run-steps.js";
import { ShellSyntaxError } from "./shell-syntax-error.js";
import { ShellWordLexer } from "./shell-word-lexer.js";

/** Variables visible to an expansion: a Map or a plain record; a name that is absent is unset. */
export type ShellEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** How a word is lexed; the defaults are BuildKit's `shell.NewLex('\\')`. */
export interface ExpandWordOptions {
  /** The Dockerfile's escape token (`# escape=`): `\` (default) or `` ` ``. */
  escapeToken?: "\\" | "`";
  /** Keep quote characters in the result (BuildKit `RawQuotes`). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result (BuildKit `RawEscapes`). */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (BuildKit `SkipProcessQuotes`). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (BuildKit `SkipUnsetEnv`). */
  skipUnsetEnv?: boolean;
  /** Where the word is in the Dockerfile, for errors; defaults to 1:1. */
  position?: SourcePosition;
}

/** What an expansion produced, and which variable names it looked up. */
export interface ShellWordExpansion {
  /** The expanded word, quotes removed, whitespace kept (BuildKit `ProcessWord`). */
  value: string;
  /** The expanded text split into words after expansion (BuildKit `ProcessWords`). */
  words: string[];
  /** Names looked up and found, in order of first use. */
  matched: string[];
  /** Names looked up and not found (unset), in order of first use. */
  unmatched: string[];
}

/**
 * Expands `$X`, `${X}`, `${X:-d}`, `${X#p}`, `${X/p/r}` … and removes quotes and escapes the way
 * BuildKit's `shell.Lex.ProcessWord` does, keeping the result as one word.
 *
 * @example
 * expandWord("golang:${GO:-1.26}-alpine", new Map()); // "golang:1.26-alpine"
 * @throws DockerfileError (`DOCKERFILE_EXPANSION`) with BuildKit's text, e.g.
 *   `failed to process "${}": syntax error: bad substitution`.
 */
export function expandWord(word: string, env: ShellEnv, options: ExpandWordOptions = {}): string {
  return expandShellWord(word, env, options).value;
}

/**
 * Expands like {@link expandWord}, then splits the result into words on unquoted whitespace
 * (BuildKit `shell.Lex.ProcessWords`).
 */
export function expandWords(
  word: string,
  env: ShellEnv,
  options: ExpandWordOptions = {},
): string[] {
  return expandShellWord(word, env, options).words;
}

/** Expands one word and reports both forms and the variable names it used. */
export function expandShellWord(
  word: string,
  env: ShellEnv,
  options: ExpandWordOptions = {},
): ShellWordExpansion {
  if (!NOT_PLAIN.test(word)) {
    return { value: word, words: splitOnGoSpaces(word), matched: [], unmatched: [] };
  }
  const simple = lexSimpleWord(word, env, options);
  if (simple !== undefined) return simple;
  const lexer = new ShellWordLexer(word, env, options);
  try {
    const { result, words } = runSteps(
      lexer.processStopOn(undefined, options.rawEscapes ?? false, true),
    );
    return {
      value: result,
      words,
      matched: [...lexer.matched],
      unmatched: [...lexer.unmatched],
    };
  } catch (error) {
    if (error instanceof ShellSyntaxError) {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        `failed to process ${quoteGo(word)}: ${error.message}`,
        options.position ?? { line: 1, column: 1 },
      );
    }
    throw error;
  }
}

/**
 * A `$`, quote, escape token (either one), `<` or leading byte-order mark: a word without any is
 * copied through unchanged by the lexer. Most words are such, and the lexer's steps cost far more
 * than one native scan.
 */
const NOT_PLAIN = /^\uFEFF|[$"'<\\`]/;

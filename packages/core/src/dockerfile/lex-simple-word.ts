import type { ExpandWordOptions, ShellEnv, ShellWordExpansion } from "./expand-words.js";
import { goSpaceRuns, isGoDigit, isGoLetter, isGoSpaceCode } from "./go/unicode.js";
import { MAX_EXPANSION_LENGTH } from "./shell-syntax-error.js";
import { lookupEnv } from "./shell-word-lexer.js";
import { characterAt } from "./character-at.js";

/**
 * What BuildKit's `ProcessWords` gives a word that nests nothing: text, escapes, `'…'`, `"…"`,
 * `$NAME` and `${NAME}`, in one pass without the lexer's steps (most words that are not plain are
 * such, e.g. `PATH="/app/bin:$PATH"`). Undefined when the word needs the lexer: a `${…}` modifier,
 * a `<`, skipped quote processing, an error or an over-long result (the lexer reports those).
 */
export function lexSimpleWord(
  word: string,
  env: ShellEnv,
  options: ExpandWordOptions,
): ShellWordExpansion | undefined {
  if (options.skipProcessQuotes === true) return undefined;
  const escape = options.escapeToken ?? "\\";
  const rawQuotes = options.rawQuotes ?? false;
  const rawEscapes = options.rawEscapes ?? false;
  const skipUnsetEnv = options.skipUnsetEnv ?? false;
  const matched: string[] = [];
  const unmatched: string[] = [];
  const words: string[] = [];
  // BuildKit's words buffer: a word in progress is never empty, so "in a word" is "buffer != ''".
  let buffer = "";
  let result = "";
  const end = word.length;
  // Go's text/scanner skips a byte-order mark at the very start.
  let at = word.charCodeAt(0) === 0xfeff ? 1 : 0;

  const getEnv = (name: string): string | undefined => {
    const value = lookupEnv(env, name);
    const names = value === undefined ? unmatched : matched;
    if (!names.includes(name)) names.push(name);
    return value;
  };
  /** processName: a digit run, one special parameter, or letters, digits and `_`. */
  const readName = (): string => {
    let name = "";
    while (at < end) {
      const ch = characterAt(word, at);
      if (name === "" && isGoDigit(ch)) {
        for (let digit = ch; at < end && isGoDigit(digit); digit = characterAt(word, at)) {
          name += digit;
          at += digit.length;
        }
        return name;
      }
      if (name === "" && "@*#?-$!0".includes(ch)) {
        at += ch.length;
        return ch;
      }
      if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== "_") break;
      name += ch;
      at += ch.length;
    }
    return name;
  };
  /** processDollar for `$NAME`, `$` and `${NAME}`; undefined for anything else. */
  const readDollar = (): string | undefined => {
    at++;
    if (word.charAt(at) !== "{") {
      const name = readName();
      if (name === "") return "$";
      const value = getEnv(name);
      return value === undefined && skipUnsetEnv ? `$${name}` : (value ?? "");
    }
    at++;
    const first = word.charAt(at);
    if (first === "" || first === "{" || first === "}" || first === ":") return undefined;
    const name = readName();
    if (word.charAt(at) !== "}") return undefined;
    at++;
    const value = getEnv(name);
    return value === undefined && skipUnsetEnv ? `\${${name}}` : (value ?? "");
  };
  /** processDoubleQuote: literal but for `$`; the escape token escapes `"`, `$` and itself. */
  const readDoubleQuoted = (): string | undefined => {
    at++;
    let text = rawQuotes ? '"' : "";
    for (;;) {
      if (at >= end) return undefined;
      const peeked = characterAt(word, at);
      if (peeked === '"') {
        at++;
        return rawQuotes ? `${text}"` : text;
      }
      if (peeked === "$") {
        const value = readDollar();
        if (value === undefined) return undefined;
        text += value;
        continue;
      }
      at += peeked.length;
      let ch = peeked;
      if (ch === escape) {
        if (rawEscapes) text += ch;
        if (at >= end) continue;
        const following = characterAt(word, at);
        if (following === '"' || following === "$" || following === escape) {
          ch = following;
          at += following.length;
        }
      }
      text += ch;
    }
  };
  /** The text a `$` gave: split at blanks into the words. */
  const addExpanded = (text: string): void => {
    let start = 0;
    for (const blanks of text.matchAll(goSpaceRuns)) {
      buffer += text.slice(start, blanks.index);
      if (buffer !== "") words.push(buffer);
      buffer = "";
      start = blanks.index + blanks[0].length;
    }
    buffer += text.slice(start);
  };

  while (at < end) {
    const ch = characterAt(word, at);
    if (ch === "$" || ch === '"' || ch === "'") {
      let text: string | undefined;
      if (ch === "'") {
        const close = word.indexOf("'", at + 1);
        if (close < 0) return undefined;
        text = rawQuotes ? word.slice(at, close + 1) : word.slice(at + 1, close);
        at = close + 1;
      } else {
        text = ch === "$" ? readDollar() : readDoubleQuoted();
        if (text === undefined) return undefined;
      }
      result += text;
      if (result.length > MAX_EXPANSION_LENGTH) return undefined;
      if (ch === "$") addExpanded(text);
      else buffer += text;
      continue;
    }
    if (ch === "<") return undefined;
    at += ch.length;
    if (ch === escape) {
      if (rawEscapes) {
        buffer += ch;
        result += ch;
      }
      if (at >= end) break;
      const escaped = characterAt(word, at);
      at += escaped.length;
      buffer += escaped;
      result += escaped;
      continue;
    }
    if (isGoSpaceCode(ch.charCodeAt(0))) {
      if (buffer !== "") words.push(buffer);
      buffer = "";
    } else {
      buffer += ch;
    }
    result += ch;
  }
  if (buffer !== "") words.push(buffer);
  return { value: result, words, matched, unmatched };
}

import type { Heredoc } from "./ast.js";
import { isRegexpSpace } from "./go/unicode.js";
import { LineSyntaxError } from "./parse-instruction-line.js";
import { splitHeredocWords } from "./split-heredoc-words.js";

/** A heredoc named on an instruction line, before its body is read. */
export type HeredocStart = Omit<Heredoc, "content">;

/** The largest value Go's `strconv.ParseUint(s, 10, 0)` returns, which it also returns on overflow. */
const MAX_UINT64 = 18_446_744_073_709_551_615n;

/**
 * The heredocs a line opens, in order (BuildKit `heredocsFromLine`): the line is split into words
 * by the shell lexer (escape always `\`, quotes and escapes kept, lexer errors meaning "none"), and
 * each word is matched against `^(\d*)<<(-?)\s*([^<]*)$`.
 *
 * @throws LineSyntaxError when a heredoc name has an unbalanced quote, with BuildKit's text.
 */
export function findHeredocs(line: string): HeredocStart[] {
  const lexed = splitHeredocWords(line, { rawQuotes: true, rawEscapes: true });
  if ("error" in lexed) return [];
  const heredocs: HeredocStart[] = [];
  for (const word of lexed.words) {
    const heredoc = parseHeredocWord(word);
    if (heredoc !== undefined) heredocs.push(heredoc);
  }
  return heredocs;
}

/** BuildKit `ParseHeredoc`, with its regular expression written out (it backtracks badly in JS). */
function parseHeredocWord(word: string): HeredocStart | undefined {
  let digitsEnd = 0;
  while (isAsciiDigit(word.charCodeAt(digitsEnd))) digitsEnd++;
  if (!word.startsWith("<<", digitsEnd)) return undefined;
  let nameStart = digitsEnd + 2;
  const chomp = word.charAt(nameStart) === "-";
  if (chomp) nameStart++;
  while (isRegexpSpace(word.charCodeAt(nameStart))) nameStart++;
  const rest = word.slice(nameStart);
  if (rest === "" || rest.includes("<")) return undefined;

  // Lexed with and without quotes: a quote anywhere in the name turns expansion off.
  const unquoted = lexHeredocName(rest, false);
  if (unquoted.length !== 1) return undefined;
  const raw = lexHeredocName(rest, true);
  const name = unquoted[0] ?? "";
  const rawName = raw[0];
  if (raw.length !== 1 || rawName === undefined) {
    throw new LineSyntaxError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  return {
    name,
    expand: countQuotes(name) === countQuotes(rawName),
    chomp,
    fd: parseFileDescriptor(word.slice(0, digitsEnd)),
  };
}

function lexHeredocName(rest: string, rawQuotes: boolean): string[] {
  const lexed = splitHeredocWords(rest, { rawQuotes, rawEscapes: false });
  if ("error" in lexed) throw new LineSyntaxError(lexed.error);
  return lexed.words;
}

function parseFileDescriptor(digits: string): number {
  if (digits === "") return 0;
  if (digits.length < 16) return Number(digits);
  const value = BigInt(digits);
  return Number(value > MAX_UINT64 ? MAX_UINT64 : value);
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x27 || code === 0x22) count++;
  }
  return count;
}

function isAsciiDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

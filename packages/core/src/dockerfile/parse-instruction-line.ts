import type { EscapeToken } from "./ast.js";
import { quoteGo } from "./go/strconv.js";
import { toLowerGo, trimGoSpace, trimLeftGoSpace } from "./go/strings.js";
import { isGoSpaceByte, isGoSpaceCode, splitOnGoSpaces } from "./go/unicode.js";
import { Utf8View } from "./go/utf8.js";
import { characterAt } from "./character-at.js";

/** One logical line split the way BuildKit's `newNodeFromLine` splits it; no position yet. */
export interface InstructionDraft {
  readonly keyword: string;
  readonly keywordAsWritten: string;
  readonly original: string;
  readonly flags: readonly string[];
  readonly args: readonly string[];
  readonly json: boolean;
  readonly trigger: InstructionDraft | undefined;
}

/** A parser error without a position; the caller knows the lines and wraps it. */
export class LineSyntaxError extends Error {}

/** BuildKit's `errDockerfileNotStringArray`. */
const NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only";

/** Go's `encoding/json` refuses documents nested deeper than this. */
const MAX_JSON_DEPTH = 10_000;

interface ParsedArgs {
  args: readonly string[];
  json: boolean;
}

type LineParser = (rest: string, escapeToken: EscapeToken) => ParsedArgs;

const NO_ARGS: ParsedArgs = { args: [], json: false };

// Shared by every instruction without flags; never written to.
const NO_FLAGS: string[] = [];

/** BuildKit's dispatch table (parser.go `init`); ONBUILD is handled by parseInstructionLine. */
const LINE_PARSERS: ReadonlyMap<string, LineParser> = new Map<string, LineParser>([
  ["add", parseMaybeJsonToList],
  ["arg", (rest, escapeToken) => ({ args: parseWords(rest, escapeToken), json: false })],
  ["cmd", parseMaybeJson],
  ["copy", parseMaybeJsonToList],
  ["entrypoint", parseMaybeJson],
  ["env", (rest, escapeToken) => parseNameValue(rest, "ENV", escapeToken)],
  ["expose", parseWhitespaceDelimited],
  ["from", parseWhitespaceDelimited],
  ["healthcheck", parseHealthcheck],
  ["label", (rest, escapeToken) => parseNameValue(rest, "LABEL", escapeToken)],
  ["maintainer", parseString],
  ["run", parseMaybeJson],
  ["shell", parseMaybeJson],
  ["stopsignal", parseString],
  ["user", parseString],
  ["volume", parseMaybeJsonToList],
  ["workdir", parseString],
]);

/** Unknown keywords are accepted here with one empty argument (BuildKit `parseIgnore`). */
const IGNORED: ParsedArgs = { args: [""], json: false };

/**
 * Splits one logical line into keyword, flags and arguments (BuildKit `newNodeFromLine`), parsing
 * an ONBUILD trigger as a line of its own.
 *
 * @throws LineSyntaxError with BuildKit's text, e.g. `ENV must have two arguments`.
 */
export function parseInstructionLine(line: string, escapeToken: EscapeToken): InstructionDraft {
  // `ONBUILD ONBUILD …` nests; a loop instead of recursion keeps deep chains off the call stack.
  let onbuilds: { split: SplitLine; original: string }[] | undefined;
  let original = line;
  for (;;) {
    const split = splitCommand(original, escapeToken);
    const keyword = lowerKeyword(split.keyword);
    if (keyword === "onbuild" && split.args !== "") {
      (onbuilds ??= []).push({ split, original });
      original = split.args;
      continue;
    }
    const parsed =
      keyword === "onbuild"
        ? NO_ARGS
        : (LINE_PARSERS.get(keyword)?.(split.args, escapeToken) ?? IGNORED);
    let draft: InstructionDraft = {
      keyword,
      keywordAsWritten: split.keyword,
      original,
      flags: split.flags,
      args: parsed.args,
      json: parsed.json,
      trigger: undefined,
    };
    for (let i = (onbuilds?.length ?? 0) - 1; i >= 0; i--) {
      const outer = onbuilds?.[i];
      if (outer === undefined) continue;
      draft = {
        keyword: "onbuild",
        keywordAsWritten: outer.split.keyword,
        original: outer.original,
        flags: outer.split.flags,
        args: [],
        json: false,
        trigger: draft,
      };
    }
    return draft;
  }
}

const KNOWN_KEYWORDS = [...LINE_PARSERS.keys(), "onbuild"];

/** The usual spellings of the known keywords, lower-cased once, so instructions share the strings. */
const LOWER_KEYWORDS: ReadonlyMap<string, string> = new Map(
  KNOWN_KEYWORDS.flatMap((keyword) => [
    [keyword, keyword],
    [keyword.toUpperCase(), keyword],
  ]),
);

function lowerKeyword(keyword: string): string {
  return LOWER_KEYWORDS.get(keyword) ?? toLowerGo(keyword);
}

interface SplitLine {
  keyword: string;
  flags: string[];
  args: string;
}

/** BuildKit `splitCommand`: keyword up to the first `[\t\v\f\r ]+`, then the flags, then the rest. */
function splitCommand(line: string, escapeToken: EscapeToken): SplitLine {
  const trimmed = trimGoSpace(line);
  let keywordEnd = 0;
  while (keywordEnd < trimmed.length && !isSplitSpace(trimmed.charCodeAt(keywordEnd))) {
    keywordEnd++;
  }
  if (keywordEnd === trimmed.length) return { keyword: trimmed, flags: NO_FLAGS, args: "" };
  let restStart = keywordEnd;
  while (isSplitSpace(trimmed.charCodeAt(restStart))) restStart++;
  const { rest, flags } = extractBuilderFlags(trimmed.slice(restStart), escapeToken);
  return { keyword: trimmed.slice(0, keywordEnd), flags, args: trimGoSpace(rest) };
}

/** BuildKit's `reWhitespace`, `[\t\v\f\r ]`: ASCII only, and no newline. */
function isSplitSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

const IN_SPACES = 0;
const IN_WORD = 1;
const IN_QUOTE = 2;

/**
 * BuildKit `extractBuilderFlags`: takes leading `--` words, quotes and escape tokens removed. Go
 * scans it byte by byte, so a non-ASCII byte becomes the Latin-1 character of the same value, and
 * bytes 0x85 and 0xA0 end a word; both quirks are kept.
 */
function extractBuilderFlags(
  line: string,
  escapeToken: EscapeToken,
): { rest: string; flags: string[] } {
  // `line` starts after a run of ASCII blanks, so a first character other than `-` ends the scan.
  if (!line.startsWith("--")) return { rest: line, flags: NO_FLAGS };
  // Bytes are characters while the text is ASCII; the UTF-8 view is only built when it is not.
  return (
    splitPlainFlags(line, escapeToken) ??
    scanBuilderFlags(new AsciiBytes(line), escapeToken) ??
    scanBuilderFlags(new Utf8Bytes(line), escapeToken) ?? { rest: "", flags: NO_FLAGS }
  );
}

/** ASCII blanks, and a flag word that needs the byte scan: a quote, escape or non-ASCII byte. */
const ASCII_BLANK = /[\t\n\v\f\r ]/g;
const NOT_PLAIN_FLAG = /[^\x21\x23-\x26\x28-\x7e]/;

/**
 * The scan of extractBuilderFlags for flag words that are plain ASCII without quotes or escape
 * token (nearly all): each flag is a slice of the line. Undefined when a flag word is not plain.
 */
function splitPlainFlags(
  line: string,
  escapeToken: EscapeToken,
): { rest: string; flags: string[] } | undefined {
  const flags: string[] = [];
  let start = 0;
  for (;;) {
    while (isAsciiBlank(line.charCodeAt(start))) start++;
    if (!line.startsWith("--", start)) return { rest: line.slice(start), flags };
    ASCII_BLANK.lastIndex = start;
    const end = ASCII_BLANK.test(line) ? ASCII_BLANK.lastIndex - 1 : line.length;
    const word = line.slice(start, end);
    if (NOT_PLAIN_FLAG.test(word) || word.includes(escapeToken)) return undefined;
    if (word === "--") return { rest: line.slice(end), flags };
    flags.push(word);
    if (end === line.length) return { rest: "", flags };
    start = end;
  }
}

/** The ASCII bytes Go's `unicode.IsSpace` accepts. */
function isAsciiBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** Byte access for the flag and HEALTHCHECK scans. */
interface ByteSource {
  /** The byte at `position`, undefined past the end, -1 when this source cannot tell (non-ASCII). */
  at(position: number): number | undefined;
  sliceFrom(position: number): string;
  sliceTo(position: number): string;
  /** Bytes `start..end` as Go's `WriteRune(rune(b))` writes them, one character per byte. */
  runes(start: number, end: number): string;
}

/** An ASCII string's bytes are its UTF-16 code units. */
class AsciiBytes implements ByteSource {
  constructor(private readonly text: string) {}

  at(position: number): number | undefined {
    if (position >= this.text.length) return undefined;
    const code = this.text.charCodeAt(position);
    return code < 0x80 ? code : -1;
  }

  sliceFrom(position: number): string {
    return this.text.slice(position);
  }

  sliceTo(position: number): string {
    return this.text.slice(0, position);
  }

  runes(start: number, end: number): string {
    return this.text.slice(start, end);
  }
}

/** A non-ASCII string, byte by byte. */
class Utf8Bytes extends Utf8View implements ByteSource {
  runes(start: number, end: number): string {
    let out = "";
    for (let position = start; position < end; position++) {
      out += String.fromCharCode(this.at(position) ?? 0);
    }
    return out;
  }
}

/**
 * A flag word being built from runs of kept bytes (quotes and escape tokens are left out), so
 * it is a few slices rather than one string per character.
 */
class WordBuilder {
  private text = "";
  private start = 0;
  private end = 0;

  constructor(private readonly bytes: ByteSource) {}

  /** Keeps the byte at `position`. */
  keep(position: number): void {
    if (position !== this.end) {
      this.flush();
      this.start = position;
    }
    this.end = position + 1;
  }

  /** The word so far, and starts a new one. */
  take(): string {
    this.flush();
    const word = this.text;
    this.text = "";
    return word;
  }

  /** Whether any byte was kept since the last take. */
  get isEmpty(): boolean {
    return this.text === "" && this.start === this.end;
  }

  /** Whether the word so far is exactly `--`. */
  isDoubleDash(): boolean {
    this.flush();
    return this.text === "--";
  }

  private flush(): void {
    if (this.end > this.start) this.text += this.bytes.runes(this.start, this.end);
    this.start = this.end;
  }
}

/** The scan of extractBuilderFlags; undefined when `bytes` met a byte it cannot give. */
function scanBuilderFlags(
  bytes: ByteSource,
  escapeToken: EscapeToken,
): { rest: string; flags: string[] } | undefined {
  const escape = escapeToken.charCodeAt(0);
  const flags: string[] = [];
  const word = new WordBuilder(bytes);
  let phase = IN_SPACES;
  let quote = 0;
  let blankOk = false;
  for (let position = 0; ; position++) {
    const byte = bytes.at(position);
    if (byte === -1) return undefined;
    if (phase === IN_SPACES) {
      if (byte === undefined) break;
      if (isGoSpaceByte(byte)) continue;
      const following = bytes.at(position + 1);
      if (following === -1) return undefined;
      if (byte !== 0x2d || following !== 0x2d) {
        return { rest: bytes.sliceFrom(position), flags };
      }
      phase = IN_WORD;
    }
    if (byte === undefined) {
      if (!word.isDoubleDash() && (blankOk || !word.isEmpty)) flags.push(word.take());
      break;
    }
    if (phase === IN_WORD) {
      if (isGoSpaceByte(byte)) {
        phase = IN_SPACES;
        if (word.isDoubleDash()) return { rest: bytes.sliceFrom(position), flags };
        if (blankOk || !word.isEmpty) flags.push(word.take());
        else word.take();
        blankOk = false;
        continue;
      }
      if (byte === 0x27 || byte === 0x22) {
        quote = byte;
        blankOk = true;
        phase = IN_QUOTE;
        continue;
      }
      if (byte === escape) {
        const following = bytes.at(position + 1);
        if (following === -1) return undefined;
        if (following === undefined) continue;
        position++;
      }
      word.keep(position);
      continue;
    }
    if (byte === quote) {
      phase = IN_WORD;
      continue;
    }
    if (byte === escape) {
      const following = bytes.at(position + 1);
      if (following === -1) return undefined;
      if (following === undefined) {
        phase = IN_WORD;
        continue;
      }
      position++;
    }
    word.keep(position);
  }
  return { rest: "", flags };
}

/** BuildKit `parseStringsWhitespaceDelimited` (FROM, EXPOSE; ADD/COPY/VOLUME outside JSON form). */
function parseWhitespaceDelimited(rest: string): ParsedArgs {
  if (rest === "") return NO_ARGS;
  return { args: rest.split(/[\t\v\f\r ]+/), json: false };
}

/** BuildKit `parseString` (MAINTAINER, USER, WORKDIR, STOPSIGNAL). */
function parseString(rest: string): ParsedArgs {
  return rest === "" ? NO_ARGS : { args: [rest], json: false };
}

/** BuildKit `parseMaybeJSON` (RUN, CMD, ENTRYPOINT, SHELL): a JSON array, else one string. */
function parseMaybeJson(rest: string): ParsedArgs {
  if (rest === "") return NO_ARGS;
  const array = parseJsonArray(rest);
  return array === undefined ? { args: [rest], json: false } : { args: array, json: true };
}

/** BuildKit `parseMaybeJSONToList` (ADD, COPY, VOLUME): a JSON array, else whitespace-split words. */
function parseMaybeJsonToList(rest: string): ParsedArgs {
  const array = parseJsonArray(rest);
  return array === undefined ? parseWhitespaceDelimited(rest) : { args: array, json: true };
}

/** BuildKit `parseHealthConfig`: the type word (found byte by byte), then JSON or one string. */
function parseHealthcheck(rest: string): ParsedArgs {
  return scanHealthcheck(new AsciiBytes(rest)) ?? scanHealthcheck(new Utf8Bytes(rest)) ?? NO_ARGS;
}

function scanHealthcheck(bytes: ByteSource): ParsedArgs | undefined {
  let separator = 0;
  let byte = bytes.at(0);
  for (; byte !== undefined && byte !== -1 && !isGoSpaceByte(byte); byte = bytes.at(separator)) {
    separator++;
  }
  let next = separator;
  for (; byte !== undefined && byte !== -1 && isGoSpaceByte(byte); byte = bytes.at(next)) next++;
  if (byte === -1) return undefined;
  if (separator === 0) return NO_ARGS;
  const command = parseMaybeJson(bytes.sliceFrom(next));
  return { args: [bytes.sliceTo(separator), ...command.args], json: command.json };
}

/**
 * BuildKit `parseJSON`: the elements of a JSON array of strings, or undefined when the text is not
 * one (the caller then falls back to shell form).
 *
 * @throws LineSyntaxError when it is a valid JSON array with a non-string element.
 */
function parseJsonArray(rest: string): string[] | undefined {
  const text = trimLeftGoSpace(rest);
  if (!text.startsWith("[")) return undefined;
  // Go's decoder rejects (so BuildKit falls back on) nesting deeper than 10,000 levels.
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const strings: string[] = [];
  for (const element of value as unknown[]) {
    if (typeof element !== "string") {
      // Go fails the whole decode on a number beyond float64 first: shell form, not an error.
      if (hasInfiniteNumber(value)) return undefined;
      throw new LineSyntaxError(NOT_STRING_ARRAY);
    }
    strings.push(replaceLoneSurrogates(element));
  }
  return strings;
}

/** Whether `[`/`{` nesting outside strings goes deeper than `limit`. */
function jsonDepthExceeds(text: string, limit: number): boolean {
  // Each level takes a character, so a text no longer than the limit cannot exceed it.
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}

function hasInfiniteNumber(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === "number" && !Number.isFinite(value)) return true;
    if (typeof value === "object" && value !== null) {
      for (const child of Object.values(value)) pending.push(child);
    }
  }
  return false;
}

/** Go's JSON decoder turns an unpaired `\uD800`-style escape into U+FFFD. */
function replaceLoneSurrogates(text: string): string {
  if (!/[\uD800-\uDFFF]/.test(text)) return text;
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}

const QUOTES = /['"]/;

/**
 * BuildKit `parseWords` (ARG, and ENV/LABEL's first pass): words split on Go spaces outside quotes;
 * quotes are kept, and so is the escape token with the character after it.
 */
function parseWords(rest: string, escapeToken: EscapeToken): string[] {
  // Without quotes and escape tokens the words are the runs of non-blanks: one native split.
  if (!rest.includes(escapeToken) && !QUOTES.test(rest)) {
    return splitOnGoSpaces(rest);
  }
  // Every character of a word is kept, so words are slices of `rest`; only an escape token at the
  // very end is dropped.
  const words: string[] = [];
  let phase = IN_SPACES;
  let quote = "";
  let blankOk = false;
  let start = 0;
  let end = 0;
  for (let position = 0; position < rest.length;) {
    const ch = characterAt(rest, position);
    const width = ch.length;
    if (phase === IN_SPACES) {
      if (isGoSpaceCode(ch.charCodeAt(0))) {
        position += width;
        continue;
      }
      phase = IN_WORD;
      start = position;
    }
    if (phase === IN_WORD) {
      if (isGoSpaceCode(ch.charCodeAt(0))) {
        phase = IN_SPACES;
        if (blankOk || position > start) words.push(rest.slice(start, position));
        blankOk = false;
        position += width;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = IN_QUOTE;
      }
      if (ch === escapeToken) {
        // Outside quotes the escape token and the character after it are both kept, even a quote.
        if (position + width === rest.length) {
          end = position;
          position += width;
          continue;
        }
        position += width;
        position += characterAt(rest, position).length;
        end = position;
        continue;
      }
      position += width;
      end = position;
      continue;
    }
    if (ch === quote) phase = IN_WORD;
    // Inside single quotes the escape token escapes nothing.
    if (ch === escapeToken && quote !== "'") {
      if (position + width === rest.length) {
        phase = IN_WORD;
        end = position;
        position += width;
        continue;
      }
      position += width;
      position += characterAt(rest, position).length;
      end = position;
      continue;
    }
    position += width;
    end = position;
  }
  if (phase !== IN_SPACES && (blankOk || end > start)) words.push(rest.slice(start, end));
  return words;
}

/**
 * BuildKit `parseNameVal` (ENV, LABEL): legacy `KEY value…` gives `[key, value, ""]`; otherwise
 * every word must be `name=value` and gives `[name, value, "="]`, quotes kept.
 */
function parseNameValue(rest: string, key: "ENV" | "LABEL", escapeToken: EscapeToken): ParsedArgs {
  const words = parseWords(rest, escapeToken);
  const first = words[0];
  if (first === undefined) return NO_ARGS;
  if (!first.includes("=")) {
    const match = /[\t\v\f\r ]+/.exec(rest);
    if (match === null) throw new LineSyntaxError(`${key} must have two arguments`);
    return {
      args: [rest.slice(0, match.index), rest.slice(match.index + match[0].length), ""],
      json: false,
    };
  }
  const args: string[] = [];
  for (const word of words) {
    const equals = word.indexOf("=");
    if (equals < 0) {
      throw new LineSyntaxError(
        `Syntax error - can't find = in ${quoteGo(word)}. Must be of the form: name=value`,
      );
    }
    args.push(word.slice(0, equals), word.slice(equals + 1), "=");
  }
  return { args, json: false };
}

import { DockerfileError, type SourcePosition } from "../errors.js";

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

/** An inner lexer error; wrapped with the word by expandShellWord, like BuildKit's errors.Wrapf. */
class ShellSyntaxError extends Error {}

/** A guard against hostile input: thrown past every handler, reported like a syntax error. */
class LimitError extends ShellSyntaxError {}

/**
 * How deep `${…}` words and double quotes may nest. BuildKit recurses without a limit (until Go's
 * 1 GB stack gives out); here the nesting lives on the heap (see runSteps), and the cap keeps the
 * memory (about 1 KB a level) and the time of a hostile word bounded. Real Dockerfiles nest a few.
 */
export const MAX_NESTING = 10_000;

/**
 * The longest text an expansion may produce (`${X//?/…}` nested, or ARG defaults doubling each
 * other, grow exponentially); past it V8 would throw a RangeError or run out of memory.
 */
export const MAX_EXPANSION_LENGTH = 2 ** 25;

function checkLength(text: string): void {
  if (text.length > MAX_EXPANSION_LENGTH) {
    throw new LimitError(`expansion longer than ${MAX_EXPANSION_LENGTH} characters`);
  }
}

/**
 * One step of the lexer: a generator that yields each nested step it needs (its value comes back
 * as the yield's result, or its error is thrown at the yield) and returns its own value.
 */
type Step<T> = Generator<Step<unknown>, T, unknown>;

/** Runs `step` as a nested step of the calling one: `const value = yield* call(step)`. */
function* call<T>(step: Step<T>): Generator<Step<unknown>, T, unknown> {
  return (yield step) as T;
}

/**
 * Runs a step and the steps it asks for on an explicit stack, so that deeply nested `${…}` words
 * never overflow the call stack; errors propagate through the steps' own try/catch/finally.
 */
function runSteps<T>(root: Step<T>): T {
  const stack: Step<unknown>[] = [root];
  let value: unknown;
  let error: { thrown: unknown } | undefined;
  for (;;) {
    const top = stack[stack.length - 1] ?? root;
    let next: IteratorResult<Step<unknown>, unknown>;
    try {
      next = error === undefined ? top.next(value) : top.throw(error.thrown);
    } catch (thrown) {
      stack.pop();
      if (stack.length === 0) throw thrown;
      value = undefined;
      error = { thrown };
      continue;
    }
    error = undefined;
    if (next.done === true) {
      stack.pop();
      if (stack.length === 0) return next.value as T;
      value = next.value;
    } else {
      stack.push(next.value);
      value = undefined;
    }
  }
}

/** Go's `text/scanner` returns EOF (-1) past the end; `string(rune(-1))` prints U+FFFD. */
const EOF = undefined;
type Char = string | typeof EOF;

function runeText(ch: Char): string {
  return ch ?? "\uFFFD";
}

/** The shared words buffer: BuildKit reuses one for nested `${…}` words (see processStopOn). */
interface TextBuffer {
  text: string;
}

class WordCollector {
  readonly words: string[] = [];
  private inWord = false;

  constructor(private readonly buffer: TextBuffer) {}

  addChar(ch: string): void {
    if (isGoSpace(ch)) {
      if (this.inWord && this.buffer.text.length !== 0) {
        this.words.push(this.buffer.text);
        this.buffer.text = "";
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.buffer.text += ch;
    this.inWord = true;
  }

  /** {@link addChar} for each character, a run of blanks or non-blanks at a time. */
  addString(text: string): void {
    let start = 0;
    for (const blanks of text.matchAll(goSpaceRuns)) {
      if (blanks.index > start) this.addRawString(text.slice(start, blanks.index));
      // A run of blanks ends the word in progress like its first blank does; the rest do nothing.
      this.addChar(" ");
      start = blanks.index + blanks[0].length;
    }
    if (start < text.length) this.addRawString(text.slice(start));
  }

  addRawString(text: string): void {
    this.buffer.text += text;
    this.inWord = true;
  }

  getWords(): string[] {
    if (this.buffer.text.length > 0) {
      this.words.push(this.buffer.text);
      this.buffer.text = "";
      this.inWord = false;
    }
    return this.words;
  }
}

/** A port of BuildKit's `shellWord` (frontend/dockerfile/shell/lex.go), one word at a time. */
class ShellWordLexer {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes = false;
  /** How many `processStopOn` / `processDoubleQuote` steps are running. */
  private nesting = 0;
  private readonly wordsBuffer: TextBuffer = { text: "" };
  private readonly escapeToken: string;
  private readonly rawQuotes: boolean;
  private readonly skipProcessQuotes: boolean;
  private readonly skipUnsetEnv: boolean;

  constructor(
    word: string,
    private readonly env: ShellEnv,
    options: ExpandWordOptions,
  ) {
    this.chars = scannerChars(word);
    this.escapeToken = options.escapeToken ?? "\\";
    this.rawQuotes = options.rawQuotes ?? false;
    this.skipProcessQuotes = options.skipProcessQuotes ?? false;
    this.skipUnsetEnv = options.skipUnsetEnv ?? false;
  }

  private peek(): Char {
    return this.chars[this.pos];
  }

  private next(): Char {
    const ch = this.chars[this.pos];
    if (ch !== EOF) this.pos++;
    return ch;
  }

  /** Counts a nested step in; past {@link MAX_NESTING} the whole expansion fails. */
  private enter(): void {
    if (++this.nesting > MAX_NESTING) {
      throw new LimitError(
        `syntax error: \${…} and quotes nested more than ${MAX_NESTING} levels deep`,
      );
    }
  }

  /**
   * BuildKit's `processStopOn`. Only the outermost call's words are used (nested `${…}` words
   * keep their text only), so nested calls skip splitting: that keeps deep nesting linear.
   */
  *processStopOn(
    stopChar: Char,
    rawEscapes: boolean,
    collectWords: boolean,
  ): Step<{ result: string; words: string[] }> {
    let result = "";
    // BuildKit quirk kept on purpose: every call, nested ones for `${X:-…}` included, resets the one
    // shared words buffer, so ProcessWords drops the part of a word read before a `${…}` modifier.
    // A nested call leaves the buffer empty when it returns, so skipping its words changes nothing.
    this.wordsBuffer.text = "";
    const words = collectWords ? new WordCollector(this.wordsBuffer) : undefined;
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      for (let ch = this.peek(); ch !== EOF; ch = this.peek()) {
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words?.getWords() ?? [] };
        }
        const special = this.specialHandler(ch);
        if (special !== undefined) {
          const text = yield* call(special);
          result += text;
          checkLength(result);
          if (ch === "$") words?.addString(text);
          else words?.addRawString(text);
          continue;
        }
        let current = this.next();
        if (current === this.escapeToken) {
          if (this.rawEscapes) {
            words?.addRawChar(current);
            result += current;
          }
          current = this.next();
          if (current === EOF) break;
          words?.addRawChar(current);
        } else if (current !== EOF) {
          words?.addChar(current);
        }
        result += runeText(current);
      }
      if (stopChar !== EOF) {
        throw new ShellSyntaxError(
          `unexpected end of statement while looking for matching ${stopChar}`,
        );
      }
      return { result, words: words?.getWords() ?? [] };
    } finally {
      this.rawEscapes = savedRawEscapes;
    }
  }

  /** Runs a nested `processStopOn` (a `${…}` word), whose words are not needed. */
  private *nestedWord(stopChar: string, rawEscapes: boolean): Step<{ result: string }> {
    this.enter();
    try {
      return yield* this.processStopOn(stopChar, rawEscapes, false);
    } finally {
      this.nesting--;
    }
  }

  private specialHandler(ch: string): Step<string> | undefined {
    switch (ch) {
      case "$":
        return this.processDollar();
      case "<":
        return done(this.processPossibleHeredoc());
      case "'":
        return this.skipProcessQuotes ? undefined : done(this.processSingleQuote());
      case '"':
        return this.skipProcessQuotes ? undefined : this.processDoubleQuote();
      default:
        return undefined;
    }
  }

  private processSingleQuote(): string {
    // Everything up to the next ' is literal; a single quote cannot be escaped inside.
    let result = "";
    const open = this.next();
    if (this.rawQuotes) result += runeText(open);
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw new ShellSyntaxError(
          "unexpected end of statement while looking for matching single-quote",
        );
      }
      if (ch === "'") {
        if (this.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private *processDoubleQuote(): Step<string> {
    // Literal except `$`; the escape token escapes only `"`, `$` and itself.
    this.enter();
    try {
      return yield* this.doubleQuoted();
    } finally {
      this.nesting--;
    }
  }

  private *doubleQuoted(): Step<string> {
    let result = "";
    const open = this.next();
    if (this.rawQuotes) result += runeText(open);
    for (;;) {
      const peeked = this.peek();
      if (peeked === EOF) {
        throw new ShellSyntaxError(
          "unexpected end of statement while looking for matching double-quote",
        );
      }
      if (peeked === '"') {
        this.next();
        if (this.rawQuotes) result += peeked;
        return result;
      }
      if (peeked === "$") {
        result += yield* call(this.processDollar());
        checkLength(result);
        continue;
      }
      let ch = this.next() ?? "";
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch;
        const following = this.peek();
        if (following === EOF) continue;
        if (following === '"' || following === "$" || following === this.escapeToken) {
          ch = this.next() ?? "";
        }
      }
      result += ch;
    }
  }

  private *processDollar(): Step<string> {
    this.next();
    if (this.peek() !== "{") {
      const name = this.processName();
      if (name === "") return "$";
      const value = this.getEnv(name);
      if (value === undefined && this.skipUnsetEnv) return "$" + name;
      return value ?? "";
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") {
      throw new ShellSyntaxError("syntax error: bad substitution");
    }
    const name = this.processName();
    let ch = this.next();
    let modifier = runeText(ch);
    let nullIsUnset = false;

    if (ch === "}") {
      const value = this.getEnv(name);
      if (value === undefined && this.skipUnsetEnv) return `\${${name}}`;
      return value ?? "";
    }
    if (ch === "/") return yield* this.processReplacement(name);
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      modifier += runeText(ch);
    } else if (ch !== "+" && ch !== "-" && ch !== "?" && ch !== "#" && ch !== "%") {
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }

    const rawEscapes = ch === "#" || ch === "%";
    if (nullIsUnset && rawEscapes) {
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
    let word: string;
    try {
      word = (yield* call(this.nestedWord("}", rawEscapes))).result;
    } catch (error) {
      if (error instanceof LimitError) throw error;
      if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
      throw error;
    }

    const value = this.getEnv(name);
    if (value === undefined && this.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === "");

    const operator = ch ?? "";
    switch (operator) {
      case "-":
        return unset ? word : value;
      case "+":
        return unset ? "" : word;
      case "?":
        if (value === undefined) {
          throw new ShellSyntaxError(
            `${name}: ${word === "" ? "is not allowed to be unset" : word}`,
          );
        }
        if (nullIsUnset && value === "") {
          throw new ShellSyntaxError(
            `${name}: ${word === "" ? "is not allowed to be empty" : word}`,
          );
        }
        return value;
      case "#":
      case "%": {
        // One `#`/`%` trims the shortest match, two the longest.
        const greedy = word.startsWith(operator);
        const pattern = greedy ? word.slice(1) : word;
        return operator === "%"
          ? trimSuffix(pattern, value ?? "", greedy)
          : trimPrefix(pattern, value ?? "", greedy);
      }
      default:
        throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private *processReplacement(name: string): Step<string> {
    const replaceAll = this.peek() === "/";
    if (replaceAll) this.next();
    let pattern: string;
    try {
      pattern = (yield* call(this.nestedWord("/", true))).result;
    } catch (error) {
      if (error instanceof LimitError) throw error;
      if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '/' in ${}");
      throw error;
    }
    let replacement: string;
    try {
      replacement = (yield* call(this.nestedWord("}", true))).result;
    } catch (error) {
      if (error instanceof LimitError) throw error;
      if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
      throw error;
    }
    const value = this.getEnv(name);
    if (value === undefined && this.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const regex = compilePattern(pattern, true, false);
    const subject = value ?? "";
    if (replaceAll) return replaceAllGo(regex, subject, replacement);
    const match = regex.exec(subject);
    if (match === null) return subject;
    // Go's non-global path splices the replacement in literally (no `$` expansion).
    const replaced =
      subject.slice(0, match.index) + replacement + subject.slice(match.index + match[0].length);
    checkLength(replaced);
    return replaced;
  }

  private processName(): string {
    // A name is letters, digits and `_`; a leading digit run or one special parameter ends it.
    let name = "";
    for (let ch = this.peek(); ch !== EOF; ch = this.peek()) {
      if (name === "" && isGoDigit(ch)) {
        for (let digit = this.peek(); digit !== EOF && isGoDigit(digit); digit = this.peek()) {
          name += digit;
          this.next();
        }
        return name;
      }
      if (name === "" && isSpecialParam(ch)) {
        this.next();
        return ch;
      }
      if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== "_") break;
      name += ch;
      this.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== "<") return "<";
    this.next();
    // A heredoc may have blanks between `<<` and its name; they stay in the same word.
    let space = "";
    for (let ch = this.peek(); ch === "\t" || ch === "\r" || ch === " "; ch = this.peek()) {
      space += ch;
      this.next();
    }
    return "<<" + space;
  }

  private getEnv(name: string): string | undefined {
    const value = lookupEnv(this.env, name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }
}

/** A step that needs no nested step: its value, already computed. */
// eslint-disable-next-line require-yield
function* done<T>(value: T): Step<T> {
  return value;
}

function lookupEnv(env: ShellEnv, name: string): string | undefined {
  if (env instanceof Map) return (env as ReadonlyMap<string, string>).get(name);
  const record = env as Readonly<Record<string, string>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Code points as Go's text/scanner yields them: a byte-order mark at the very start is skipped. */
function scannerChars(text: string): string[] {
  const chars = Array.from(text);
  if (chars[0] === "\uFEFF") chars.shift();
  return chars;
}

function isSpecialParam(ch: string): boolean {
  return "@*#?-$!0".includes(ch);
}

/** Runs of the characters {@link isGoSpace} accepts. */
const goSpaceRuns = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/g;

/** Go `unicode.IsSpace` (not JavaScript's `\s`, which adds U+FEFF and lacks U+0085). */
export function isGoSpace(ch: string): boolean {
  switch (ch) {
    case "\t":
    case "\n":
    case "\v":
    case "\f":
    case "\r":
    case " ":
    case "\u0085":
    case "\u00A0":
    case "\u1680":
    case "\u2028":
    case "\u2029":
    case "\u202F":
    case "\u205F":
    case "\u3000":
      return true;
    default:
      return ch >= "\u2000" && ch <= "\u200A";
  }
}

const letterPattern = /^\p{L}$/u;
const digitPattern = /^\p{Nd}$/u;

function isGoLetter(ch: string): boolean {
  return letterPattern.test(ch);
}

function isGoDigit(ch: string): boolean {
  return digitPattern.test(ch);
}

/**
 * BuildKit's `convertShellPatternToRegex`: `*` and `?` are wildcards, `\` escapes `*`, `?`, `\`
 * (and is dropped before `}` and `/`), no bracket expressions. Go's `.` never matches a newline.
 */
function compilePattern(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = scannerChars(pattern);
  let source = anchored ? "^" : "";
  const star = greedy ? "[^\\n]*" : "[^\\n]*?";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? "";
    switch (ch) {
      case "*":
        source += star;
        break;
      case "?":
        source += "[^\\n]";
        break;
      case "\\": {
        const following = chars[i + 1];
        if (following === "}" || following === "/") break;
        i++;
        if (following !== "*" && following !== "?" && following !== "\\") {
          throw new ShellSyntaxError(
            `invalid pattern (${pattern}) in substitution: invalid escape '\\${runeText(following)}'`,
          );
        }
        source += "\\" + following;
        break;
      }
      case "[":
      case "]":
      case "{":
      case "}":
      case ".":
      case "+":
      case "(":
      case ")":
      case "|":
      case "^":
      case "$":
        source += "\\" + ch;
        break;
      default:
        source += ch;
    }
  }
  return new RegExp(source, "gu");
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const regex = compilePattern(pattern, greedy, true);
  const match = regex.exec(value);
  return match === null ? value : value.slice(match.index + match[0].length);
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // A regular expression cannot find the shortest rightmost match, so BuildKit reverses both the
  // value and the pattern (keeping `\x` escapes in order) and trims a prefix instead.
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function reverseString(text: string): string {
  return Array.from(text).reverse().join("");
}

function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last;) {
    const ch = chars[i] ?? "";
    if (ch === "\\" && i !== last) {
      out[last - i - 1] = ch;
      out[last - i] = chars[i + 1] ?? "";
      i += 2;
    } else {
      out[last - i] = ch;
      i++;
    }
  }
  return out.join("");
}

/** Go's `Regexp.ReplaceAllString`: its empty-match rules and `$0`/`${0}`/`$$` template expansion. */
function replaceAllGo(regex: RegExp, subject: string, template: string): string {
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= subject.length) {
    regex.lastIndex = searchPos;
    const match = regex.exec(subject);
    if (match === null) break;
    const start = match.index;
    const end = start + match[0].length;
    out += subject.slice(lastMatchEnd, start);
    // No replacement for an empty match right after another match.
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(template, match[0]);
    checkLength(out);
    lastMatchEnd = end;
    const width =
      searchPos < subject.length ? ((subject.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + subject.slice(lastMatchEnd);
}

function expandGoTemplate(template: string, whole: string): string {
  let out = "";
  let rest = template;
  for (let dollar = rest.indexOf("$"); dollar >= 0; dollar = rest.indexOf("$")) {
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith("$")) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    const reference = extractTemplateName(rest);
    if (reference === undefined) {
      out += "$";
      continue;
    }
    rest = reference.rest;
    // The pattern has no groups: only `$0` (the whole match) expands; other names are empty.
    if (reference.group === 0) out += whole;
  }
  return out + rest;
}

function extractTemplateName(text: string): { group: number; rest: string } | undefined {
  const brace = text.startsWith("{");
  const body = brace ? text.slice(1) : text;
  let name = "";
  for (const ch of body) {
    if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== "_") break;
    name += ch;
  }
  if (name === "") return undefined;
  let consumed = name.length;
  if (brace) {
    if (body[consumed] !== "}") return undefined;
    consumed++;
  }
  let group = /^[0-9]+$/.test(name) && name.length <= 9 ? Number(name) : -1;
  if (name.startsWith("0") && name.length > 1) group = -1;
  return { group, rest: body.slice(consumed) };
}

/** Go's `strconv.Quote`, which BuildKit's `%q` uses in its messages. */
export function quoteGo(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (ch === " " || printablePattern.test(ch)) out += ch;
    else if (code < 0x80) out += "\\x" + code.toString(16).padStart(2, "0");
    else if (code >= 0xd800 && code <= 0xdfff) out += "\\ufffd";
    else if (code < 0x10000) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += "\\U" + code.toString(16).padStart(8, "0");
  }
  return out + '"';
}

const printablePattern = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

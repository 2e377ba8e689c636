import { replaceAllGo } from "./go/regexp.js";
import { runeText, scannerChars } from "./go/text-scanner.js";
import { goSpaceRuns, isGoDigit, isGoLetter, isGoSpaceCode } from "./go/unicode.js";
import type { ExpandWordOptions, ShellEnv } from "./expand-words.js";
import { call, done, type Step } from "./run-steps.js";
import { compilePattern, trimPrefix, trimSuffix } from "./shell-pattern.js";
import { checkLength, LimitError, MAX_NESTING, ShellSyntaxError } from "./shell-syntax-error.js";

/** Go's `text/scanner` returns EOF (-1) past the end; `string(rune(-1))` prints U+FFFD. */
const EOF = undefined;
type Char = string | typeof EOF;

/** The shared words buffer: BuildKit reuses one for nested `${…}` words (see processStopOn). */
interface TextBuffer {
  text: string;
}

class WordCollector {
  readonly words: string[] = [];
  private inWord = false;

  constructor(private readonly buffer: TextBuffer) {}

  addChar(ch: string): void {
    if (isGoSpaceCode(ch.charCodeAt(0))) {
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
export class ShellWordLexer {
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
    if (replaceAll) return replaceAllGo(regex, subject, replacement, checkLength);
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

/** A variable of `env`, or undefined when it is unset. */
export function lookupEnv(env: ShellEnv, name: string): string | undefined {
  if (env instanceof Map) return (env as ReadonlyMap<string, string>).get(name);
  const record = env as Readonly<Record<string, string>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function isSpecialParam(ch: string): boolean {
  return "@*#?-$!0".includes(ch);
}

import { quoteGo } from "./go/strconv.js";
import { runeText } from "./go/text-scanner.js";
import { isGoDigit, isGoLetter, isGoSpaceCode, splitOnGoSpaces } from "./go/unicode.js";

/** How BuildKit's parser configures `shell.Lex` when it looks for heredocs. */
export interface HeredocLexOptions {
  /** Keep quote characters (BuildKit `RawQuotes`). */
  readonly rawQuotes: boolean;
  /** Keep escape characters (BuildKit `RawEscapes`). */
  readonly rawEscapes: boolean;
}

/** The words, or BuildKit's error text (`failed to process "…": …`). */
export type HeredocLexResult = { words: string[] } | { error: string };

const EOF = "";
const ESCAPE = "\\";

/**
 * BuildKit `shell.Lex.ProcessWords` with escape `\`, no variables and `SkipUnsetEnv`, the way its
 * parser splits lines and heredoc names. Every `$…`/`${…}` comes out as written, and BuildKit's
 * quirks are kept: a nested `${X:-…}` word drops the part of the current word read before it, and
 * the text a `$` expression returns is split again at blanks.
 *
 * Unlike expandWords this never recurses and stays linear: nested `${…}` words are kept on an
 * explicit stack, and their word lists (which BuildKit throws away) are never built.
 */
export function splitHeredocWords(text: string, options: HeredocLexOptions): HeredocLexResult {
  // Without `$`, quotes, escapes and blanks glued to a `<<`, the lexer only splits at blanks.
  if (!NOT_PLAIN.test(text)) return { words: splitOnGoSpaces(text) };
  try {
    return { words: new HeredocLexer(text, options).run() };
  } catch (error) {
    if (error instanceof LexError)
      return { error: `failed to process ${quoteGo(text)}: ${error.message}` };
    throw error;
  }
}

/** What makes the lexer do more than split: see {@link splitHeredocWords}. */
const NOT_PLAIN = /^\uFEFF|[$'"\\]|<<[\t\r ]/;

class LexError extends Error {}

/** A `processStopOn` in progress; `owner` is the `${…}` that asked for it (none at the bottom). */
interface WordFrame {
  readonly kind: "word";
  readonly stop: string;
  readonly rawEscapes: boolean;
  result: string;
  readonly owner: DollarOwner | undefined;
}

/** A `processDoubleQuote` in progress. */
interface QuoteFrame {
  readonly kind: "quote";
  readonly rawEscapes: boolean;
  result: string;
}

interface DollarOwner {
  readonly name: string;
  /** The modifier as written (`:-`, `+`, …), or `/` for a replacement. */
  readonly modifier: string;
  readonly phase: "modifier" | "pattern" | "replacement";
  readonly pattern: string;
}

type Frame = WordFrame | QuoteFrame;

class HeredocLexer {
  private position: number;
  private readonly stack: Frame[];
  // The words of the bottom `processStopOn`, the only ones BuildKit keeps.
  private readonly words: string[] = [];
  private buffer = "";
  private inWord = false;
  /** Set when a nested word started: BuildKit's shared words buffer was reset under the caller. */
  private bufferReset = false;

  constructor(
    private readonly text: string,
    private readonly options: HeredocLexOptions,
  ) {
    // Go's text/scanner skips a byte-order mark at the very start.
    this.position = text.startsWith("\uFEFF") ? 1 : 0;
    this.stack = [
      { kind: "word", stop: EOF, rawEscapes: options.rawEscapes, result: "", owner: undefined },
    ];
  }

  run(): string[] {
    try {
      for (;;) {
        const frame = this.stack[this.stack.length - 1];
        if (frame === undefined) break;
        if (frame.kind === "quote") {
          this.stepQuote(frame);
        } else if (this.stepWord(frame)) {
          break;
        }
      }
    } catch (error) {
      if (error instanceof LexError) throw this.convertError(error);
      throw error;
    }
    if (this.buffer.length > 0) this.words.push(this.buffer);
    return this.words;
  }

  /** One step of `processStopOn`; true when the bottom frame reached the end of the text. */
  private stepWord(frame: WordFrame): boolean {
    const ch = this.peek();
    if (ch === EOF) {
      if (frame.owner === undefined) return true;
      throw new LexError(`unexpected end of statement while looking for matching ${frame.stop}`);
    }
    if (frame.owner !== undefined && ch === frame.stop) {
      this.next();
      this.stack.pop();
      this.finishNestedWord(frame.owner, frame.result);
      return false;
    }
    switch (ch) {
      case "$":
        this.startDollar();
        return false;
      case "<":
        this.deliver(this.processPossibleHeredoc(), false);
        return false;
      case "'":
        this.deliver(this.processSingleQuote(), false);
        return false;
      case '"': {
        this.next();
        this.stack.push({
          kind: "quote",
          rawEscapes: frame.rawEscapes,
          result: this.options.rawQuotes ? '"' : "",
        });
        return false;
      }
    }
    // Only nested words need their text; only the bottom one needs its words.
    const bottom = frame.owner === undefined;
    let current = this.next();
    if (current === ESCAPE) {
      if (frame.rawEscapes) {
        if (bottom) this.addRawChar(current);
        else frame.result += current;
      }
      current = this.next();
      if (current === EOF) return false;
      if (bottom) this.addRawChar(current);
    } else if (bottom) {
      this.addChar(current);
    }
    if (!bottom) frame.result += current;
    return false;
  }

  /** One step of `processDoubleQuote`. */
  private stepQuote(frame: QuoteFrame): void {
    const peeked = this.peek();
    if (peeked === EOF) {
      throw new LexError("unexpected end of statement while looking for matching double-quote");
    }
    if (peeked === '"') {
      this.next();
      if (this.options.rawQuotes) frame.result += peeked;
      this.stack.pop();
      this.deliver(frame.result, false);
      return;
    }
    if (peeked === "$") {
      this.startDollar();
      return;
    }
    let ch = this.next();
    if (ch === ESCAPE) {
      if (frame.rawEscapes) frame.result += ch;
      const following = this.peek();
      if (following === EOF) return;
      if (following === '"' || following === "$" || following === ESCAPE) ch = this.next();
    }
    frame.result += ch;
  }

  /** `processDollar` up to its first nested word; `$x`, `${x}` and `$` are delivered at once. */
  private startDollar(): void {
    this.next();
    if (this.peek() !== "{") {
      const name = this.processName();
      this.deliver(name === "" ? "$" : "$" + name, true);
      return;
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") {
      throw new LexError("syntax error: bad substitution");
    }
    const name = this.processName();
    let ch = this.next();
    let modifier = runeText(ch);
    switch (ch) {
      case "}":
        this.deliver(`\${${name}}`, true);
        return;
      case "/": {
        if (this.peek() === "/") this.next();
        this.pushWord("/", true, { name, modifier: "/", phase: "pattern", pattern: "" });
        return;
      }
      case ":":
      case "+":
      case "-":
      case "?":
      case "#":
      case "%": {
        const nullIsUnset = ch === ":";
        if (nullIsUnset) {
          ch = this.next();
          modifier += runeText(ch);
        }
        const rawEscapes = ch === "#" || ch === "%";
        if (nullIsUnset && rawEscapes) {
          throw new LexError(`unsupported modifier (${modifier}) in substitution`);
        }
        this.pushWord("}", rawEscapes, { name, modifier, phase: "modifier", pattern: "" });
        return;
      }
      default:
        throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private pushWord(stop: string, rawEscapes: boolean, owner: DollarOwner): void {
    this.bufferReset = true;
    this.stack.push({ kind: "word", stop, rawEscapes, result: "", owner });
  }

  /** The rest of `processDollar` once a nested word is read: with no variables, the text as written. */
  private finishNestedWord(owner: DollarOwner, word: string): void {
    switch (owner.phase) {
      case "modifier":
        this.deliver(`\${${owner.name}${owner.modifier}${word}}`, true);
        return;
      case "pattern":
        this.pushWord("}", true, { ...owner, phase: "replacement", pattern: word });
        return;
      case "replacement":
        this.deliver(`\${${owner.name}/${owner.pattern}/${word}}`, true);
        return;
    }
  }

  /** Hands a special handler's text to the frame that called it, as `processStopOn` does. */
  private deliver(text: string, fromDollar: boolean): void {
    const frame = this.stack[this.stack.length - 1];
    if (frame === undefined) return;
    if (frame.kind === "quote" || frame.owner !== undefined) {
      frame.result += text;
      return;
    }
    this.applyBufferReset();
    if (!fromDollar) {
      this.buffer += text;
      this.inWord = true;
      return;
    }
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (isGoSpaceCode(code)) {
        this.endWord();
      } else {
        this.buffer += text.charAt(i);
        this.inWord = true;
      }
    }
  }

  private processSingleQuote(): string {
    const raw = this.options.rawQuotes;
    const open = this.next();
    let result = raw ? open : "";
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw new LexError("unexpected end of statement while looking for matching single-quote");
      }
      if (ch === "'") return raw ? result + ch : result;
      result += ch;
    }
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== "<") return "<";
    this.next();
    let result = "<<";
    for (let ch = this.peek(); ch === "\t" || ch === "\r" || ch === " "; ch = this.peek()) {
      result += this.next();
    }
    return result;
  }

  private processName(): string {
    let name = "";
    for (let ch = this.peek(); ch !== EOF; ch = this.peek()) {
      if (name === "" && isGoDigit(ch)) {
        while (this.peek() !== EOF && isGoDigit(this.peek())) name += this.next();
        return name;
      }
      if (name === "" && "@*#?-$!0".includes(ch)) return this.next();
      if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== "_") break;
      name += this.next();
    }
    return name;
  }

  private addChar(ch: string): void {
    if (isGoSpaceCode(ch.charCodeAt(0))) this.endWord();
    else this.addRawChar(ch);
  }

  private addRawChar(ch: string): void {
    this.applyBufferReset();
    this.buffer += ch;
    this.inWord = true;
  }

  private applyBufferReset(): void {
    if (this.bufferReset) {
      this.buffer = "";
      this.bufferReset = false;
    }
  }

  private endWord(): void {
    this.applyBufferReset();
    if (this.inWord && this.buffer.length !== 0) {
      this.words.push(this.buffer);
      this.buffer = "";
      this.inWord = false;
    }
  }

  /**
   * An error leaving a nested word at the end of the text is reported by each enclosing `${…}` as
   * a missing `}` (or `/` while reading a pattern); the outermost one's text wins.
   */
  private convertError(error: LexError): LexError {
    if (this.peek() !== EOF) return error;
    for (const frame of this.stack) {
      if (frame.kind === "word" && frame.owner !== undefined) {
        return new LexError(
          frame.owner.phase === "pattern"
            ? "syntax error: missing '/' in ${}"
            : "syntax error: missing '}'",
        );
      }
    }
    return error;
  }

  /** The code point at the position, "" at the end (Go's scanner.EOF). */
  private peek(): string {
    const text = this.text;
    const code = text.charCodeAt(this.position);
    if (Number.isNaN(code)) return EOF;
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(this.position + 1);
      if (low >= 0xdc00 && low <= 0xdfff) return text.slice(this.position, this.position + 2);
    }
    return text.charAt(this.position);
  }

  private next(): string {
    const ch = this.peek();
    this.position += ch.length;
    return ch;
  }
}

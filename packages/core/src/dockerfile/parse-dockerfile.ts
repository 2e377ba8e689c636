import { DockerfileError } from "../errors.js";
import type {
  DirectiveName,
  DockerfileAst,
  DockerfileInstruction,
  EscapeToken,
  Heredoc,
  ParserDirective,
  ParserWarning,
  SourceRange,
} from "./ast.js";
import { findHeredocs } from "./find-heredocs.js";
import { trimGoSpace, trimLeftGoSpace } from "./go/strings.js";
import { isGoSpaceCode, isRegexpSpace } from "./go/unicode.js";
import { dropFirstByte, utf8LengthExceeds } from "./go/utf8.js";
import {
  LineSyntaxError,
  parseInstructionLine,
  type InstructionDraft,
} from "./parse-instruction-line.js";

/** BuildKit reads lines with a `bufio.Scanner`, whose buffer holds at most 64 KiB with the `\n`. */
const MAX_LINE_BYTES = 65_535;

const HEREDOC_KEYWORDS: ReadonlySet<string> = new Set(["add", "copy", "run"]);

// Shared by every instruction without comments or heredocs; never written to.
const NO_COMMENTS: string[] = [];
const NO_HEREDOCS: readonly Heredoc[] = [];

/**
 * Parses a Dockerfile the way BuildKit's `parser.Parse` does: directives, comments, continuations,
 * heredocs, and each instruction split into keyword, flags and raw arguments. Unknown instructions
 * are accepted; variables are not expanded.
 *
 * @example
 * const ast = parseDockerfile("FROM alpine AS build\nRUN make\n");
 * ast.children[0]?.args; // ["alpine", "AS", "build"]
 * @throws DockerfileError (`DOCKERFILE_SYNTAX`) with BuildKit's text, e.g. `file with no instructions`.
 */
export function parseDockerfile(text: string): DockerfileAst {
  return new DockerfileParser(text).parse();
}

class DockerfileParser {
  private readonly lines: LineScanner;
  private escapeToken: EscapeToken = "\\";
  private readonly directives: ParserDirective[] = [];
  private directivesDone = false;
  private readonly children: DockerfileInstruction[] = [];
  private readonly warnings: ParserWarning[] = [];
  private comments: string[] = NO_COMMENTS;

  constructor(text: string) {
    this.lines = new LineScanner(text);
  }

  parse(): DockerfileAst {
    const lines = this.lines;
    for (let raw = lines.next(); raw !== undefined; raw = lines.next()) {
      // Only the first line can start with a byte-order mark.
      const physical = lines.lineNumber === 1 && raw.startsWith("\uFEFF") ? raw.slice(1) : raw;
      if (isComment(physical)) this.recordComment(physical);
      const token = trimLeftGoSpace(trimNewline(physical));
      if (!this.directivesDone) this.readDirective(token, lines.lineNumber);
      this.readInstruction(physical, token, lines.lineNumber);
    }
    const first = this.children[0];
    const last = this.children.at(-1);
    if (first === undefined || last === undefined) {
      throw this.lineError("file with no instructions", Math.max(1, lines.lineNumber), {
        hint: "A Dockerfile needs at least one instruction, usually starting with FROM.",
      });
    }
    if (lines.tooLongLine !== undefined) throw this.tooLongError(lines.tooLongLine);
    return {
      escapeToken: this.escapeToken,
      directives: this.directives,
      warnings: this.warnings,
      children: this.children,
      range: { start: first.range.start, end: last.range.end },
    };
  }

  /** BuildKit keeps the comment lines before an instruction as its `PrevComment`. */
  private recordComment(physical: string): void {
    // Quirk kept: BuildKit drops the first *byte* of the line, not the `#`, so `  # x` gives `# x`.
    const comment = trimGoSpace(dropFirstByte(physical));
    if (comment === "") this.comments = NO_COMMENTS;
    else if (this.comments === NO_COMMENTS) this.comments = [comment];
    else this.comments.push(comment);
  }

  /** BuildKit `DirectiveParser.ParseLine`: directives only until the first other line. */
  private readDirective(token: string, lineNumber: number): void {
    const directive = token.startsWith("#")
      ? matchDirective(trimLeftGoSpace(token.slice(1)))
      : undefined;
    if (directive === undefined) {
      this.directivesDone = true;
      return;
    }
    if (this.directives.some((seen) => seen.name === directive.name)) {
      throw this.lineError(`only one ${directive.name} parser directive can be used`, lineNumber);
    }
    this.directives.push({ ...directive, line: lineNumber });
    // A directive line is not a comment of the instruction that follows.
    this.comments = this.comments.slice(0, -1);
    if (directive.name === "escape") {
      if (directive.value !== "\\" && directive.value !== "`") {
        throw this.lineError(
          `invalid escape token '${directive.value}' does not match \` or \\`,
          lineNumber,
          { hint: 'Use "# escape=\\" (the default) or "# escape=`".' },
        );
      }
      this.escapeToken = directive.value;
    }
  }

  /**
   * Reads the instruction starting on this line (`firstToken` is the line left-trimmed), with its
   * continuation lines and heredoc bodies; blank and comment lines give nothing.
   */
  private readInstruction(firstPhysical: string, firstToken: string, startLine: number): void {
    const lines = this.lines;
    const firstText = isComment(firstToken) ? "" : firstToken;
    const firstCut = continuationCut(firstText, this.escapeToken);
    if (firstCut < 0 && firstText === "") return;
    let line = firstCut < 0 ? firstText : firstText.slice(0, firstCut);
    let continues = firstCut >= 0;
    let hasEmptyContinuationLine = false;
    let lastPhysical = firstPhysical;
    while (continues) {
      const raw = lines.next();
      if (raw === undefined) break;
      lastPhysical = raw;
      // Comment lines inside a continuation are dropped, even ones ending in the escape token.
      if (isComment(raw)) continue;
      const token = trimNewline(raw);
      if (trimLeftGoSpace(token) === "") {
        hasEmptyContinuationLine = true;
        continue;
      }
      const cut = continuationCut(token, this.escapeToken);
      line += cut < 0 ? token : token.slice(0, cut);
      continues = cut >= 0;
    }
    if (hasEmptyContinuationLine) {
      this.warnings.push({
        message: `Empty continuation line found in: ${line}`,
        line: lines.lineNumber,
      });
    }

    const start = {
      line: startLine,
      column: trimNewline(firstPhysical).length - firstToken.length + 1,
    };
    let draft: InstructionDraft;
    let heredocs: readonly Heredoc[] = NO_HEREDOCS;
    try {
      draft = parseInstructionLine(line, this.escapeToken);
      if (canContainHeredoc(draft) && line.includes("<<")) {
        const starts = findHeredocs(line);
        if (starts.length > 0) {
          heredocs = starts.map((heredoc) => {
            const body = this.readHeredocBody(heredoc.name, heredoc.chomp, start);
            lastPhysical = body.lastPhysical;
            return { ...heredoc, content: body.content };
          });
        }
      }
    } catch (error) {
      if (error instanceof LineSyntaxError) {
        throw new DockerfileError("DOCKERFILE_SYNTAX", error.message, start);
      }
      throw error;
    }

    const range: SourceRange = {
      start,
      end: { line: lines.lineNumber, column: trimNewline(lastPhysical).length + 1 },
    };
    this.children.push(finishInstruction(draft, range, heredocs, this.comments));
    this.comments = NO_COMMENTS;
  }

  /** Reads raw lines up to the terminator; no comments, continuations or directives inside. */
  private readHeredocBody(
    name: string,
    chomp: boolean,
    start: { line: number; column: number },
  ): { content: string; lastPhysical: string } {
    const lines = this.lines;
    let content = "";
    for (let raw = lines.next(); raw !== undefined; raw = lines.next()) {
      let candidate = trimNewline(raw);
      if (chomp) candidate = trimLeadingTabs(candidate);
      if (candidate === name) return { content, lastPhysical: raw };
      content += lines.hadNewline ? raw + "\n" : raw;
    }
    throw new DockerfileError("DOCKERFILE_SYNTAX", "unterminated heredoc", start, {
      hint: `End the heredoc with a line that holds only ${JSON.stringify(name)}.`,
    });
  }

  private lineError(
    message: string,
    line: number,
    options: { hint?: string } = {},
  ): DockerfileError {
    return new DockerfileError("DOCKERFILE_SYNTAX", message, { line, column: 1 }, options);
  }

  private tooLongError(line: number): DockerfileError {
    return this.lineError(
      `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`,
      line,
      { hint: "Split the line with line continuations or move the data into a file." },
    );
  }
}

/**
 * The physical lines of the text as BuildKit's scanner returns them: split on `\n` (kept apart in
 * `hadNewline`), ending early at a line longer than 65,535 UTF-8 bytes.
 */
class LineScanner {
  /** The 1-based number of the line `next` returned last (0 before the first). */
  lineNumber = 0;
  /** Whether that line ended in `\n`. */
  hadNewline = false;
  /** The 1-based number of a line too long to read; reading stopped before it. */
  tooLongLine: number | undefined;
  private position = 0;

  constructor(private readonly text: string) {}

  next(): string | undefined {
    const text = this.text;
    if (this.position >= text.length || this.tooLongLine !== undefined) return undefined;
    const newline = text.indexOf("\n", this.position);
    const end = newline < 0 ? text.length : newline;
    if (utf8LengthExceeds(text, this.position, end, MAX_LINE_BYTES)) {
      this.tooLongLine = this.lineNumber + 1;
      return undefined;
    }
    const line = text.slice(this.position, end);
    this.position = newline < 0 ? text.length : newline + 1;
    this.hadNewline = newline >= 0;
    this.lineNumber++;
    return line;
  }
}

/** Builds the public node (and its ONBUILD triggers, which share its range) from a draft. */
function finishInstruction(
  draft: InstructionDraft,
  range: SourceRange,
  heredocs: readonly Heredoc[],
  prevComment: readonly string[],
): DockerfileInstruction {
  if (draft.trigger === undefined) {
    return toInstruction(draft, undefined, range, heredocs, prevComment);
  }
  const triggers: InstructionDraft[] = [];
  for (let node: InstructionDraft | undefined = draft.trigger; node; node = node.trigger) {
    triggers.push(node);
  }
  let trigger: DockerfileInstruction | undefined;
  for (let i = triggers.length - 1; i >= 0; i--) {
    const node = triggers[i];
    if (node !== undefined) trigger = toInstruction(node, trigger, range, NO_HEREDOCS, NO_COMMENTS);
  }
  return toInstruction(draft, trigger, range, heredocs, prevComment);
}

function toInstruction(
  node: InstructionDraft,
  trigger: DockerfileInstruction | undefined,
  range: SourceRange,
  heredocs: readonly Heredoc[],
  prevComment: readonly string[],
): DockerfileInstruction {
  return {
    keyword: node.keyword,
    keywordAsWritten: node.keywordAsWritten,
    original: node.original,
    flags: node.flags,
    args: node.args,
    json: node.json,
    heredocs,
    trigger,
    range,
    prevComment,
  };
}

/** BuildKit `canContainHeredoc`: RUN, COPY, ADD (or an ONBUILD of one), not in JSON form. */
function canContainHeredoc(draft: InstructionDraft): boolean {
  const node = draft.keyword === "onbuild" && draft.trigger !== undefined ? draft.trigger : draft;
  return HEREDOC_KEYWORDS.has(node.keyword) && !node.json;
}

/**
 * BuildKit's directive regexp, `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go `\s` is `[\t\n\f\r ]`),
 * written out; the key must be one BuildKit knows.
 */
function matchDirective(text: string): { name: DirectiveName; value: string } | undefined {
  let keyEnd = 0;
  while (keyEnd < text.length && isAsciiAlphanumeric(text.charCodeAt(keyEnd))) keyEnd++;
  if (keyEnd === 0 || !isAsciiLetter(text.charCodeAt(0))) return undefined;
  let equals = keyEnd;
  while (isRegexpSpace(text.charCodeAt(equals))) equals++;
  if (text.charAt(equals) !== "=") return undefined;
  const rest = text.slice(equals + 1);
  if (rest === "") return undefined;
  let end = rest.length;
  while (end > 0 && isRegexpSpace(rest.charCodeAt(end - 1))) end--;
  let start = 0;
  while (start < end && isRegexpSpace(rest.charCodeAt(start))) start++;
  // All blanks: the lazy group still takes one character, the last.
  const value = end === 0 ? rest.slice(-1) : rest.slice(start, end);
  const name = text.slice(0, keyEnd).toLowerCase();
  if (name !== "syntax" && name !== "escape" && name !== "check") return undefined;
  return { name, value };
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isAsciiAlphanumeric(code: number): boolean {
  return isAsciiLetter(code) || (code >= 0x30 && code <= 0x39);
}

/** BuildKit `isComment`: the first non-blank character is `#`. */
function isComment(line: string): boolean {
  let i = 0;
  while (i < line.length && isGoSpaceCode(line.charCodeAt(i))) i++;
  return line.charCodeAt(i) === 0x23;
}

/** BuildKit `trimNewline`: `bytes.TrimRight(line, "\r\n")`; the `\n` is already gone. */
function trimNewline(line: string): string {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
  return end === line.length ? line : line.slice(0, end);
}

function trimLeadingTabs(line: string): string {
  let start = 0;
  while (line.charCodeAt(start) === 0x09) start++;
  return start === 0 ? line : line.slice(start);
}

/**
 * BuildKit `trimContinuationCharacter`: the line continues when the escape token is its last
 * non-blank character and is not itself escaped. Returns where to cut the token and the blanks
 * after it off, or -1 when the line does not continue.
 */
function continuationCut(line: string, escapeToken: EscapeToken): number {
  let last = line.length - 1;
  while (last >= 0 && (line.charCodeAt(last) === 0x20 || line.charCodeAt(last) === 0x09)) last--;
  if (last < 0 || line.charAt(last) !== escapeToken) return -1;
  // Known BuildKit limitation kept: an odd run such as `\\\` does not continue either.
  if (last > 0 && line.charAt(last - 1) === escapeToken) return -1;
  return last;
}

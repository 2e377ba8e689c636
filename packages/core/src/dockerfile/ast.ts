import type { SourcePosition } from "../errors.js";

/** The Dockerfile's escape token, set by `# escape=`: a backslash (default) or a backtick. */
export type EscapeToken = "\\" | "`";

/** The parser directives BuildKit recognises in the first comment lines (keys are case-insensitive). */
export type DirectiveName = "syntax" | "escape" | "check";

/** A span of the Dockerfile: 1-based lines (inclusive) and columns (UTF-16 code units, as editors count). */
export interface SourceRange {
  /** The first non-blank character of the instruction's first line (usually its keyword). */
  readonly start: SourcePosition;
  /** Just after the last character of its last line (continuation, heredoc body and terminator included). */
  readonly end: SourcePosition;
}

/** A parser directive such as `# syntax=docker/dockerfile:1`, with its key lower-cased. */
export interface ParserDirective {
  /** The key, lower-cased. */
  readonly name: DirectiveName;
  /** Everything after `=`, surrounding whitespace trimmed. */
  readonly value: string;
  /** The 1-based line it is on. */
  readonly line: number;
}

/** A warning of BuildKit's parser, e.g. `Empty continuation line found in: RUN …`. */
export interface ParserWarning {
  /** BuildKit's own text (its `Warning.Short`). */
  readonly message: string;
  /** The 1-based line BuildKit attaches: the last line of the instruction concerned. */
  readonly line: number;
}

/** A heredoc read from the lines after an instruction (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`). */
export interface Heredoc {
  /** The terminator word, quotes removed. */
  readonly name: string;
  /** False when any part of the name was quoted: the body is then not variable-expanded. */
  readonly expand: boolean;
  /** True for `<<-`: leading tabs are stripped from the terminator line (and later from the body). */
  readonly chomp: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when none. */
  readonly fd: number;
  /** The body lines verbatim, each with its own line ending (CRLF kept), terminator excluded. */
  readonly content: string;
}

/** One instruction as BuildKit's parser makes it (a `parser.Node`): keyword, flags and raw arguments. */
export interface DockerfileInstruction {
  /** The keyword lower-cased, e.g. `"from"`, `"copy"`, `"onbuild"`; unknown keywords are kept. */
  readonly keyword: string;
  /** The keyword exactly as written, for error messages (`unknown instruction: FOO`). */
  readonly keywordAsWritten: string;
  /** The logical line: physical lines joined, continuations removed, left-trimmed (BuildKit `Original`). */
  readonly original: string;
  /** The leading `--…` words, quotes and escapes removed, a lone `--` dropped (BuildKit `Flags`). */
  readonly flags: readonly string[];
  /** The arguments exactly as BuildKit's `Next` chain holds them, i.e. what the dump prints. */
  readonly args: readonly string[];
  /** True when the arguments were given as a JSON array (exec form). */
  readonly json: boolean;
  /** Heredocs opened on this line, in order; an ONBUILD holds its trigger's, as in BuildKit. */
  readonly heredocs: readonly Heredoc[];
  /** For `ONBUILD`: the trigger, parsed like a full line, sharing this range; else undefined. */
  readonly trigger: DockerfileInstruction | undefined;
  /** Where it is: BuildKit's StartLine..EndLine, including continuation, heredoc body and terminator lines. */
  readonly range: SourceRange;
  /** The comment lines before the instruction, text after `#` trimmed, directives left out (BuildKit `PrevComment`). */
  readonly prevComment: readonly string[];
}

/** A parsed Dockerfile: BuildKit's `parser.Result` (root node, escape token, warnings) plus directives. */
export interface DockerfileAst {
  /** The escape token in effect (`# escape=`), `\` by default. */
  readonly escapeToken: EscapeToken;
  /** The parser directives read, in file order. */
  readonly directives: readonly ParserDirective[];
  /** Parser warnings, in file order. */
  readonly warnings: readonly ParserWarning[];
  /** The instructions in file order. */
  readonly children: readonly DockerfileInstruction[];
  /** From the first instruction's start to the last instruction's end (BuildKit's root node lines). */
  readonly range: SourceRange;
}

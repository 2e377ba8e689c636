import { BakeError } from "../errors.js";

/** A value of bake's expression language: cty's types, as plain JavaScript values. */
export type HclValue = string | number | boolean | null | HclValue[] | { [key: string]: HclValue };

/** An HCL expression, as parsed; `line` is 1-based. */
export type HclExpression =
  | { kind: "literal"; value: HclValue; line: number }
  | { kind: "template"; parts: (string | HclExpression)[]; line: number }
  | { kind: "variable"; name: string; line: number }
  | { kind: "tuple"; items: HclExpression[]; line: number }
  | { kind: "object"; entries: { key: HclExpression; value: HclExpression }[]; line: number }
  | { kind: "call"; name: string; args: HclExpression[]; expand: boolean; line: number }
  | { kind: "index"; target: HclExpression; key: HclExpression; line: number }
  | { kind: "attribute"; target: HclExpression; name: string; line: number }
  | { kind: "splat"; target: HclExpression; each: HclExpression; line: number }
  | { kind: "unary"; op: "!" | "-"; operand: HclExpression; line: number }
  | { kind: "binary"; op: BinaryOperator; left: HclExpression; right: HclExpression; line: number }
  | {
      kind: "conditional";
      condition: HclExpression;
      then: HclExpression;
      otherwise: HclExpression;
      line: number;
    }
  | {
      kind: "for";
      keyVar: string | undefined;
      valueVar: string;
      collection: HclExpression;
      keyExpr: HclExpression | undefined;
      valueExpr: HclExpression;
      condition: HclExpression | undefined;
      grouped: boolean;
      line: number;
    };

/** The binary operators of HCL, loosest last. */
export type BinaryOperator =
  "*" | "/" | "%" | "+" | "-" | ">" | ">=" | "<" | "<=" | "==" | "!=" | "&&" | "||";

/** `name = expression` in a body. */
export interface HclAttribute {
  name: string;
  expression: HclExpression;
  line: number;
}

/** `type "label" ... { body }`. */
export interface HclBlock {
  type: string;
  labels: string[];
  body: HclBody;
  line: number;
}

/** The attributes and blocks of a file or a block, in source order. */
export interface HclBody {
  attributes: HclAttribute[];
  blocks: HclBlock[];
}

const PRECEDENCE: readonly (readonly BinaryOperator[])[] = [
  ["||"],
  ["&&"],
  ["==", "!="],
  [">", ">=", "<", "<="],
  ["+", "-"],
  ["*", "/", "%"],
];

/**
 * Parses HCL native syntax (the language of `docker-bake.hcl`) into a body of attributes and
 * blocks whose expressions are kept unevaluated, each with its line.
 */
export function parseHcl(text: string, file: string): HclBody {
  const parser = new HclParser(text, file);
  return parser.parseFile();
}

/** Parses a string as an HCL template (`"a-${b}"` without the quotes), as bake does for JSON files. */
export function parseHclTemplate(text: string, file: string, line: number): HclExpression {
  const parser = new HclParser(text, file, line);
  return parser.parseBareTemplate();
}

/** Parses one HCL expression, e.g. a JSON file's `${...}` or a `--set` value. */
export function parseHclExpression(text: string, file: string, line = 1): HclExpression {
  const parser = new HclParser(text, file, line);
  const expression = parser.parseWholeExpression();
  return expression;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_-]/;

class HclParser {
  private pos = 0;
  private line: number;

  constructor(
    private readonly text: string,
    private readonly file: string,
    line = 1,
  ) {
    this.line = line;
  }

  parseFile(): HclBody {
    const body = this.parseBody(false);
    this.skip(true);
    if (this.pos < this.text.length) this.fail(`unexpected "${this.peek()}"`);
    return body;
  }

  parseWholeExpression(): HclExpression {
    this.skip(true);
    const expression = this.parseExpression(true);
    this.skip(true);
    if (this.pos < this.text.length) this.fail(`unexpected "${this.peek()}" after the expression`);
    return expression;
  }

  parseBareTemplate(): HclExpression {
    return this.parseTemplate(undefined);
  }

  private fail(message: string): never {
    throw new BakeError("BAKE_SYNTAX", message, { file: this.file, line: this.line });
  }

  private peek(offset = 0): string {
    return this.text.charAt(this.pos + offset);
  }

  private advance(count = 1): void {
    for (let i = 0; i < count; i++) {
      if (this.text.charCodeAt(this.pos) === 10) this.line++;
      this.pos++;
    }
  }

  /** Skips blanks and comments; newlines too when `newlines` is set. Returns whether one was seen. */
  private skip(newlines: boolean): boolean {
    let sawNewline = false;
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r") {
        this.pos++;
      } else if (c === "\n") {
        if (!newlines) return sawNewline;
        sawNewline = true;
        this.advance();
      } else if (c === "#" || (c === "/" && this.peek(1) === "/")) {
        while (this.pos < this.text.length && this.peek() !== "\n") this.pos++;
      } else if (c === "/" && this.peek(1) === "*") {
        const end = this.text.indexOf("*/", this.pos + 2);
        if (end === -1) this.fail("unterminated /* comment");
        this.advance(end + 2 - this.pos);
      } else {
        return sawNewline;
      }
    }
  }

  private expect(token: string): void {
    if (!this.text.startsWith(token, this.pos)) {
      const found = this.pos < this.text.length ? `"${this.peek()}"` : "the end of the file";
      this.fail(`expected "${token}", found ${found}`);
    }
    this.advance(token.length);
  }

  private readIdentifier(): string {
    const start = this.pos;
    if (!IDENT_START.test(this.peek())) return "";
    this.pos++;
    while (this.pos < this.text.length && IDENT_PART.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private endOfItem(closing: boolean): void {
    this.skip(false);
    const c = this.peek();
    if (c === "\n") {
      this.advance();
      return;
    }
    if (this.pos >= this.text.length) return;
    if (closing && c === "}") return;
    this.fail(`expected a newline after the argument, found "${c}"`);
  }

  private parseBody(inBlock: boolean): HclBody {
    const body: HclBody = { attributes: [], blocks: [] };
    for (;;) {
      this.skip(true);
      if (this.pos >= this.text.length) return body;
      if (inBlock && this.peek() === "}") return body;
      const line = this.line;
      const name = this.readIdentifier();
      if (name === "") this.fail(`expected an argument or block name, found "${this.peek()}"`);
      this.skip(false);
      if (this.peek() === "=" && this.peek(1) !== "=") {
        this.advance();
        this.skip(false);
        const expression = this.parseExpression(false);
        body.attributes.push({ name, expression, line });
        this.endOfItem(inBlock);
        continue;
      }
      const labels: string[] = [];
      for (;;) {
        this.skip(false);
        const c = this.peek();
        if (c === "{") break;
        if (c === '"') {
          const label = this.parseTemplate('"');
          if (label.kind !== "literal" || typeof label.value !== "string") {
            this.fail(`the label of block "${name}" must be a plain string`);
          }
          labels.push(label.value);
          continue;
        }
        const bare = this.readIdentifier();
        if (bare === "") this.fail(`expected "=" or a block after "${name}", found "${c}"`);
        labels.push(bare);
      }
      this.advance();
      const inner = this.parseBody(true);
      this.expect("}");
      body.blocks.push({ type: name, labels, body: inner, line });
      this.endOfItem(inBlock);
    }
  }

  private parseExpression(newlines: boolean): HclExpression {
    const condition = this.parseBinary(0, newlines);
    this.skip(newlines);
    if (this.peek() !== "?") return condition;
    this.advance();
    this.skip(true);
    const then = this.parseExpression(true);
    this.skip(true);
    this.expect(":");
    this.skip(true);
    const otherwise = this.parseExpression(newlines);
    return { kind: "conditional", condition, then, otherwise, line: condition.line };
  }

  private peekOperator(level: readonly BinaryOperator[]): BinaryOperator | undefined {
    const two = this.text.slice(this.pos, this.pos + 2);
    for (const op of level) {
      if (op.length === 2 && two === op) return op;
    }
    const one = this.peek();
    for (const op of level) {
      if (op.length !== 1 || one !== op) continue;
      // `=` after `<`/`>` makes a two-character operator; `=>` belongs to a for expression.
      if ((op === "<" || op === ">") && this.peek(1) === "=") continue;
      if (op === "-" && this.peek(1) === ">") continue;
      if (op === "/" && (this.peek(1) === "/" || this.peek(1) === "*")) continue;
      return op;
    }
    return undefined;
  }

  private parseBinary(level: number, newlines: boolean): HclExpression {
    const operators = PRECEDENCE[level];
    if (operators === undefined) return this.parseUnary(newlines);
    let left = this.parseBinary(level + 1, newlines);
    for (;;) {
      const save = this.pos;
      const saveLine = this.line;
      this.skip(newlines);
      const op = this.peekOperator(operators);
      if (op === undefined) {
        this.pos = save;
        this.line = saveLine;
        return left;
      }
      this.advance(op.length);
      this.skip(true);
      const right = this.parseBinary(level + 1, newlines);
      left = { kind: "binary", op, left, right, line: left.line };
    }
  }

  private parseUnary(newlines: boolean): HclExpression {
    const c = this.peek();
    if ((c === "!" && this.peek(1) !== "=") || c === "-") {
      const line = this.line;
      this.advance();
      this.skip(false);
      const operand = this.parseUnary(newlines);
      return { kind: "unary", op: c, operand, line };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(start: HclExpression): HclExpression {
    let expression = start;
    for (;;) {
      const c = this.peek();
      if (c === "." && this.peek(1) === "*") {
        this.advance(2);
        const each = this.parseTraversal({ kind: "variable", name: "", line: this.line });
        expression = { kind: "splat", target: expression, each, line: expression.line };
      } else if (c === "[" && this.text.startsWith("[*]", this.pos)) {
        this.advance(3);
        const each = this.parseTraversal({ kind: "variable", name: "", line: this.line });
        expression = { kind: "splat", target: expression, each, line: expression.line };
      } else if (c === "." && IDENT_START.test(this.peek(1))) {
        this.advance();
        expression = {
          kind: "attribute",
          target: expression,
          name: this.readIdentifier(),
          line: expression.line,
        };
      } else if (c === "." && /[0-9]/.test(this.peek(1))) {
        this.advance();
        const start = this.pos;
        while (/[0-9]/.test(this.peek())) this.pos++;
        const key: HclExpression = {
          kind: "literal",
          value: Number(this.text.slice(start, this.pos)),
          line: this.line,
        };
        expression = { kind: "index", target: expression, key, line: expression.line };
      } else if (c === "[") {
        this.advance();
        this.skip(true);
        const key = this.parseExpression(true);
        this.skip(true);
        this.expect("]");
        expression = { kind: "index", target: expression, key, line: expression.line };
      } else {
        return expression;
      }
    }
  }

  /** The `.a[0].b` after a splat, applied to each element (the element is variable ""). */
  private parseTraversal(start: HclExpression): HclExpression {
    let expression = start;
    for (;;) {
      if (this.peek() === "." && IDENT_START.test(this.peek(1))) {
        this.advance();
        expression = {
          kind: "attribute",
          target: expression,
          name: this.readIdentifier(),
          line: this.line,
        };
      } else if (this.peek() === "[" && this.peek(1) !== "*") {
        this.advance();
        const key = this.parseExpression(true);
        this.expect("]");
        expression = { kind: "index", target: expression, key, line: this.line };
      } else {
        return expression;
      }
    }
  }

  private parsePrimary(): HclExpression {
    const line = this.line;
    const c = this.peek();
    if (c === '"') return this.parseTemplate('"');
    if (c === "<" && this.peek(1) === "<") return this.parseHeredoc();
    if (/[0-9]/.test(c)) {
      const match = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos));
      const digits = match?.[0] ?? c;
      this.advance(digits.length);
      return { kind: "literal", value: Number(digits), line };
    }
    if (c === "(") {
      this.advance();
      this.skip(true);
      const inner = this.parseExpression(true);
      this.skip(true);
      this.expect(")");
      return inner;
    }
    if (c === "[") return this.parseTuple();
    if (c === "{") return this.parseObject();
    const name = this.readIdentifier();
    if (name === "") {
      this.fail(
        this.pos >= this.text.length
          ? "expected an expression, found the end of the file"
          : `expected an expression, found "${c}"`,
      );
    }
    if (name === "true" || name === "false")
      return { kind: "literal", value: name === "true", line };
    if (name === "null") return { kind: "literal", value: null, line };
    if (this.peek() === "(") {
      this.advance();
      const args: HclExpression[] = [];
      let expand = false;
      for (;;) {
        this.skip(true);
        if (this.peek() === ")") break;
        args.push(this.parseExpression(true));
        this.skip(true);
        if (this.text.startsWith("...", this.pos)) {
          this.advance(3);
          expand = true;
          this.skip(true);
        }
        if (this.peek() === ",") {
          this.advance();
          continue;
        }
        if (this.peek() !== ")") this.fail(`expected "," or ")" in the call of ${name}()`);
      }
      this.advance();
      return { kind: "call", name, args, expand, line };
    }
    return { kind: "variable", name, line };
  }

  private isForKeyword(): boolean {
    return /^for[\s]/.test(this.text.slice(this.pos, this.pos + 4));
  }

  private parseFor(close: "]" | "}", line: number): HclExpression {
    this.advance(3);
    this.skip(true);
    let valueVar = this.readIdentifier();
    let keyVar: string | undefined;
    this.skip(true);
    if (this.peek() === ",") {
      this.advance();
      this.skip(true);
      keyVar = valueVar;
      valueVar = this.readIdentifier();
      this.skip(true);
    }
    if (valueVar === "") this.fail("expected a variable name after for");
    if (this.readIdentifier() !== "in") this.fail('expected "in" in the for expression');
    this.skip(true);
    const collection = this.parseExpression(true);
    this.skip(true);
    this.expect(":");
    this.skip(true);
    let keyExpr: HclExpression | undefined;
    let valueExpr = this.parseExpression(true);
    this.skip(true);
    let grouped = false;
    if (close === "}") {
      this.expect("=>");
      this.skip(true);
      keyExpr = valueExpr;
      valueExpr = this.parseExpression(true);
      this.skip(true);
      if (this.text.startsWith("...", this.pos)) {
        this.advance(3);
        grouped = true;
        this.skip(true);
      }
    }
    let condition: HclExpression | undefined;
    if (/^if[\s(]/.test(this.text.slice(this.pos, this.pos + 3))) {
      this.advance(2);
      this.skip(true);
      condition = this.parseExpression(true);
      this.skip(true);
    }
    this.expect(close);
    return {
      kind: "for",
      keyVar,
      valueVar,
      collection,
      keyExpr,
      valueExpr,
      condition,
      grouped,
      line,
    };
  }

  private parseTuple(): HclExpression {
    const line = this.line;
    this.advance();
    this.skip(true);
    if (this.isForKeyword()) return this.parseFor("]", line);
    const items: HclExpression[] = [];
    for (;;) {
      this.skip(true);
      if (this.peek() === "]") break;
      items.push(this.parseExpression(true));
      this.skip(true);
      if (this.peek() === ",") {
        this.advance();
        continue;
      }
      if (this.peek() !== "]") this.fail('expected "," or "]" in the list');
    }
    this.advance();
    return { kind: "tuple", items, line };
  }

  private parseObject(): HclExpression {
    const line = this.line;
    this.advance();
    this.skip(true);
    if (this.isForKeyword()) return this.parseFor("}", line);
    const entries: { key: HclExpression; value: HclExpression }[] = [];
    for (;;) {
      this.skip(true);
      if (this.peek() === "}") break;
      const keyLine = this.line;
      let key: HclExpression;
      if (IDENT_START.test(this.peek())) {
        const save = this.pos;
        const name = this.readIdentifier();
        this.skip(false);
        if (this.peek() === "=" || this.peek() === ":") {
          key = { kind: "literal", value: name, line: keyLine };
        } else {
          this.pos = save;
          key = this.parseExpression(false);
        }
      } else {
        key = this.parseExpression(false);
      }
      this.skip(false);
      if (this.peek() === "=" || this.peek() === ":") this.advance();
      else this.fail('expected "=" or ":" after the object key');
      this.skip(true);
      const value = this.parseExpression(false);
      entries.push({ key, value });
      const sawNewline = this.skip(true);
      if (this.peek() === ",") {
        this.advance();
        continue;
      }
      if (this.peek() === "}") continue;
      if (!sawNewline) this.fail('expected ",", a newline or "}" in the object');
    }
    this.advance();
    return { kind: "object", entries, line };
  }

  private parseHeredoc(): HclExpression {
    const line = this.line;
    this.advance(2);
    const indent = this.peek() === "-";
    if (indent) this.advance();
    const marker = this.readIdentifier();
    if (marker === "") this.fail("expected a heredoc marker after <<");
    this.skip(false);
    this.expect("\n");
    const lines: string[] = [];
    for (;;) {
      if (this.pos >= this.text.length) this.fail(`heredoc "${marker}" is not closed`);
      const end = this.text.indexOf("\n", this.pos);
      const raw = this.text.slice(this.pos, end === -1 ? this.text.length : end);
      if (raw.trim() === marker) {
        this.pos += raw.length;
        break;
      }
      lines.push(raw);
      this.pos = end === -1 ? this.text.length : end + 1;
      this.line++;
    }
    let content = lines;
    if (indent) {
      const widths = lines
        .filter((l) => l.trim() !== "")
        .map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
      const strip = widths.length === 0 ? 0 : Math.min(...widths);
      content = lines.map((l) => l.slice(strip));
    }
    const body = content.map((l) => `${l}\n`).join("");
    const inner = new HclParser(body, this.file, line + 1);
    const template = inner.parseTemplate(undefined);
    return { ...template, line };
  }

  /** A template up to `quote` (a quoted string), or to the end of the text when undefined. */
  parseTemplate(quote: '"' | undefined): HclExpression {
    const line = this.line;
    if (quote !== undefined) this.advance();
    const parts: (string | HclExpression)[] = [];
    let literal = "";
    const flush = (): void => {
      if (literal !== "") parts.push(literal);
      literal = "";
    };
    for (;;) {
      if (this.pos >= this.text.length) {
        if (quote !== undefined) this.fail("unterminated string");
        break;
      }
      const c = this.peek();
      if (quote !== undefined && c === quote) {
        this.advance();
        break;
      }
      if (quote !== undefined && c === "\n") this.fail("unterminated string (a newline in it)");
      if (c === "\\" && quote !== undefined) {
        literal += this.readEscape();
        continue;
      }
      if ((c === "$" || c === "%") && this.peek(1) === c && this.peek(2) === "{") {
        literal += `${c}{`;
        this.advance(3);
        continue;
      }
      if (c === "%" && this.peek(1) === "{") {
        this.fail("template directives (%{ if } and %{ for }) are not supported yet");
      }
      if (c === "$" && this.peek(1) === "{") {
        this.advance(2);
        if (this.peek() === "~") {
          this.advance();
          literal = literal.trimEnd();
        }
        flush();
        this.skip(true);
        parts.push(this.parseExpression(true));
        this.skip(true);
        let stripAfter = false;
        if (this.peek() === "~") {
          this.advance();
          stripAfter = true;
        }
        this.expect("}");
        if (stripAfter) {
          while (/\s/.test(this.peek()) && this.pos < this.text.length) this.advance();
        }
        continue;
      }
      literal += c;
      this.advance();
    }
    flush();
    if (parts.length === 0) return { kind: "literal", value: "", line };
    if (parts.length === 1 && typeof parts[0] === "string") {
      return { kind: "literal", value: parts[0], line };
    }
    return { kind: "template", parts, line };
  }

  private readEscape(): string {
    const next = this.peek(1);
    this.advance(2);
    switch (next) {
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "u":
      case "U": {
        const length = next === "u" ? 4 : 8;
        const hex = this.text.slice(this.pos, this.pos + length);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length) this.fail("bad \\u escape");
        this.advance(length);
        return String.fromCodePoint(parseInt(hex, 16));
      }
      default:
        this.fail(`unknown escape "\\${next}" in a string`);
    }
  }
}

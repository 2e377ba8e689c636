/**
 * The simple commands of a RUN script, as words, read the way a POSIX shell would split them well
 * enough to recognise package-manager and dependency-install commands: quotes removed, `$VAR` and
 * `${VAR}` replaced from the script's own assignments and the stage's environment, commands split
 * on `&&`, `||`, `;`, `|`, `&`, parentheses and newlines. Command substitutions and unknown
 * variables become empty words' absence; nothing is executed.
 *
 * @example
 * readShellCommands("deps='gcc make' && apt-get install -y $deps", () => undefined);
 * // [["apt-get", "install", "-y", "gcc", "make"]]
 */
export function readShellCommands(
  script: string,
  lookup: (name: string) => string | undefined,
): string[][] {
  const local = new Map<string, string>();
  const resolve = (name: string): string | undefined => local.get(name) ?? lookup(name);
  const commands: string[][] = [];
  for (const tokens of splitCommands(script)) {
    const words: string[] = [];
    let assigning = true;
    for (const token of tokens) {
      const assignment = assigning ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(token.raw) : null;
      if (assignment !== null) {
        // `NAME=value cmd …` sets NAME for cmd only; `NAME=value` alone sets it for the script.
        const value = expandToken(token.raw.slice(assignment[0].length), resolve).join(" ");
        local.set(assignment[1] ?? "", value);
        continue;
      }
      assigning = false;
      for (const word of expandToken(token.raw, resolve)) words.push(word);
    }
    if (words[0] === "export") {
      for (const word of words.slice(1)) {
        const equals = word.indexOf("=");
        if (equals > 0) local.set(word.slice(0, equals), word.slice(equals + 1));
      }
      continue;
    }
    if (words.length > 0) commands.push(stripWrappers(words));
  }
  return commands;
}

const WRAPPERS = new Set(["sudo", "nice", "command", "exec", "time", "nohup"]);
const KEYWORDS = new Set(["then", "do", "else", "!", "{"]);

/** `sudo`, `env`, `nice`, … run the command after them; `then`, `do`, `else` start one. */
function stripWrappers(words: string[]): string[] {
  let start = 0;
  for (;;) {
    const word = words[start];
    if (word === undefined) break;
    if (KEYWORDS.has(word)) {
      start++;
      continue;
    }
    if (WRAPPERS.has(word)) {
      start++;
      while (words[start]?.startsWith("-") === true) start++;
      continue;
    }
    if (word === "env") {
      start++;
      for (
        let next = words[start];
        next !== undefined && (next.startsWith("-") || next.includes("="));
        next = words[start]
      )
        start++;
      continue;
    }
    break;
  }
  return start === 0 ? words : words.slice(start);
}

interface Token {
  /** The word as written, quotes kept (expanded later). */
  readonly raw: string;
}

/** Characters {@link splitCommands} adds to the word as they are (`#` and `$` not always). */
const ORDINARY_RUN = /[^\\'"$`#<>\n;|&()\t\r ]+/y;

/** Splits a script into commands of raw words, honouring quotes, escapes and comments. */
function splitCommands(script: string): Token[][] {
  const commands: Token[][] = [];
  let words: Token[] = [];
  let word = "";
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push({ raw: word });
    word = "";
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    // A run of ordinary characters joins the word at once.
    ORDINARY_RUN.lastIndex = i;
    if (ORDINARY_RUN.test(script)) {
      word += script.slice(i, ORDINARY_RUN.lastIndex);
      inWord = true;
      i = ORDINARY_RUN.lastIndex - 1;
      continue;
    }
    const ch = script[i] ?? "";
    if (ch === "\\") {
      const next = script[i + 1];
      if (next === "\n") {
        i++;
        continue;
      }
      word += ch + (next ?? "");
      inWord = true;
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const close = findClosingQuote(script, i);
      word += script.slice(i, close + 1);
      inWord = true;
      i = close;
      continue;
    }
    if (ch === "$" && script[i + 1] === "(") {
      // A command substitution: its output is unknown; keep it as an opaque word.
      const close = findClosingParen(script, i + 1);
      word += "\u0000";
      inWord = true;
      i = close;
      continue;
    }
    if (ch === "`") {
      const close = script.indexOf("`", i + 1);
      word += "\u0000";
      inWord = true;
      i = close < 0 ? script.length : close;
      continue;
    }
    if (ch === "#" && !inWord) {
      const newline = script.indexOf("\n", i);
      i = newline < 0 ? script.length : newline - 1;
      continue;
    }
    if (ch === ">" || ch === "<") {
      // A redirection (`> /dev/null`, `2>&1`, `<<EOF`): neither it nor its target is an argument.
      if (/^[0-9]+$/.test(word)) {
        word = "";
        inWord = false;
      }
      endWord();
      let j = i + 1;
      while (script[j] === ">" || script[j] === "<" || script[j] === "&" || script[j] === "-") j++;
      while (script[j] === " " || script[j] === "\t") j++;
      while (j < script.length && !/[\s;&|()<>]/.test(script[j] ?? "")) j++;
      i = j - 1;
      continue;
    }
    if (ch === "\n" || ch === ";" || ch === "|" || ch === "&" || ch === "(" || ch === ")") {
      endCommand();
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\r") {
      endWord();
      continue;
    }
    word += ch;
    inWord = true;
  }
  endCommand();
  return commands;
}

function findClosingQuote(script: string, open: number): number {
  const quote = script[open];
  for (let i = open + 1; i < script.length; i++) {
    if (quote === '"' && script[i] === "\\") {
      i++;
      continue;
    }
    if (script[i] === quote) return i;
  }
  return script.length - 1;
}

function findClosingParen(script: string, open: number): number {
  let depth = 0;
  for (let i = open; i < script.length; i++) {
    if (script[i] === "(") depth++;
    else if (script[i] === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return script.length - 1;
}

/** What expandToken removes or replaces (and `\u0000`, a command substitution's mark). */
const EXPANDED = /[\\'"$]/;

/**
 * Expands one raw word: quotes removed, variables replaced. Unquoted expansions are split on
 * blanks (field splitting); a word that holds a command substitution is dropped (unknowable).
 */
function expandToken(raw: string, resolve: (name: string) => string | undefined): string[] {
  // Nothing to remove or replace: most words.
  if (!EXPANDED.test(raw) && !raw.includes("\u0000")) return raw === "" ? [] : [raw];
  const fields: string[] = [];
  let current = "";
  let has = false;
  let opaque = false;
  const push = (): void => {
    if (has && !opaque) fields.push(current);
    current = "";
    has = false;
    opaque = false;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] ?? "";
    if (ch === "\u0000") {
      opaque = true;
      has = true;
      continue;
    }
    if (ch === "\\") {
      current += raw[i + 1] ?? "";
      has = true;
      i++;
      continue;
    }
    if (ch === "'") {
      const close = raw.indexOf("'", i + 1);
      const end = close < 0 ? raw.length : close;
      current += raw.slice(i + 1, end);
      has = true;
      i = end;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      for (; j < raw.length && raw[j] !== '"'; j++) {
        if (raw[j] === "\\" && j + 1 < raw.length) {
          current += raw[j + 1] ?? "";
          j++;
        } else if (raw[j] === "$") {
          const variable = readVariable(raw, j);
          if (variable === undefined) current += "$";
          else {
            current += resolve(variable.name) ?? "";
            j = variable.end - 1;
          }
        } else if (raw[j] === "\u0000") opaque = true;
        else current += raw[j] ?? "";
      }
      has = true;
      i = j;
      continue;
    }
    if (ch === "$") {
      const variable = readVariable(raw, i);
      if (variable !== undefined) {
        const value = resolve(variable.name) ?? "";
        const parts = value.split(/[ \t\n]+/);
        for (const [index, part] of parts.entries()) {
          if (index > 0) push();
          if (part !== "") {
            current += part;
            has = true;
          }
        }
        i = variable.end - 1;
        continue;
      }
    }
    current += ch;
    has = true;
  }
  push();
  return fields;
}

/** `$NAME` or `${NAME…}` at `at`: the name and where the reference ends (modifiers ignored). */
function readVariable(text: string, at: number): { name: string; end: number } | undefined {
  if (text[at + 1] === "{") {
    const close = text.indexOf("}", at + 2);
    if (close < 0) return undefined;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 2, close))?.[0];
    return name === undefined ? undefined : { name, end: close + 1 };
  }
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 1))?.[0];
  return name === undefined ? undefined : { name, end: at + 1 + name.length };
}

import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { expandShellWord, expandWord, expandWords } from "./expand-words.js";
import { quoteGo } from "./go/strconv.js";
import { MAX_EXPANSION_LENGTH, MAX_NESTING } from "./shell-syntax-error.js";

// The rules are BuildKit's ProcessWord / ProcessWords (frontend/dockerfile/shell/lex.go); the
// conformance suite also runs BuildKit's own vectors (expand-words.conformance.test.ts).
const env = new Map([
  ["PWD", "/home"],
  ["SHELL", "bash"],
  ["KOREAN", "한국어"],
  ["EMPTY", ""],
  ["SPACED", "a  b"],
]);

describe("expandWord: one word, quotes removed, variables expanded", () => {
  const cases: [input: string, expected: string][] = [
    ["plain", "plain"],
    ["two words", "two words"],
    ["$PWD", "/home"],
    ["${PWD}", "/home"],
    ["at$PWD/x", "at/home/x"],
    ["at${PWD}x", "at/homex"],
    // A name runs as far as letters, digits and `_` go.
    ["at$PWDx", "at"],
    ["$KOREAN", "한국어"],
    // `$` before a character that cannot start a name stays a `$`.
    ["$", "$"],
    ["cost$", "cost$"],
    ["a$.b", "a$.b"],
    ["a$-b", "ab"],
    // A digit is a whole name: `$1x` is `$1` then `x`.
    ["$1x", "x"],
    // The escape token takes the next character literally, and is dropped.
    ["\\$PWD", "$PWD"],
    ["\\\\$PWD", "\\/home"],
    ["a\\ b", "a b"],
    ["a\\b", "ab"],
    ["trailing\\", "trailing"],
    // Single quotes: nothing inside is special.
    ["'$PWD'", "$PWD"],
    ["'a\\b'", "a\\b"],
    [`'he said "$PWD"'`, 'he said "$PWD"'],
    // Double quotes: `$` expands; only `"`, `$` and the escape token can be escaped.
    ['"$PWD"', "/home"],
    ['"\\$PWD"', "$PWD"],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', "a\\b"],
    ['"a\\b"', "a\\b"],
    [`"it's $SHELL"`, "it's bash"],
    ["''", ""],
    ['""', ""],
    ['a""b', "ab"],
    [`'a'"b"c`, "abc"],
    // Set-but-empty and unset differ for the `:`-less modifiers.
    ["${EMPTY-default}", ""],
    ["${EMPTY:-default}", "default"],
    ["${UNSET-default}", "default"],
    ["${EMPTY+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${UNSET+alt}", ""],
    ["${PWD:+alt}", "alt"],
    ["${UNSET:-$PWD}", "/home"],
    ["${UNSET:-${SHELL:-x}}", "bash"],
    ['${UNSET:-"quoted default"}', "quoted default"],
    // Prefix and suffix trimming, with * and ? wildcards.
    ["${PWD#/}", "home"],
    ["${PWD#*o}", "me"],
    ["${PWD##*o}", "me"],
    ["${SHELL%?}", "bas"],
    ["${SHELL%%a*}", "b"],
    ["${SHELL/a/A}", "bAsh"],
    ["${SPACED// /_}", "a__b"],
    // Whitespace inside a value is kept: ProcessWord makes one word.
    ["${SPACED}", "a  b"],
  ];

  it.each(cases)("%s", (input, expected) => {
    expect(expandWord(input, env)).toBe(expected);
  });

  it.each([
    ["'open", "single-quote"],
    ['"open', "double-quote"],
    ["${PWD", "unsupported modifier"],
    ["${UNSET:?is required}", "UNSET: is required"],
  ])("refuses %s (%s)", (input, text) => {
    expect(() => expandWord(input, env)).toThrow(DockerfileError);
    expect(() => expandWord(input, env)).toThrow(text);
  });
});

describe("expandWords: words split on unquoted blanks", () => {
  const cases: [input: string, expected: string[]][] = [
    ["one", ["one"]],
    ["one two  three", ["one", "two", "three"]],
    ["  leading and trailing  ", ["leading", "and", "trailing"]],
    ['"one word" two', ["one word", "two"]],
    ["'one word' two", ["one word", "two"]],
    ["one\\ word two", ["one word", "two"]],
    // An unquoted value is split where it has blanks; a quoted one stays one word.
    ["x${SPACED}y", ["xa", "by"]],
    ['x"${SPACED}"y', ["xa  by"]],
    ["$PWD $SHELL", ["/home", "bash"]],
    // An empty quoted word makes no word.
    ['a "" b', ["a", "b"]],
    // A variable that expands to nothing makes no word either.
    ["a $EMPTY b", ["a", "b"]],
    ["a$EMPTY", ["a"]],
  ];

  it.each(cases)("%s", (input, expected) => {
    expect(expandWords(input, env)).toEqual(expected);
  });

  it("fails on an unterminated quote, like expandWord", () => {
    expect(() => expandWords("a 'b", env)).toThrow(DockerfileError);
  });
});

describe("expandShellWord: BuildKit's ProcessWithMatches cases", () => {
  const cases: [input: string, env: Record<string, string>, expected: string | Error][] = [
    ["x", { DUMMY: "dummy" }, "x"],
    ["x ${UNUSED}", { DUMMY: "dummy" }, "x "],
    ["x ${FOO}", { FOO: "y" }, "x y"],
    ["${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", { FOO: "xxx", BAR: "" }, "xxx  ccc"],
    ["${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", { FOO: "xxx", BAR: "" }, "xxx bbb ccc"],
    ["${FOO:-}", { FOO: "xxx" }, "xxx"],
    ["${FOO:-}", {}, ""],
    ["${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", { FOO: "xxx", BAR: "" }, "aaa bbb "],
    ["${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", { FOO: "xxx", BAR: "" }, "aaa  "],
    ["${FOO?aaa}", { FOO: "xxx" }, "xxx"],
    ["${BAR?bbb}", { BAR: "" }, ""],
    ["${BAZ?ccc}", {}, new Error('failed to process "${BAZ?ccc}": BAZ: ccc')],
    ["${FOO:?aaa}", { FOO: "xxx" }, "xxx"],
    ["${BAR:?bbb}", { BAR: "" }, new Error('failed to process "${BAR:?bbb}": BAR: bbb')],
    ["${BAZ:?}", {}, new Error('failed to process "${BAZ:?}": BAZ: is not allowed to be unset')],
    [
      "${BAR:?}",
      { BAR: "" },
      new Error('failed to process "${BAR:?}": BAR: is not allowed to be empty'),
    ],
    [
      "${FOO=aaa}",
      { FOO: "xxx" },
      new Error('failed to process "${FOO=aaa}": unsupported modifier (=) in substitution'),
    ],
    [
      "${FOO=:aaa}",
      { FOO: "xxx" },
      new Error('failed to process "${FOO=:aaa}": unsupported modifier (=) in substitution'),
    ],
    ["${FOO#()[]{\\}^$.\\*\\?|\\\\}", { FOO: "()[]{}^$.*?|\\x" }, "x"],
    ["${FOO%%\\**}", { FOO: "xx**" }, "xx"],
    ["${FOO#*x*y}", { FOO: "xxyy" }, "y"],
    ["${FOO#*}", { FOO: "xxyy" }, "xxyy"],
    ["${FOO#$BAR}", { FOO: "xxyy", BAR: "x" }, "xyy"],
    ["${FOO#$BAR}", { FOO: "xxyy", BAR: "" }, "xxyy"],
    ["${FOO#}", { FOO: "xxyy" }, "xxyy"],
    ["${FOO##*x}", { FOO: "xxyy" }, "yy"],
    ["${FOO##}", { FOO: "xxyy" }, "xxyy"],
    ["${FOO#?\\?}", { FOO: "???y" }, "?y"],
    ["${ABC:-.}${FOO%x}${ABC:-.}", { FOO: "xxyy" }, ".xxyy."],
    ["${FOO%%\\**\\*}", { FOO: "a***yy*" }, "a"],
    ["${FOO%}", { FOO: "xxyy" }, "xxyy"],
    ["${FOO%%$BAR}", { FOO: "xxyy", BAR: "" }, "xxyy"],
    [
      "${FOO:#}",
      {},
      new Error('failed to process "${FOO:#}": unsupported modifier (:#) in substitution'),
    ],
    [
      "${FOO:%%}",
      {},
      new Error('failed to process "${FOO:%%}": unsupported modifier (:%) in substitution'),
    ],
    [
      "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
      { FOO: "/foo*/*/*.txt", NEEDLE: "\\*/" },
      "/foo.*/*.txt - /foo..*.txt",
    ],
    [
      "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
      { FOO: "/tmp/tmp/bar.txt", NEEDLE: "/tmp" },
      "/tmp/bar.txt - /bar.txt",
    ],
    [
      "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
      { FOO: "/a/foo/b/c.txt", NEEDLE: "/?/", REPLACEMENT: "/" },
      "/foo/b/c.txt - /foo/c.txt",
    ],
    [
      "${FOO/$NEEDLE/$REPLACEMENT}",
      { FOO: "http://google.de", NEEDLE: "http://", REPLACEMENT: "https://" },
      "https://google.de",
    ],
    ["${FOO//\\//\\/}", { FOO: "/tmp/foo.txt" }, "\\/tmp\\/foo.txt"],
    ["${FOO/$BAR/ww}", { FOO: "xxyy", BAR: "" }, "wwxxyy"],
    [
      "${FOO//ww}",
      { FOO: "xxyy" },
      new Error(`failed to process "\${FOO//ww}": syntax error: missing '/' in \${}`),
    ],
    [
      "${FOO//}",
      { FOO: "xxyy" },
      new Error(`failed to process "\${FOO//}": syntax error: missing '/' in \${}`),
    ],
    ["${FOO///}", { FOO: "xxyy" }, "xxyy"],
    ["${FOO///}", {}, ""],
    [
      "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
      { VERSION: "v1.2.3", TARGETOS: "linux", TARGETARCH: "arm", TARGETVARIANT: "v7" },
      "something-v1.2.3.linux-arm-v7.tar.gz",
    ],
    ["${TARGETPLATFORM/\\//-}", { TARGETPLATFORM: "linux/amd64" }, "linux-amd64"],
  ];

  it.each(cases)("%s", (input, env, expected) => {
    if (expected instanceof Error) {
      expect(() => expandWord(input, env)).toThrow(expected.message);
    } else {
      expect(expandWord(input, env)).toBe(expected);
    }
  });

  it("reports the names it found and the ones it did not", () => {
    const result = expandShellWord("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc} $FOO", {
      FOO: "xxx",
      BAR: "",
    });
    expect(result.matched).toEqual(["FOO", "BAR"]);
    expect(result.unmatched).toEqual(["BAZ"]);
  });
});

describe("expandWord: BuildKit's exact error texts", () => {
  const cases: [input: string, message: string][] = [
    ["${}", 'failed to process "${}": syntax error: bad substitution'],
    ["${:x}", 'failed to process "${:x}": syntax error: bad substitution'],
    ["${{x}", 'failed to process "${{x}": syntax error: bad substitution'],
    ["${", `failed to process "\${": syntax error: missing '}'`],
    ["${A:-x", `failed to process "\${A:-x": syntax error: missing '}'`],
    // Go's text/scanner returns EOF (-1) for the modifier, printed as U+FFFD.
    ["${A", 'failed to process "${A": unsupported modifier (\uFFFD) in substitution'],
    ["${A:x}", 'failed to process "${A:x}": unsupported modifier (:x) in substitution'],
    ["he${.}", 'failed to process "he${.}": unsupported modifier (.) in substitution'],
    [
      "'abc",
      `failed to process "'abc": unexpected end of statement while looking for matching single-quote`,
    ],
    [
      '"abc',
      `failed to process "\\"abc": unexpected end of statement while looking for matching double-quote`,
    ],
    ["${A/x", `failed to process "\${A/x": syntax error: missing '/' in \${}`],
    ["${A/x/y", `failed to process "\${A/x/y": syntax error: missing '}'`],
    [
      "${A#\\x}",
      `failed to process "\${A#\\\\x}": invalid pattern (\\x) in substitution: invalid escape '\\x'`,
    ],
    [
      "${A%a\\b}",
      `failed to process "\${A%a\\\\b}": invalid pattern (\\ba) in substitution: invalid escape '\\b'`,
    ],
    ["${A-${B:?no B}}", 'failed to process "${A-${B:?no B}}": B: no B'],
    [
      "\t\u00e9\u0007'",
      `failed to process "\\t\u00e9\\a'": unexpected end of statement while looking for matching single-quote`,
    ],
  ];

  it.each(cases)("%s", (input, message) => {
    try {
      expandWord(input, {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DockerfileError);
      expect((error as DockerfileError).message).toBe(message);
      expect((error as DockerfileError).code).toBe("DOCKERFILE_EXPANSION");
    }
  });

  it("puts the error at the position the caller gives", () => {
    try {
      expandWord("${", {}, { position: { line: 7, column: 5 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ line: 7, column: 5 });
    }
  });
});

describe("expandWord: Go regexp and template semantics", () => {
  it("replaces all matches the way Go's ReplaceAllString does (no extra empty match)", () => {
    expect(expandWord("${A//*/r}", { A: "abc" })).toBe("r");
    expect(expandWord("${A//?/x}", { A: "héllo" })).toBe("xxxxx");
    expect(expandWord("${A//b*/-}", { A: "abcabc" })).toBe("a-");
  });

  it("expands $0 in an all-replacement but splices a single replacement literally", () => {
    expect(expandWord("${A//b/[\\$0]}", { A: "abc" })).toBe("a[\\b]c");
    expect(expandWord("${A/b/[\\$0]}", { A: "abc" })).toBe("a[\\$0]c");
    expect(expandWord("${A//b/\\$\\$}", { A: "abc" })).toBe("a\\$\\$c");
  });

  it("never lets a wildcard cross a newline", () => {
    expect(expandWord("${A#*b}", { A: "a\nb" })).toBe("a\nb");
    expect(expandWord("${A%%b*}", { A: "ab\nc" })).toBe("ab\nc");
  });

  it("trims suffixes shortest and longest", () => {
    expect(expandWord("${A%.*}", { A: "f.tar.gz" })).toBe("f.tar");
    expect(expandWord("${A%%.*}", { A: "f.tar.gz" })).toBe("f");
    expect(expandWord("${A#*.}", { A: "f.tar.gz" })).toBe("tar.gz");
    expect(expandWord("${A##*.}", { A: "f.tar.gz" })).toBe("gz");
  });
});

describe("expandWords: word splitting", () => {
  it("keeps BuildKit's shared-buffer quirk: a ${…} modifier drops the word read before it", () => {
    expect(expandWords("hello${X:-a}b", {})).toEqual(["ab"]);
    expect(expandWords("x hello${X}b", { X: "1" })).toEqual(["x", "hello1b"]);
    expect(expandWord("hello${X:-a}b", {})).toBe("helloab");
  });

  it("keeps heredoc markers and the blanks after them in one word", () => {
    expect(expandWords("a <<  EOF b", {})).toEqual(["a", "<<  EOF", "b"]);
  });

  it("splits on Go's Unicode spaces, not on U+FEFF", () => {
    expect(expandWords("a\u00a0b\u2003c", {})).toEqual(["a", "b", "c"]);
    expect(expandWords("a\ufeffb", {})).toEqual(["a\ufeffb"]);
  });

  it("gives a word without $, quotes, escapes or < what the lexer gives it", () => {
    // Such words skip the lexer; an empty quote ('') after the last character sends the same
    // word through the quote-aware path (lexSimpleWord, itself checked against the lexer), and
    // changes neither its value nor its words.
    const blanks = ["\t", "\n", "\v", "\f", "\r", " ", "\u0085", "\u00a0", "\u1680", "\u2000"];
    blanks.push("\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000");
    const plain = [
      "",
      "word",
      "two  words",
      ...blanks.map((blank) => `a${blank}b${blank}${blank}c${blank}`),
      ` \t lead${blanks.join("")}and trail`,
      "\ufeff-inside",
      "a\u{1F600}b \ud800 c\udc00",
      "key=value:x/y@z,#!%&*()[]{}+?",
    ];
    for (const word of plain) {
      const lexed = expandShellWord(`${word}x''`, env);
      const fast = expandShellWord(`${word}x`, env);
      expect(fast, JSON.stringify(word)).toEqual(lexed);
    }
    // A leading byte-order mark is dropped by the lexer, so it is not plain.
    expect(expandShellWord("\ufeffa b", env)).toEqual({
      value: "a b",
      words: ["a", "b"],
      matched: [],
      unmatched: [],
    });
  });
});

describe("expandWord: lexer options", () => {
  it("uses the backtick escape token", () => {
    expect(expandWord("a`$b\\c", { b: "x" }, { escapeToken: "`" })).toBe("a$b\\c");
  });

  it("keeps quotes and escapes when asked", () => {
    expect(expandWord(`'a' "b" \\c`, {}, { rawQuotes: true, rawEscapes: true })).toBe(
      `'a' "b" \\c`,
    );
  });

  it("leaves unset variables as written when asked", () => {
    expect(expandWord("$A ${B} ${C:-x} ${D/a/b} $E", { E: "e" }, { skipUnsetEnv: true })).toBe(
      "$A ${B} ${C:-x} ${D/a/b} e",
    );
  });

  it("treats quotes as plain characters when asked", () => {
    expect(expandWord(`'$A'`, { A: "1" }, { skipProcessQuotes: true })).toBe("'1'");
  });

  it("skips a byte-order mark at the start like Go's text/scanner", () => {
    expect(expandWord("\ufeff$A", { A: "1" })).toBe("1");
  });
});

describe("expandShellWord: hostile input", () => {
  /** The error an expansion throws; fails the test when it returns or throws anything else. */
  function expansionError(run: () => unknown): DockerfileError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(DockerfileError);
      return error as DockerfileError;
    }
    throw new Error("expected the expansion to fail");
  }

  it("expands 10,000 nested ${X:-…} words without overflowing the call stack", () => {
    const depth = 10_000;
    const nested = (inner: string): string => "${X:-".repeat(depth) + inner + "}".repeat(depth);
    expect(expandShellWord(nested("a b"), {})).toEqual({
      value: "a b",
      words: ["a", "b"],
      matched: [],
      unmatched: ["X"],
    });
    expect(expandWord(`"${"${X:-a".repeat(depth / 2)}${"}".repeat(depth / 2)}"`, {})).toBe(
      "a".repeat(depth / 2),
    );
    const unclosed = expansionError(() => expandWord(nested("a").slice(0, -1), {}));
    expect(unclosed.message.endsWith(": syntax error: missing '}'")).toBe(true);
  });

  it("rejects nesting deeper than MAX_NESTING with a DockerfileError, not a RangeError", () => {
    const depth = MAX_NESTING + 1;
    const error = expansionError(() =>
      expandWord("${X:-".repeat(depth) + "a" + "}".repeat(depth), {}),
    );
    expect(error.code).toBe("DOCKERFILE_EXPANSION");
    expect(error.message).toMatch(
      /^failed to process "\$\{X:-.*: syntax error: \$\{…\} and quotes nested more than 10000 levels deep$/s,
    );
    const quotes = expansionError(() => expandWord('"${X:-'.repeat(depth), {}));
    expect(quotes.message).toContain("nested more than 10000 levels deep");
  });

  it("rejects an expansion that grows past MAX_EXPANSION_LENGTH", () => {
    // Each level replaces every character of Y by the level below: the text triples per level.
    const word = "${Y//?/".repeat(30) + "ab" + "}".repeat(30);
    const error = expansionError(() => expandWord(word, { Y: "abc" }));
    expect(error.code).toBe("DOCKERFILE_EXPANSION");
    expect(error.message).toContain(`expansion longer than ${MAX_EXPANSION_LENGTH} characters`);
  });
});

describe("quoteGo", () => {
  it("quotes like Go's strconv.Quote", () => {
    expect(quoteGo('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteGo("\u0000\n\t\u007f")).toBe('"\\x00\\n\\t\\x7f"');
    expect(quoteGo("♥ é\u00a0\u{1F600}\u{E0001}")).toBe('"♥ é\\u00a0\u{1F600}\\U000e0001"');
  });
});

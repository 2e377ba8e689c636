import { describe, expect, it } from "vitest";
import type { ExpandWordOptions, ShellWordExpansion } from "./expand-words.js";
import { lexSimpleWord } from "./lex-simple-word.js";
import { runSteps } from "./run-steps.js";
import { ShellSyntaxError } from "./shell-syntax-error.js";
import { ShellWordLexer } from "./shell-word-lexer.js";

const env = new Map([
  ["X", "1  2"],
  ["E", ""],
  ["a", "v"],
  ["_1", " lead"],
]);

/** The full lexer, as expandShellWord ran every word before: the reference. */
function lexed(word: string, options: ExpandWordOptions): ShellWordExpansion | "error" {
  const lexer = new ShellWordLexer(word, env, options);
  try {
    const { result, words } = runSteps(
      lexer.processStopOn(undefined, options.rawEscapes ?? false, true),
    );
    return { value: result, words, matched: [...lexer.matched], unmatched: [...lexer.unmatched] };
  } catch (error) {
    if (error instanceof ShellSyntaxError) return "error";
    throw error;
  }
}

const OPTIONS: ExpandWordOptions[] = [];
for (const escapeToken of ["\\", "`"] as const) {
  for (const rawQuotes of [false, true]) {
    for (const rawEscapes of [false, true]) {
      for (const skipUnsetEnv of [false, true]) {
        OPTIONS.push({ escapeToken, rawQuotes, rawEscapes, skipUnsetEnv });
      }
    }
  }
}

describe("lexSimpleWord", () => {
  it("gives what the lexer gives on BuildKit's everyday words", () => {
    const words = [
      'PATH="/app/bin:$PATH"',
      "golang:${GO_VERSION}-alpine",
      "'single  quoted' $X${a}b",
      '"a \\"b\\" \\$c \\\\d \\e" `x` \\ y\\',
      "$1 $12a $@ $$ $-x $ ${_1}",
      "\uFEFF$X\u00a0\u{1F600}",
    ];
    for (const word of words) {
      for (const options of OPTIONS) {
        const simple = lexSimpleWord(word, env, options);
        expect(simple, `${JSON.stringify(word)} ${JSON.stringify(options)}`).toEqual(
          lexed(word, options),
        );
      }
    }
  });

  it("leaves modifiers, heredoc markers and errors to the lexer", () => {
    for (const word of ["${X:-d}", "${X#p}", "${X/a/b}", "a<<EOF", "${", "${}", "'open", '"open']) {
      expect(lexSimpleWord(word, env, {}), word).toBeUndefined();
    }
    expect(lexSimpleWord("'a'", env, { skipProcessQuotes: true })).toBeUndefined();
  });

  it("agrees with the lexer on 20,000 random words, or leaves them to it", () => {
    const alphabet = Array.from("$${}{}::-''\"\"\\\\`< \tab_1X0@");
    alphabet.push("\u00A0", "\u{1F600}", "\uFEFF", "\uD800");
    let state = 0x2468_ace0;
    const random = (): number => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return state;
    };
    let simple = 0;
    for (let i = 0; i < 20_000; i++) {
      let word = "";
      for (let length = random() % 12; length > 0; length--) {
        word += alphabet[random() % alphabet.length] ?? "";
      }
      const options = OPTIONS[random() % OPTIONS.length] ?? {};
      const fast = lexSimpleWord(word, env, options);
      if (fast === undefined) continue;
      simple++;
      expect(fast, `${JSON.stringify(word)} ${JSON.stringify(options)}`).toEqual(
        lexed(word, options),
      );
    }
    // Enough of them are simple for the comparison to mean something.
    expect(simple).toBeGreaterThan(5_000);
  });
});

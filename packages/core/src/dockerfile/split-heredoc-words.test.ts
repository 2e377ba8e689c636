import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import { expandWords } from "./expand-words.js";
import { splitHeredocWords, type HeredocLexOptions } from "./split-heredoc-words.js";

// Generated inputs: an explicit, generous limit, so that a loaded machine cannot trip vitest's
// 5 s default (these take 1-4 s on a busy 2-core machine).
const TIMEOUT_MS = 60_000;

const NO_VARIABLES: ReadonlyMap<string, string> = new Map();

/** The general lexer (recursive), as the reference for the same options. */
function reference(text: string, options: HeredocLexOptions): ReturnType<typeof splitHeredocWords> {
  try {
    return { words: expandWords(text, NO_VARIABLES, { ...options, skipUnsetEnv: true }) };
  } catch (error) {
    if (error instanceof DockerfileError) return { error: error.message };
    throw error;
  }
}

const OPTION_SETS: readonly HeredocLexOptions[] = [
  { rawQuotes: true, rawEscapes: true },
  { rawQuotes: true, rawEscapes: false },
  { rawQuotes: false, rawEscapes: false },
];

describe("splitHeredocWords", () => {
  it("splits a line into raw words with every variable left as written", () => {
    expect(
      splitHeredocWords(`RUN 3<<-  'EOF' "a b" \\x $V \${W} \${X:-d} <<Y`, OPTION_SETS[0]!),
    ).toEqual({
      words: ["RUN", "3<<-", "'EOF'", '"a b"', "\\x", "$V", "${W}", "${X:-d}", "<<Y"],
    });
  });

  it("keeps BuildKit's quirks: a nested word drops the word read so far, and $-text is split", () => {
    expect(splitHeredocWords("RUN ab${X:-c d}e", OPTION_SETS[0]!)).toEqual({
      words: ["RUN", "${X:-c", "d}e"],
    });
  });

  it("reports BuildKit's errors with the text", () => {
    expect(splitHeredocWords("'EOF", OPTION_SETS[2]!)).toEqual({
      error:
        'failed to process "\'EOF": unexpected end of statement while looking for matching single-quote',
    });
    expect(splitHeredocWords("${X:-${Y/a", OPTION_SETS[2]!)).toEqual({
      error: `failed to process "\${X:-\${Y/a": syntax error: missing '}'`,
    });
  });

  it("splits a line without $, quotes, escapes or blanks after << as the lexer does", () => {
    // Such lines skip the lexer; an empty quote ('') after the last character sends the same
    // line through it and changes no word.
    for (const line of [
      "RUN <<EOF",
      "COPY <<-EOF /etc/app.conf",
      "RUN 3<<EOF <<<x a<b <<",
      "a\u0085b\u00a0c\u3000d\ve",
      " \t ",
      "",
    ]) {
      for (const rawEscapes of [true, false]) {
        const options = { rawQuotes: false, rawEscapes };
        expect(splitHeredocWords(`${line}x`, options), JSON.stringify(line)).toEqual(
          splitHeredocWords(`${line}x''`, options),
        );
      }
    }
    // Blanks after << stay in the word: those lines take the lexer.
    expect(splitHeredocWords("RUN << EOF <<\tX", { rawQuotes: true, rawEscapes: true })).toEqual({
      words: ["RUN", "<< EOF", "<<\tX"],
    });
  });

  it("agrees with expandWords on 20,000 random strings", { timeout: TIMEOUT_MS }, () => {
    const alphabet = [
      ...Array.from("$${}{}::-+?#%//''\"\"\\\\<< \t\rab_1é"),
      "\u00A0",
      "\u{1F600}",
      "\uFEFF",
    ];
    let state = 0x1234_5678;
    const random = () => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return state / 4_294_967_296;
    };
    let disagreements = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(random() * 24);
      let text = "";
      for (let j = 0; j < length; j++)
        text += alphabet[Math.floor(random() * alphabet.length)] ?? "";
      for (const options of OPTION_SETS) {
        const expected = reference(text, options);
        if ("error" in expected) errors++;
        const actual = splitHeredocWords(text, options);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          disagreements++;
          expect({ text, options, actual }).toEqual({ text, options, actual: expected });
        }
      }
    }
    expect(disagreements).toBe(0);
    expect(errors).toBeGreaterThan(1_000);
  });

  it("stays linear and off the call stack on deeply nested ${…}", () => {
    const depth = 20_000;
    const text = `<<${"${X:-".repeat(depth)}${"}".repeat(depth)}`;
    const result = splitHeredocWords(text, OPTION_SETS[0]!);
    expect("words" in result && result.words[0]?.length).toBe(text.length - 2);
  });
});

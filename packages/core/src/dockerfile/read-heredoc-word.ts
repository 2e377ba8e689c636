import { expandWords } from "./expand-words.js";

/** BuildKit's `parser.MustParseHeredoc` on one word: `<<EOF`, `<<-"EOF"`, `3<<EOF` … or undefined. */
export function readHeredocWord(
  word: string,
): { name: string; expand: boolean; chomp: boolean; fd: number } | undefined {
  // Nearly every word is no heredoc; the test below is only worth it for those with `<<`.
  if (!word.includes("<<")) return undefined;
  const match = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/.exec(word);
  if (match === null) return undefined;
  const rest = match[3] ?? "";
  if (rest === "") return undefined;
  try {
    const words = expandWords(rest, {}, { skipUnsetEnv: true });
    if (words.length !== 1) return undefined;
    const raw = expandWords(rest, {}, { skipUnsetEnv: true, rawQuotes: true });
    if (raw.length !== 1) return undefined;
    const name = words[0] ?? "";
    const quotes = (text: string): number => text.replace(/[^'"]/g, "").length;
    return {
      name,
      expand: quotes(name) === quotes(raw[0] ?? ""),
      chomp: match[2] === "-",
      fd: Number(match[1] === "" ? "0" : match[1]),
    };
  } catch {
    return undefined;
  }
}

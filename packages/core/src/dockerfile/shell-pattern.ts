// BuildKit's shell patterns (`${X#p}`, `${X%p}`, `${X/p/r}`) as regular expressions.
import { runeText, scannerChars } from "./go/text-scanner.js";
import { ShellSyntaxError } from "./shell-syntax-error.js";

/**
 * BuildKit's `convertShellPatternToRegex`: `*` and `?` are wildcards, `\` escapes `*`, `?`, `\`
 * (and is dropped before `}` and `/`), no bracket expressions. Go's `.` never matches a newline.
 */
export function compilePattern(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = scannerChars(pattern);
  let source = anchored ? "^" : "";
  const star = greedy ? "[^\\n]*" : "[^\\n]*?";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? "";
    switch (ch) {
      case "*":
        source += star;
        break;
      case "?":
        source += "[^\\n]";
        break;
      case "\\": {
        const following = chars[i + 1];
        if (following === "}" || following === "/") break;
        i++;
        if (following !== "*" && following !== "?" && following !== "\\") {
          throw new ShellSyntaxError(
            `invalid pattern (${pattern}) in substitution: invalid escape '\\${runeText(following)}'`,
          );
        }
        source += "\\" + following;
        break;
      }
      case "[":
      case "]":
      case "{":
      case "}":
      case ".":
      case "+":
      case "(":
      case ")":
      case "|":
      case "^":
      case "$":
        source += "\\" + ch;
        break;
      default:
        source += ch;
    }
  }
  return new RegExp(source, "gu");
}

export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const regex = compilePattern(pattern, greedy, true);
  const match = regex.exec(value);
  return match === null ? value : value.slice(match.index + match[0].length);
}

export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // A regular expression cannot find the shortest rightmost match, so BuildKit reverses both the
  // value and the pattern (keeping `\x` escapes in order) and trims a prefix instead.
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function reverseString(text: string): string {
  return Array.from(text).reverse().join("");
}

function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last;) {
    const ch = chars[i] ?? "";
    if (ch === "\\" && i !== last) {
      out[last - i - 1] = ch;
      out[last - i] = chars[i + 1] ?? "";
      i += 2;
    } else {
      out[last - i] = ch;
      i++;
    }
  }
  return out.join("");
}

// Go's `regexp` replacement, as BuildKit's `${X//pattern/replacement}` runs it.
import { isGoDigit, isGoLetter } from "./unicode.js";

/**
 * Go's `Regexp.ReplaceAllString` for a global `regex` without groups: its empty-match rules and
 * `$0`/`${0}`/`$$` template expansion; `checkLength` sees the output as it grows.
 */
export function replaceAllGo(
  regex: RegExp,
  subject: string,
  template: string,
  checkLength: (text: string) => void,
): string {
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= subject.length) {
    regex.lastIndex = searchPos;
    const match = regex.exec(subject);
    if (match === null) break;
    const start = match.index;
    const end = start + match[0].length;
    out += subject.slice(lastMatchEnd, start);
    // No replacement for an empty match right after another match.
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(template, match[0]);
    checkLength(out);
    lastMatchEnd = end;
    const width =
      searchPos < subject.length ? ((subject.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + subject.slice(lastMatchEnd);
}

function expandGoTemplate(template: string, whole: string): string {
  let out = "";
  let rest = template;
  for (let dollar = rest.indexOf("$"); dollar >= 0; dollar = rest.indexOf("$")) {
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith("$")) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    const reference = extractTemplateName(rest);
    if (reference === undefined) {
      out += "$";
      continue;
    }
    rest = reference.rest;
    // The pattern has no groups: only `$0` (the whole match) expands; other names are empty.
    if (reference.group === 0) out += whole;
  }
  return out + rest;
}

function extractTemplateName(text: string): { group: number; rest: string } | undefined {
  const brace = text.startsWith("{");
  const body = brace ? text.slice(1) : text;
  let name = "";
  for (const ch of body) {
    if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== "_") break;
    name += ch;
  }
  if (name === "") return undefined;
  let consumed = name.length;
  if (brace) {
    if (body[consumed] !== "}") return undefined;
    consumed++;
  }
  let group = /^[0-9]+$/.test(name) && name.length <= 9 ? Number(name) : -1;
  if (name.startsWith("0") && name.length > 1) group = -1;
  return { group, rest: body.slice(consumed) };
}

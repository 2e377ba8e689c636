import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import type { DockerfileAst } from "./ast.js";
import { dumpDockerfile } from "./dump-dockerfile.js";
import { parseDockerfile } from "./parse-dockerfile.js";
import { readSeedDockerfiles } from "./seed-dockerfiles.test-support.js";

const SEED = 0x5eed_2026;
// 12,000 cases take about 2 s on a busy 2-core machine; the limit leaves room for a slower one.
const TIMEOUT_MS = 60_000;

/** mulberry32: small, fast and deterministic. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ALPHABET = [
  ...Array.from("abcxyzFROMRUNCOPY019 \t=-_./:"),
  "\\",
  "`",
  '"',
  "'",
  "<",
  "<<",
  "#",
  "$",
  "{",
  "}",
  "[",
  "]",
  ",",
  "\n",
  "\r",
  "\r\n",
  "\v",
  "\f",
  "\u0000",
  "\u0085",
  "\u00A0",
  "\u0130",
  "é",
  "à",
  "\u3000",
  "\uFEFF",
  "\u{1F600}",
  "\uD800",
];

const FRAGMENTS = [
  "FROM alpine AS build",
  "from scratch",
  "RUN make \\",
  "RUN <<EOF",
  "RUN <<-'EOF' <<X",
  "COPY <<A <<B /dest",
  "COPY --from=build /a /b",
  "COPY --chown='a b' --link x y",
  'ADD ["a", "b"]',
  'CMD ["a", 1]',
  "CMD ['x']",
  'ENTRYPOINT ["sh", "-c"] x',
  "ENV A=1 B='two words'",
  "ENV X",
  "LABEL a b c",
  'ARG V="x y"',
  'HEALTHCHECK CMD ["curl"]',
  "ONBUILD ONBUILD RUN x",
  "ONBUILD COPY <<EOF /x",
  "EXPOSE 80/tcp",
  'SHELL ["pwsh"]',
  "USER nobody",
  "FOO bar",
  "EOF",
  "A",
  "B",
  "\tEOF",
  "# escape=`",
  "# syntax=docker/dockerfile:1",
  "# check=error=true",
  "# escape=\\",
  "# comment \\",
  "#",
  "",
  "   ",
  "\\",
  "`",
  "RUN x `",
  "WORKDIR /a \\\\",
];

type Mutation = (lines: string[], random: () => number) => void;

function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function index(lines: readonly string[], random: () => number): number {
  return Math.floor(random() * Math.max(1, lines.length));
}

function insertAt(line: string, text: string, random: () => number): string {
  const at = Math.floor(random() * (line.length + 1));
  return line.slice(0, at) + text + line.slice(at);
}

const MUTATIONS: readonly Mutation[] = [
  (lines, random) => void lines.splice(index(lines, random), 1),
  (lines, random) => {
    const at = index(lines, random);
    lines.splice(at, 0, lines[at] ?? "");
  },
  (lines, random) => {
    const a = index(lines, random);
    const b = index(lines, random);
    [lines[a], lines[b]] = [lines[b] ?? "", lines[a] ?? ""];
  },
  (lines, random) => {
    const at = index(lines, random);
    lines[at] = `${lines[at] ?? ""}${pick([" \\", "\\", " `", "\\\\", " \\  "], random)}`;
  },
  (lines, random) => {
    const at = index(lines, random);
    lines[at] =
      `${lines[at] ?? ""} ${pick(["<<EOF", "<<-EOF", "<<'EOF'", '3<<"A"', "<<EOF <<B"], random)}`;
  },
  (lines, random) => {
    const at = index(lines, random);
    lines[at] = insertAt(lines[at] ?? "", pick(['"', "'", "[", "]", '["', '"]'], random), random);
  },
  (lines, random) => {
    lines.splice(
      random() < 0.5 ? 0 : index(lines, random),
      0,
      pick(["# escape=`", "# escape=\\", "# syntax=x", "# check=skip=all", "#escape=x"], random),
    );
  },
  (lines, random) => void lines.splice(index(lines, random), 0, pick(FRAGMENTS, random)),
  (lines, random) => {
    const at = index(lines, random);
    lines[at] = insertAt(lines[at] ?? "", pick(ALPHABET, random), random);
  },
  (lines, random) => void lines.splice(index(lines, random)),
];

function mutate(seedText: string, random: () => number): string {
  const lines = seedText.split("\n");
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) pick(MUTATIONS, random)(lines, random);
  let text = lines.join(random() < 0.15 ? "\r\n" : "\n");
  if (random() < 0.1) text = "\uFEFF" + text;
  return text;
}

function randomCharacters(random: () => number): string {
  const length = Math.floor(random() * 200);
  let text = "";
  for (let i = 0; i < length; i++) text += pick(ALPHABET, random);
  return text;
}

function randomLines(random: () => number): string {
  const count = 1 + Math.floor(random() * 12);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const fragment = pick(FRAGMENTS, random);
    lines.push(
      random() < 0.3 ? insertAt(fragment, randomCharacters(random).slice(0, 8), random) : fragment,
    );
  }
  return lines.join("\n");
}

/**
 * The invariants of a successful parse that hold for every input: the first one broken, or undefined.
 * Plain comparisons, not `expect`: 12,000 cases make some 120,000 checks, and `expect` would turn a
 * one-second test into ten.
 */
function brokenInvariant(ast: DockerfileAst, text: string): string | undefined {
  const physicalLines = text.split("\n").length;
  if (ast.children.length === 0) return "no instructions";
  let previousEnd = 0;
  for (const [index, child] of ast.children.entries()) {
    const { start, end } = child.range;
    if (start.line <= previousEnd)
      return `instruction ${index} starts on line ${start.line}, inside the one before`;
    if (end.line < start.line)
      return `instruction ${index} ends (${end.line}) before it starts (${start.line})`;
    if (end.line > physicalLines)
      return `instruction ${index} ends on line ${end.line} of ${physicalLines}`;
    if (start.column < 1) return `instruction ${index} starts in column ${start.column}`;
    previousEnd = end.line;
  }
  const dumped = dumpDockerfile(ast).split("\n").length;
  if (dumped !== ast.children.length + 1) {
    return `the dump has ${dumped} lines for ${ast.children.length} instructions`;
  }
  return undefined;
}

describe("parseDockerfile on random and mutated input", { timeout: TIMEOUT_MS }, () => {
  it("returns an AST or throws a DockerfileError with a line, on 12,000 cases", () => {
    const random = createRandom(SEED);
    const seeds = readSeedDockerfiles();
    expect(seeds.length).toBeGreaterThan(50);

    const cases: string[] = [];
    for (const seedText of seeds) for (let i = 0; i < 70; i++) cases.push(mutate(seedText, random));
    while (cases.length < 9_000) cases.push(randomLines(random));
    while (cases.length < 12_000) cases.push(randomCharacters(random));

    let parsed = 0;
    let failed = 0;
    const problems: string[] = [];
    let slowest = { milliseconds: 0, text: "" };
    for (const text of cases) {
      const started = performance.now();
      let outcome: DockerfileAst | DockerfileError;
      try {
        outcome = parseDockerfile(text);
      } catch (error) {
        if (!(error instanceof DockerfileError)) {
          throw new Error(
            `parseDockerfile threw a non-DockerfileError on ${JSON.stringify(text)}`,
            {
              cause: error,
            },
          );
        }
        outcome = error;
      }
      const elapsed = performance.now() - started;
      if (elapsed > slowest.milliseconds) slowest = { milliseconds: elapsed, text };
      let problem: string | undefined;
      if (outcome instanceof DockerfileError) {
        failed++;
        if (outcome.code !== "DOCKERFILE_SYNTAX") problem = `code ${outcome.code}`;
        else if (!(outcome.line >= 1 && outcome.column >= 1)) {
          problem = `error at ${outcome.line}:${outcome.column}: ${outcome.message}`;
        }
      } else {
        parsed++;
        problem = brokenInvariant(outcome, text);
      }
      if (problem !== undefined) problems.push(`${problem} on ${JSON.stringify(text)}`);
    }

    // At most a few, so that a broken invariant is readable.
    expect(problems.slice(0, 5)).toEqual([]);
    expect(parsed + failed).toBe(cases.length);
    // Both outcomes must be exercised, or the generator has gone wrong.
    expect(parsed).toBeGreaterThan(1_000);
    expect(failed).toBeGreaterThan(100);
    console.info(
      `fuzz: ${cases.length} cases, ${parsed} parsed, ${failed} rejected; slowest ` +
        `${slowest.milliseconds.toFixed(2)} ms (${slowest.text.length} chars)`,
    );
  });
});

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import type { DockerfileAst } from "./ast.js";
import { dumpDockerfile } from "./dump-dockerfile.js";
import { parseDockerfile } from "./parse-dockerfile.js";

const shared = new URL("../../../../../shared/", import.meta.url);
const SEED = 0x5eed_2026;

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

/** Every Dockerfile under shared/conformance and shared/corpus/dockerfiles. */
function readSeedFiles(): string[] {
  const files: string[] = [];
  const walk = (folder: URL): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(new URL(`${entry.name}/`, folder));
      else if (entry.name === "Dockerfile" || entry.name.endsWith(".Dockerfile")) {
        files.push(readFileSync(new URL(entry.name, folder), "utf8"));
      }
    }
  };
  walk(new URL("conformance/", shared));
  walk(new URL("corpus/dockerfiles/", shared));
  return files;
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

/** Invariants of a successful parse that hold for every input. */
function checkAst(ast: DockerfileAst, text: string): void {
  const physicalLines = text.split("\n").length;
  expect(ast.children.length).toBeGreaterThan(0);
  let previousEnd = 0;
  for (const child of ast.children) {
    expect(child.range.start.line).toBeGreaterThan(previousEnd);
    expect(child.range.end.line).toBeGreaterThanOrEqual(child.range.start.line);
    expect(child.range.end.line).toBeLessThanOrEqual(physicalLines);
    expect(child.range.start.column).toBeGreaterThanOrEqual(1);
    previousEnd = child.range.end.line;
  }
  expect(dumpDockerfile(ast).split("\n")).toHaveLength(ast.children.length + 1);
}

describe("parseDockerfile on random and mutated input", () => {
  it("returns an AST or throws a DockerfileError with a line, on 12,000 cases", () => {
    const random = createRandom(SEED);
    const seeds = readSeedFiles();
    expect(seeds.length).toBeGreaterThan(50);

    const cases: string[] = [];
    for (const seedText of seeds) for (let i = 0; i < 70; i++) cases.push(mutate(seedText, random));
    while (cases.length < 9_000) cases.push(randomLines(random));
    while (cases.length < 12_000) cases.push(randomCharacters(random));

    let parsed = 0;
    let failed = 0;
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
      if (outcome instanceof DockerfileError) {
        failed++;
        expect(outcome.code).toBe("DOCKERFILE_SYNTAX");
        expect(outcome.line).toBeGreaterThanOrEqual(1);
        expect(outcome.column).toBeGreaterThanOrEqual(1);
      } else {
        parsed++;
        checkAst(outcome, text);
      }
    }

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

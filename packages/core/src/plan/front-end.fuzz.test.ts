import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { DockerfileError, UnknownStageError, UsageError, isStagecraftError } from "../errors.js";
import { readSeedDockerfiles } from "../dockerfile/seed-dockerfiles.test-support.js";
import { analyzeDockerfile, type AnalyzeDockerfileOptions } from "./analyze-dockerfile.js";
import { GRAPH_CASES } from "./stage-graph-cases.test-support.js";

const CASES = 12_000;
const SEED = 0x5eed_f00d;
const WARM_UP = 500;

/** The repository's Dockerfiles, the parser cases and the stage-graph cases, as seeds for mutation. */
function readSeeds(): string[] {
  return [...readSeedDockerfiles(), ...GRAPH_CASES.map((entry) => entry.text)];
}

/** mulberry32: small, fast, and the same sequence on every run. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const names = [
  "build",
  "base",
  "x",
  "Builder",
  "scratch",
  "stage-1",
  "0",
  "1",
  "9",
  "-1",
  "a_",
  "tools",
];
const tokens = [
  "--from=",
  "--from=build ",
  "--from=0 ",
  "--from=$X ",
  " AS x",
  " AS build",
  " as Builder",
  "$",
  "${",
  "${X:-",
  "}",
  "${BUILDPLATFORM}",
  '"',
  "'",
  "\\",
  "`",
  "<<EOF",
  "<<-'EOF'",
  "\nEOF\n",
  "\n",
  "--mount=from=build,target=/t ",
  "--mount=type=cache,target=/c ",
  "--platform=$TARGETPLATFORM ",
  "--platform= ",
  "ONBUILD ",
  "[",
  '["a", "b"]',
  "=",
  " ",
  "#",
];
const lines = [
  "FROM alpine",
  "FROM alpine AS build",
  "FROM build",
  "FROM ${BASE:-alpine} AS base",
  "FROM --platform=$BUILDPLATFORM golang AS tools",
  "FROM scratch",
  "ARG BASE=alpine",
  "ARG X",
  "COPY --from=build /a /b",
  "COPY --from=0 /a /b",
  "COPY --from=nginx:latest /a /b",
  "RUN --mount=from=tools,target=/t true",
  "RUN --mount=type=cache,target=/root/.cache make",
  "ONBUILD COPY --from=tools /x /x",
  "ONBUILD RUN --mount=from=base,target=/b true",
  "RUN <<EOF\necho hi\nEOF",
  "COPY <<A /dest\nbody\nA",
  "# escape=`",
  "ENV A=1 B=2",
  "HEALTHCHECK --interval=5s CMD true",
  "WORKDIR /app",
  "LABEL a=b",
];

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("empty list");
  return item;
}

function mutate(random: () => number, text: string): string {
  const rows = text.split("\n");
  const at = (): number => Math.floor(random() * (rows.length + 1));
  const rounds = 1 + Math.floor(random() * 4);
  for (let round = 0; round < rounds; round++) {
    const row = Math.min(at(), rows.length - 1);
    switch (Math.floor(random() * 8)) {
      case 0:
        rows.splice(row, 1);
        break;
      case 1:
        rows.splice(row, 0, rows[row] ?? "");
        break;
      case 2: {
        const other = Math.min(at(), rows.length - 1);
        [rows[row], rows[other]] = [rows[other] ?? "", rows[row] ?? ""];
        break;
      }
      case 3:
        rows.splice(at(), 0, pick(random, lines));
        break;
      case 4: {
        const current = rows[row] ?? "";
        const column = Math.floor(random() * (current.length + 1));
        rows[row] = current.slice(0, column) + pick(random, tokens) + current.slice(column);
        break;
      }
      case 5: {
        const current = rows[row] ?? "";
        const column = Math.floor(random() * (current.length + 1));
        rows[row] = current.slice(0, column) + current.slice(column + 1 + Math.floor(random() * 4));
        break;
      }
      case 6:
        rows.length = Math.max(0, Math.min(rows.length, at()));
        break;
      default:
        rows.splice(
          at(),
          0,
          `${pick(random, ["FROM", "COPY", "RUN", "from"])} ${pick(random, tokens)}${pick(random, names)}${pick(random, tokens)}`,
        );
    }
  }
  return rows.join("\n");
}

function randomDockerfile(random: () => number): string {
  const count = 1 + Math.floor(random() * 10);
  const head = random() < 0.8 ? ["FROM alpine AS base"] : [];
  return [
    ...head,
    ...Array.from({ length: count }, () =>
      random() < 0.3
        ? `${pick(random, lines)}${pick(random, tokens)}${pick(random, names)}`
        : pick(random, lines),
    ),
  ].join(random() < 0.2 ? "\r\n" : "\n");
}

function randomOptions(random: () => number): AnalyzeDockerfileOptions {
  const options: { -readonly [K in keyof AnalyzeDockerfileOptions]: AnalyzeDockerfileOptions[K] } =
    {};
  if (random() < 0.3) {
    options.targets = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
      pick(random, names),
    );
  }
  if (random() < 0.2)
    options.buildArgs = { BASE: pick(random, names), X: pick(random, ["", "build", "$"]) };
  if (random() < 0.1)
    options.platform = pick(random, ["linux/arm64", "linux/arm/v7", "windows", "bogus/*"]);
  return options;
}

describe("analyzeDockerfile under fuzzing", () => {
  it(`returns a plan or throws a located StagecraftError for ${CASES} seeded inputs`, () => {
    const seeds = readSeeds();
    const random = randomSource(SEED);
    const outcomes = { plans: 0, dockerfileErrors: 0, unknownTargets: 0, usageErrors: 0 };
    let slowest = { ms: -1, index: -1, text: "" };

    for (let index = 0; index < CASES; index++) {
      // Many seeds (BuildKit's parser cases) start without FROM; a prefix lets the graph see them.
      const prefix = random() < 0.4 ? "FROM alpine AS build\n" : "";
      const text =
        random() < 0.85 ? mutate(random, prefix + pick(random, seeds)) : randomDockerfile(random);
      const options = randomOptions(random);
      const started = performance.now();
      try {
        const { plan, json } = analyzeDockerfile(text, options);
        const stageIds = new Set(json.stages.map((stage) => stage.id));
        expect(json.reachable.every((id) => stageIds.has(id))).toBe(true);
        expect(plan.order).toHaveLength(plan.stages.length);
        expect(plan.levels.flat().sort((a, b) => a - b)).toEqual(plan.stages);
        outcomes.plans++;
      } catch (error) {
        if (!isStagecraftError(error)) {
          throw new Error(`case ${index} threw a non-stagecraft error: ${String(error)}\n${text}`, {
            cause: error,
          });
        }
        if (error instanceof DockerfileError) {
          if (!(error.line >= 1 && error.column >= 1)) {
            throw new Error(
              `case ${index}: ${error.message} at ${error.line}:${error.column}\n${text}`,
              { cause: error },
            );
          }
          outcomes.dockerfileErrors++;
        } else if (error instanceof UnknownStageError) {
          expect(options.targets).toBeDefined();
          outcomes.unknownTargets++;
        } else if (error instanceof UsageError) {
          expect(options.platform).toBe("bogus/*");
          outcomes.usageErrors++;
        } else {
          throw new Error(`case ${index}: unexpected ${error.name}: ${error.message}`, {
            cause: error,
          });
        }
      }
      const ms = performance.now() - started;
      // The first cases pay for JIT warm-up; they would hide the genuinely slow inputs.
      if (index >= WARM_UP && ms > slowest.ms) slowest = { ms, index, text };
    }

    console.info(
      `front-end fuzz: ${CASES} cases`,
      outcomes,
      `slowest: case ${slowest.index}, ${slowest.ms.toFixed(2)} ms, ${slowest.text.length} chars, starts ${JSON.stringify(slowest.text.slice(0, 80))}`,
    );
    expect(
      outcomes.plans + outcomes.dockerfileErrors + outcomes.unknownTargets + outcomes.usageErrors,
    ).toBe(CASES);
    // Both paths must be exercised, or the generator is broken.
    expect(outcomes.plans).toBeGreaterThan(CASES / 10);
    expect(outcomes.dockerfileErrors).toBeGreaterThan(CASES / 10);
  }, 60_000);
});

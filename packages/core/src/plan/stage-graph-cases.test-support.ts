// Multi-stage Dockerfiles with the stage graph BuildKit's dockerfile2llb builds from them, written for
// stagecraft from the rules of BuildKit's frontend (instructions/parse.go, dockerfile2llb/convert.go):
// no build args, platform linux/amd64, the default target is the last stage, an unnamed stage is
// `stage-<index>`. The real-world corpus and stagecraft's edge cases run in the conformance suite
// (analyze-dockerfile.conformance.test.ts, build-stage-graph.conformance.test.ts); these need
// nothing outside the repository and also seed the front-end fuzz test.
import type { StageBaseJson } from "./serialize-plan.js";

/** One stage as the plan JSON gives it, the fields the graph decides. */
export interface GraphCaseStage {
  id: string;
  base: StageBaseJson;
  dependsOn: string[];
  externalImages: string[];
}

export interface GraphCase {
  name: string;
  text: string;
  targets?: string[];
  /** The plan, when the Dockerfile is accepted. */
  graph?: { stages: GraphCaseStage[]; defaultTarget: string; reachable: string[] };
  /** The error a build of the (first) target would fail with before any step runs. */
  buildError?: string;
  /** The error the front end throws, and its line. */
  error?: { message: string; line: number };
}

const image = (reference: string): StageBaseJson => ({ image: reference });
const stage = (id: string): StageBaseJson => ({ stage: id });
const scratch: StageBaseJson = { scratch: true };

export const GRAPH_CASES: readonly GraphCase[] = [
  {
    name: "meta ARGs choose the images, --platform does not change them",
    text: [
      "ARG VARIANT=alpine",
      "ARG TAG=3.20",
      "ARG GO=1.22-${VARIANT}",
      "FROM --platform=$BUILDPLATFORM golang:${GO} AS build",
      "RUN go build -o /out/app .",
      "FROM ${VARIANT}:${TAG} AS runtime",
      "COPY --from=build /out/app /app",
      "",
    ].join("\n"),
    graph: {
      stages: [
        {
          id: "build",
          base: image("golang:1.22-alpine"),
          dependsOn: [],
          externalImages: ["golang:1.22-alpine"],
        },
        {
          id: "runtime",
          base: image("alpine:3.20"),
          dependsOn: ["build"],
          externalImages: ["alpine:3.20"],
        },
      ],
      defaultTarget: "runtime",
      reachable: ["build", "runtime"],
    },
  },
  {
    name: "a meta ARG picks a stage by name; the other candidates are not built",
    text: [
      "ARG FLAVOR=slim",
      "FROM debian:bookworm AS base-full",
      "FROM debian:bookworm-slim AS base-slim",
      "FROM base-${FLAVOR}",
      "RUN echo hi",
      "",
    ].join("\n"),
    graph: {
      stages: [
        {
          id: "base-full",
          base: image("debian:bookworm"),
          dependsOn: [],
          externalImages: ["debian:bookworm"],
        },
        {
          id: "base-slim",
          base: image("debian:bookworm-slim"),
          dependsOn: [],
          externalImages: ["debian:bookworm-slim"],
        },
        { id: "stage-2", base: stage("base-slim"), dependsOn: ["base-slim"], externalImages: [] },
      ],
      defaultTarget: "stage-2",
      reachable: ["base-slim", "stage-2"],
    },
  },
  {
    name: "unnamed stages, a numeric --from, scratch, and a stage nothing needs",
    text: [
      "FROM alpine",
      "RUN make",
      "FROM alpine AS docs",
      "RUN make docs",
      "FROM scratch",
      "COPY --from=0 /out /",
      "",
    ].join("\n"),
    graph: {
      stages: [
        { id: "stage-0", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "docs", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "stage-2", base: scratch, dependsOn: ["stage-0"], externalImages: [] },
      ],
      defaultTarget: "stage-2",
      reachable: ["stage-0", "stage-2"],
    },
  },
  {
    name: "--from and mount from= match names in any case; other values are images",
    text: [
      "FROM alpine AS Tools",
      "FROM node:20 AS web",
      "RUN --mount=type=cache,target=/root/.npm --mount=from=TOOLS,target=/t npm ci",
      "COPY --chown=node --from=nginx:1.27 /etc/nginx /etc/nginx",
      "FROM web",
      "COPY --from=tools /bin/tool /bin/",
      "",
    ].join("\n"),
    graph: {
      stages: [
        { id: "tools", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        {
          id: "web",
          base: image("node:20"),
          dependsOn: ["tools"],
          externalImages: ["node:20", "nginx:1.27"],
        },
        { id: "stage-2", base: stage("web"), dependsOn: ["web", "tools"], externalImages: [] },
      ],
      defaultTarget: "stage-2",
      reachable: ["tools", "web", "stage-2"],
    },
  },
  {
    name: "a target builds only what it needs",
    text: [
      "FROM alpine AS base",
      "FROM base AS test",
      "RUN make test",
      "FROM base AS build",
      "RUN make",
      "FROM scratch AS app",
      "COPY --from=build /out/app /app",
      "",
    ].join("\n"),
    targets: ["test"],
    graph: {
      stages: [
        { id: "base", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "test", base: stage("base"), dependsOn: ["base"], externalImages: [] },
        { id: "build", base: stage("base"), dependsOn: ["base"], externalImages: [] },
        { id: "app", base: scratch, dependsOn: ["build"], externalImages: [] },
      ],
      defaultTarget: "app",
      reachable: ["base", "test"],
    },
  },
  {
    name: "ONBUILD --from of a base stage becomes the child's dependency",
    text: [
      "FROM alpine AS base",
      "ONBUILD COPY --from=assets /a /a",
      "FROM alpine AS assets",
      "FROM base AS app",
      "",
    ].join("\n"),
    graph: {
      stages: [
        { id: "base", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "assets", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "app", base: stage("base"), dependsOn: ["base", "assets"], externalImages: [] },
      ],
      defaultTarget: "app",
      reachable: ["base", "assets", "app"],
    },
  },
  {
    name: "copying from a later stage fails only when the copying stage is built",
    text: [
      "FROM alpine AS early",
      "COPY --from=late /x /x",
      "FROM alpine AS late",
      "FROM early",
      "",
    ].join("\n"),
    graph: {
      stages: [
        { id: "early", base: image("alpine"), dependsOn: ["late"], externalImages: ["alpine"] },
        { id: "late", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "stage-2", base: stage("early"), dependsOn: ["early"], externalImages: [] },
      ],
      defaultTarget: "stage-2",
      reachable: ["early", "late", "stage-2"],
    },
    buildError:
      'cannot copy from stage "late", it needs to be defined before current stage "early"',
  },
  {
    name: "the same ordering mistake in a stage nothing builds is no error",
    text: [
      "FROM alpine AS unused",
      "COPY --from=late /x /x",
      "FROM alpine AS late",
      "FROM alpine AS app",
      "",
    ].join("\n"),
    graph: {
      stages: [
        { id: "unused", base: image("alpine"), dependsOn: ["late"], externalImages: ["alpine"] },
        { id: "late", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "app", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
      ],
      defaultTarget: "app",
      reachable: ["app"],
    },
  },
  {
    name: "FROM does not match a stage name in another case: it is an image, and not a valid one",
    text: "FROM alpine AS builder\nFROM Builder\n",
    graph: {
      stages: [
        { id: "builder", base: image("alpine"), dependsOn: [], externalImages: ["alpine"] },
        { id: "stage-1", base: image("Builder"), dependsOn: [], externalImages: ["Builder"] },
      ],
      defaultTarget: "stage-1",
      reachable: ["stage-1"],
    },
    buildError:
      'failed to parse stage name "Builder": invalid reference format: repository name (library/Builder) must be lowercase',
  },
  {
    name: "a cycle is named after the stage the search started from",
    text: [
      "FROM alpine AS a",
      "COPY --from=b /x /x",
      "FROM alpine AS b",
      "COPY --from=c /y /y",
      "FROM alpine AS c",
      "COPY --from=b /z /z",
      "",
    ].join("\n"),
    error: { message: "circular dependency detected on stage: a", line: 2 },
  },
  {
    name: "an instruction before the first FROM",
    text: "RUN echo hi\nFROM alpine\n",
    error: { message: "no build stage in current context", line: 1 },
  },
  {
    name: "a stage name that starts with a digit",
    text: "FROM alpine AS 2nd\n",
    error: {
      message:
        'dockerfile parse error on line 1: invalid name for build stage: "2nd", name can\'t start with a number or contain symbols',
      line: 1,
    },
  },
  {
    name: "a misspelt instruction, with BuildKit's suggestion",
    text: "FROM alpine\nRUNN make\n",
    error: {
      message: "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)",
      line: 2,
    },
  },
  {
    name: "a flag the instruction does not have",
    text: "FROM alpine\nCOPY --form=build /a /b\n",
    error: {
      message: "dockerfile parse error on line 2: unknown flag: --form (did you mean from?)",
      line: 2,
    },
  },
];

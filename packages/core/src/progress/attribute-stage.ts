import type { StepInfo, StepKind } from "../events.js";

/** What a vertex name says by itself: its kind, and the stage and position of `[stage i/n]`. */
export interface VertexName {
  kind: StepKind;
  /** The stage label of `[stage i/n]`, lower-cased; `stage-0` for a single-stage `[i/n]`; null otherwise. */
  stage: string | null;
  index: number | null;
  total: number | null;
  /** The platform of `[linux/amd64 stage i/n]` (multi-platform builds only), else null. */
  platform: string | null;
  /** The name without its `[stage i/n] ` prefix. */
  instruction: string;
}

/** The vertex-producing instructions of one stage, in order: what `[stage i/n]` counts. */
export interface DockerfileMapStage {
  /** The stage id as BuildKit prints it: the lower-cased `AS` name, or `stage-N` (N counts all stages from 0). */
  id: string;
  /**
   * `FROM <image>` (not `FROM <other stage>`), `RUN`, `COPY`, `ADD` and `WORKDIR`, in file order:
   * entry `i - 1` is the vertex `[id i/n]`. `line` is 1-based; `text` is the instruction as written.
   */
  instructions: readonly { line: number; text: string }[];
  /**
   * 1 when the stage's base comes from a named context (`--build-context`, pinned bases): its
   * `FROM` then has no vertex but still counts in `n`, and BuildKit numbers the other vertices one
   * lower (`[app 1/2] COPY` for the second entry; measured on Docker 26.1, BuildKit 0.13). Absent: 0.
   */
  indexShift?: number | undefined;
}

/** What the Dockerfile front end knows about a file, to map `[stage i/n]` back to a line: stages in file order. */
export type DockerfileMap = readonly DockerfileMapStage[];

/** One vertex-producing instruction, in the flat form a front end may list them. */
export interface DockerfileMapEntry {
  stageId: string;
  /** 1-based position among the stage's vertex-producing instructions (the `i` of `[stage i/n]`). */
  instructionIndex: number;
  line: number;
  text: string;
}

/** Groups a flat list of instructions into a `DockerfileMap` (stages in order of first appearance). */
export function toDockerfileMap(entries: readonly DockerfileMapEntry[]): DockerfileMap {
  const stages = new Map<string, DockerfileMapEntry[]>();
  for (const entry of entries) {
    const id = entry.stageId.toLowerCase();
    const list = stages.get(id);
    if (list === undefined) stages.set(id, [entry]);
    else list.push(entry);
  }
  return [...stages].map(([id, list]) => ({
    id,
    instructions: list
      .toSorted((a, b) => a.instructionIndex - b.instructionIndex)
      .map(({ line, text }) => ({ line, text })),
  }));
}

// dockerfile2llb `prefixCommand`: "[" + [platform " "] [stage " "] + padded i + "/" + n + "] ".
const prefixed = /^\[([^\]]*?)\s*(\d+)\/(\d+)\] ([\s\S]*)$/;
const bracketed = /^\[[^\]]*\] /;

/**
 * Reads a vertex name: `[stage i/n] INSTR …` (stage lower-cased by BuildKit, `i` padded to the width
 * of `n`, no stage part in a single-stage file), `[internal] …`, `exporting …`, or anything else.
 * `singleStageId` names the stage of an unlabelled `[i/n]` (default `stage-0`).
 */
export function parseVertexName(name: string, singleStageId = "stage-0"): VertexName {
  const match = prefixed.exec(name);
  if (match !== null) {
    const labels = (match[1] ?? "").split(/\s+/).filter((label) => label !== "");
    let platform: string | null = null;
    if (labels[0]?.includes("/") === true) platform = labels.shift() ?? null;
    return {
      kind: "instruction",
      stage: (labels[0] ?? singleStageId).toLowerCase(),
      index: Number(match[2]),
      total: Number(match[3]),
      platform,
      instruction: match[4] ?? "",
    };
  }
  const kind: StepKind = name.startsWith("exporting ")
    ? "export"
    : bracketed.test(name)
      ? "internal"
      : "other";
  return { kind, stage: null, index: null, total: null, platform: null, instruction: name };
}

/**
 * A parsed name checked against the Dockerfile being built: BuildKit runs an identical step once
 * for every build on the daemon, and names it as the first build that asked for it, so a shared
 * `FROM` may carry another Dockerfile's label (`[1/3] FROM busybox`, `[other 2/4] …`). A label this
 * Dockerfile does not have (no such stage, or another kind of instruction at that position) says
 * nothing about our stages: the step is then attributed through the graph, like any unlabelled one.
 */
export function matchDockerfile(parsed: VertexName, map: DockerfileMap | undefined): VertexName {
  if (map === undefined || parsed.kind !== "instruction" || parsed.stage === null) return parsed;
  const stage = map.find((entry) => entry.id.toLowerCase() === parsed.stage);
  const entry =
    parsed.index === null
      ? undefined
      : stage?.instructions[parsed.index - 1 + (stage.indexShift ?? 0)];
  if (
    stage !== undefined &&
    entry !== undefined &&
    stage.instructions.length === parsed.total &&
    keyword(entry.text) === keyword(parsed.instruction)
  ) {
    return parsed;
  }
  return { ...parsed, kind: "other", stage: null, index: null, total: null };
}

function keyword(text: string): string {
  return (/^\s*(\S+)/.exec(text)?.[1] ?? "").toUpperCase();
}

/**
 * The 1-based Dockerfile line of `[stage index/n] INSTRUCTION`, or null when the map has no such
 * stage or its `index`-th instruction is of another kind (then the map and the daemon disagree).
 */
export function lookupInstructionLine(
  map: DockerfileMap,
  stage: string,
  index: number,
  instruction: string,
): number | null {
  const found = map.find((s) => s.id.toLowerCase() === stage);
  const entry = found?.instructions[index - 1 + (found.indexShift ?? 0)];
  if (entry === undefined || keyword(entry.text) !== keyword(instruction)) return null;
  return entry.line;
}

/** The stage whose instructions surround a 1-based line (the last stage starting at or before it), or null. */
export function findStageAtLine(map: DockerfileMap, line: number): string | null {
  let found: string | null = null;
  let foundStart = -1;
  for (const stage of map) {
    const start = stage.instructions[0]?.line;
    if (start !== undefined && start <= line && start > foundStart) {
      found = stage.id.toLowerCase();
      foundStart = start;
    }
  }
  return found;
}

function normaliseImageRef(ref: string): string {
  let result = ref.trim().toLowerCase();
  for (const prefix of ["docker-image://", "docker.io/", "library/"]) {
    if (result.startsWith(prefix)) result = result.slice(prefix.length);
  }
  return result;
}

/**
 * The first stage whose `FROM` names this image (as `[internal] load metadata for <ref>` spells it),
 * with the line of that `FROM`; null when the map has none.
 */
export function findStageOfBaseImage(
  map: DockerfileMap,
  ref: string,
): { stage: string; line: number } | null {
  const wanted = normaliseImageRef(ref);
  for (const stage of map) {
    for (const entry of stage.instructions) {
      const words = entry.text.trim().split(/\s+/);
      if (keyword(entry.text) !== "FROM") continue;
      const image = words.slice(1).find((word) => !word.startsWith("--"));
      if (image !== undefined && normaliseImageRef(image) === wanted) {
        return { stage: stage.id.toLowerCase(), line: entry.line };
      }
    }
  }
  return null;
}

/** The part of the vertex graph stage attribution reads. */
export interface VertexGraph {
  /** The parsed name of an announced vertex, by digest; undefined for a digest never announced. */
  nameOf(digest: string): VertexName | undefined;
  /** The digests of the announced vertices that list `digest` among their inputs. */
  consumersOf(digest: string): Iterable<string>;
}

/** Orders stage ids: by position in the Dockerfile map when given, then alphabetically. */
export function compareStages(map: DockerfileMap | undefined): (a: string, b: string) => number {
  const position = new Map(map?.map((stage, index) => [stage.id.toLowerCase(), index]));
  return (a, b) => {
    const pa = position.get(a) ?? Number.MAX_SAFE_INTEGER;
    const pb = position.get(b) ?? Number.MAX_SAFE_INTEGER;
    return pa !== pb ? pa - pb : a < b ? -1 : a > b ? 1 : 0;
  };
}

/**
 * Attributes a vertex to a stage. `[stage i/n]` names say it; `[internal] …` and `exporting …` are
 * target overhead (null); any other vertex (`copy /context /`, `FROM docker.io/…` of
 * `COPY --from=<image>`) belongs to the stage of the vertices that consume it, followed through
 * other unprefixed consumers. Several consumer stages: the first by `compare` (Dockerfile order,
 * then alphabetical). No consumer with a stage: null.
 */
export function attributeStage(
  digest: string,
  graph: VertexGraph,
  compare: (a: string, b: string) => number = compareStages(undefined),
): string | null {
  const name = graph.nameOf(digest);
  if (name === undefined) return null;
  if (name.kind !== "other") return name.stage;
  const found = new Set<string>();
  const seen = new Set<string>([digest]);
  const queue = [digest];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const consumer of graph.consumersOf(next)) {
      if (seen.has(consumer)) continue;
      seen.add(consumer);
      const consumerName = graph.nameOf(consumer);
      if (consumerName?.kind === "instruction" && consumerName.stage !== null) {
        found.add(consumerName.stage);
      } else if (consumerName?.kind === "other") {
        queue.push(consumer);
      }
    }
  }
  return [...found].sort(compare)[0] ?? null;
}

/** Builds the `StepInfo` of a vertex once its stage is known; the line comes from the map when it matches. */
export function describeStep(
  digest: string,
  name: string,
  parsed: VertexName,
  stage: string | null,
  map: DockerfileMap | undefined,
): StepInfo {
  const line =
    map !== undefined && parsed.kind === "instruction" && stage !== null && parsed.index !== null
      ? lookupInstructionLine(map, stage, parsed.index, parsed.instruction)
      : null;
  return {
    digest,
    name,
    kind: parsed.kind,
    stage,
    index: parsed.index,
    total: parsed.total,
    line,
    instruction: parsed.instruction,
  };
}

/** A vertex as announced on a stream: what `attributeVertices` needs. */
export interface AnnouncedVertex {
  digest: string;
  name: string;
  inputs: readonly string[];
}

/**
 * Attributes every vertex of one or more streams at once (the graph as a whole, so the result does
 * not depend on the order vertices were announced in): digest → step.
 */
export function attributeVertices(
  vertexes: Iterable<AnnouncedVertex>,
  map?: DockerfileMap,
): Map<string, StepInfo> {
  const singleStageId = map?.length === 1 && map[0] !== undefined ? map[0].id : "stage-0";
  const names = new Map<string, { name: string; parsed: VertexName }>();
  const consumers = new Map<string, Set<string>>();
  for (const vertex of vertexes) {
    if (!names.has(vertex.digest)) {
      names.set(vertex.digest, {
        name: vertex.name,
        parsed: matchDockerfile(parseVertexName(vertex.name, singleStageId), map),
      });
    }
    for (const input of vertex.inputs) {
      const set = consumers.get(input) ?? new Set<string>();
      set.add(vertex.digest);
      consumers.set(input, set);
    }
  }
  const graph: VertexGraph = {
    nameOf: (digest) => names.get(digest)?.parsed,
    consumersOf: (digest) => consumers.get(digest) ?? [],
  };
  const compare = compareStages(map);
  const result = new Map<string, StepInfo>();
  for (const [digest, { name, parsed }] of names) {
    result.set(
      digest,
      describeStep(digest, name, parsed, attributeStage(digest, graph, compare), map),
    );
  }
  return result;
}

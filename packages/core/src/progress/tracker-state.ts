// What the progress tracker knows of a run, shared by its parts: steps, stages, targets, and who owns
// each step. One object per run; the parts are functions of it.
import type { BuildEvent, StepInfo } from "../events.js";
import {
  attributeStage,
  compareStages,
  describeStep,
  type DockerfileMap,
  type VertexGraph,
} from "./attribute-stage.js";
import type { VertexTracker, TrackedVertex } from "./vertex-tracker.js";

/** Where a stage is, in a summary and while the run goes on. */
export type StageStatus = "pending" | "running" | "cached" | "ran" | "failed";

/** A step (a vertex) as the tracker follows it. */
export interface StepRecord {
  vertex: TrackedVertex;
  /** Fixed at the step's first event; null until then. */
  info: StepInfo | null;
  owner: string | null;
  /** Events waiting for an unprefixed vertex's consumers to be announced. */
  held: (() => void)[] | null;
  startedSent: boolean;
  terminalSent: boolean;
}

/** A stage as the tracker follows it: one for the whole run, owned by one target. */
export interface StageRecord {
  id: string;
  owner: string;
  startedSent: boolean;
  status: StageStatus;
  started: number | null;
  completed: number | null;
}

/** A target's stream: how it ended, as `end` was told. */
export interface TargetRecord {
  imageId: string | null;
  error: string | null;
  ended: boolean;
}

/** The run as the tracker knows it; see `createTrackerState`. */
export interface TrackerState {
  readonly onEvent: (event: BuildEvent) => void;
  readonly dockerfileMap: DockerfileMap | undefined;
  readonly targetStages: Readonly<Record<string, readonly string[]>> | undefined;
  /** The requested targets, then any other that showed up, in that order. */
  readonly order: string[];
  readonly compare: (a: string, b: string) => number;
  readonly steps: Map<string, StepRecord>;
  readonly stages: Map<string, StageRecord>;
  readonly targets: Map<string, TargetRecord>;
  /** Streams whose whole vertex graph has been announced. */
  readonly sourcesWithGraph: Set<string>;
  /** Steps whose events wait for their stage to be known. */
  readonly heldSteps: Set<StepRecord>;
  /** The `[stage i/n]` steps of each stage, from every stream's graph: they start and end it. */
  readonly stageMembers: Map<string, Set<StepRecord>>;
  /** The vertices of every stream; set once the vertex tracker exists. */
  vertices: VertexTracker;
  /** Clock for events no daemon time applies to (before the first message). */
  readonly now: () => number;
  /** The vertices' names and consumers, for attributing unlabelled steps. */
  readonly graph: VertexGraph;
}

/** A fresh state for a run of these targets. */
export function createTrackerState(options: {
  targets: readonly string[];
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
  dockerfileMap?: DockerfileMap | undefined;
  onEvent: (event: BuildEvent) => void;
  now?: (() => number) | undefined;
}): TrackerState {
  const state: TrackerState = {
    onEvent: options.onEvent,
    dockerfileMap: options.dockerfileMap,
    targetStages: options.targetStages,
    order: [...options.targets],
    compare: compareStages(options.dockerfileMap),
    steps: new Map(),
    stages: new Map(),
    targets: new Map(),
    sourcesWithGraph: new Set(),
    heldSteps: new Set(),
    stageMembers: new Map(),
    vertices: undefined as unknown as VertexTracker,
    now: options.now ?? Date.now,
    graph: {
      nameOf: (digest) => state.vertices.get("", digest)?.parsed,
      consumersOf: (digest) => state.vertices.consumersOf(digest),
    },
  };
  for (const target of state.order) targetRecord(state, target);
  return state;
}

/** Times in events are whole milliseconds. */
export const round = (time: number): number => Math.round(time);

/** The time of an event that carries none of its own: the daemon's latest, else the clock's. */
export const latestTime = (state: TrackerState): number =>
  state.vertices.latestTime() ?? state.now();

/** `FROM` steps: BuildKit's `cached` flag on them is unreliable. */
export const isFrom = (step: StepInfo): boolean => /^FROM\s/i.test(step.instruction);

/** A target's record, made on first sight (a target nobody announced goes last in the order). */
export function targetRecord(state: TrackerState, target: string): TargetRecord {
  let record = state.targets.get(target);
  if (record === undefined) {
    record = { imageId: null, error: null, ended: false };
    state.targets.set(target, record);
    if (!state.order.includes(target)) state.order.push(target);
  }
  return record;
}

/** A stage's record, made on first sight with this owner. */
export function stageRecord(state: TrackerState, id: string, owner: string): StageRecord {
  let stage = state.stages.get(id);
  if (stage === undefined) {
    stage = { id, owner, startedSent: false, status: "pending", started: null, completed: null };
    state.stages.set(id, stage);
  }
  return stage;
}

/** A step's record, made on first sight. */
export function stepRecord(state: TrackerState, vertex: TrackedVertex): StepRecord {
  let record = state.steps.get(vertex.key);
  if (record === undefined) {
    record = {
      vertex,
      info: null,
      owner: null,
      held: null,
      startedSent: false,
      terminalSent: false,
    };
    state.steps.set(vertex.key, record);
  }
  return record;
}

/** The stage a step belongs to: its `[stage i/n]` label, else the stages of what consumes it. */
export function stageOf(state: TrackerState, record: StepRecord): string | null {
  if (record.vertex.parsed.kind === "instruction") return record.vertex.parsed.stage;
  return attributeStage(record.vertex.digest, state.graph, state.compare);
}

/**
 * A stage's owner: the first requested target whose plan needs it; without a plan (or when no
 * target names it), the first in requested order of the targets whose streams announced the step.
 */
function stageOwner(state: TrackerState, stage: string, sources: readonly string[]): string {
  const { targetStages } = state;
  const planned =
    targetStages === undefined
      ? undefined
      : state.order.find((target) =>
          targetStages[target]?.some((id) => id.toLowerCase() === stage),
        );
  return planned ?? firstInOrder(state, sources);
}

function firstInOrder(state: TrackerState, sources: readonly string[]): string {
  const rank = (target: string): number => state.order.indexOf(target);
  return sources.reduce((best, source) => (rank(source) < rank(best) ? source : best));
}

/** Fixes a step's stage, owner and line at its first event. */
export function fixStep(state: TrackerState, record: StepRecord): StepInfo {
  if (record.info !== null) return record.info;
  const { vertex } = record;
  const stage = stageOf(state, record);
  const info = describeStep(vertex.digest, vertex.name, vertex.parsed, stage, state.dockerfileMap);
  record.info = info;
  const sources = vertex.sources.length > 0 ? vertex.sources : state.order.slice(0, 1);
  if (vertex.parsed.kind === "export" || stage === null) {
    // Exporter vertices are per target; a step without a stage goes to its first announcer.
    record.owner =
      vertex.parsed.kind === "export" ? (sources[0] ?? "") : firstInOrder(state, sources);
  } else {
    record.owner = stageRecord(
      state,
      stage,
      state.stages.get(stage)?.owner ?? stageOwner(state, stage, sources),
    ).owner;
  }
  return info;
}

/** The owner a step has, or would get if it emitted now. */
export function ownerOf(state: TrackerState, record: StepRecord, info: StepInfo): string {
  if (record.owner !== null) return record.owner;
  const sources =
    record.vertex.sources.length > 0 ? record.vertex.sources : state.order.slice(0, 1);
  if (record.vertex.parsed.kind === "export") return sources[0] ?? "";
  if (info.stage !== null) {
    const stage = state.stages.get(info.stage);
    if (stage !== undefined) return stage.owner;
  }
  return firstInOrder(state, sources);
}

/** The step as an event describes it (fixed, or as it would be fixed now). */
export function describeRecord(state: TrackerState, record: StepRecord): StepInfo {
  const { vertex } = record;
  return (
    record.info ??
    describeStep(
      vertex.digest,
      vertex.name,
      vertex.parsed,
      stageOf(state, record),
      state.dockerfileMap,
    )
  );
}

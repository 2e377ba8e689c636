// The events a run reports while it builds: one discriminated union, JSON-serialisable (plain objects,
// arrays, strings, numbers, booleans and null only; times are epoch milliseconds).
import type { CancelReason, ErrorCode } from "./errors.js";

/** Version of the `BuildEvent` shapes; bumped on any incompatible change to a member. */
export const BUILD_EVENT_SCHEMA_VERSION = 2;

/** What kind of BuildKit vertex a step is, read from its name. */
export type StepKind =
  /** `[stage i/n] INSTRUCTION …`: a vertex of a Dockerfile instruction. */
  | "instruction"
  /** `[internal] …`: context, Dockerfile and metadata loading; target overhead. */
  | "internal"
  /** `exporting to image`, `exporting to client …`, `exporting cache`: target overhead. */
  | "export"
  /** Anything else: `copy /context /`, `FROM docker.io/…` of `COPY --from=<image>`, `resolve image config …`, `importing cache manifest …`. */
  | "other";

/** One step: a BuildKit vertex, as attributed to a Dockerfile stage. */
export interface StepInfo {
  /** The vertex digest (`sha256:…`); one step per digest across the whole run. */
  digest: string;
  /** The vertex name exactly as BuildKit shows it, e.g. `[build 2/5] RUN make`. */
  name: string;
  kind: StepKind;
  /** The stage id (lower-cased, as in the vertex name; `stage-N` for unnamed stages), or null for target overhead. */
  stage: string | null;
  /** Position `i` of `[stage i/n]`, or null when the name has no such prefix. */
  index: number | null;
  /** Count `n` of `[stage i/n]`, or null when the name has no such prefix. */
  total: number | null;
  /** The 1-based Dockerfile line of the instruction, when a `DockerfileMap` was given and matched. */
  line: number | null;
  /** The instruction text without the `[stage i/n] ` prefix, e.g. `RUN make`; the whole name otherwise. */
  instruction: string;
}

/** A target's failure, as `target-failed` reports it. */
export interface TargetError {
  code: ErrorCode;
  /** The daemon's (or stagecraft's) message. */
  message: string;
  /** One sentence: what the user can do. */
  hint?: string | undefined;
  /** The stage id of the failing step, when it could be attributed. */
  stage?: string | undefined;
  /** The failing step's name, e.g. `[build 2/4] RUN make`. */
  step?: string | undefined;
  /** The 1-based Dockerfile line of the failing instruction, when known. */
  line?: number | undefined;
  /** The last lines the failing step printed (oldest first). */
  logTail: string[];
  /** For `MISSING_SECRET` and `MISSING_SSH_AGENT`: the id the Dockerfile names. */
  missingId?: string | undefined;
}

/** A range of a Dockerfile, as BuildKit warnings carry it: 1-based lines, 0-based characters. */
export interface SourceRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

// ---- The daemon's StatusResponse, decoded (for `daemon-status` passthrough) ----------------------

/** `moby.buildkit.v1.Vertex`, decoded; times in epoch milliseconds. */
export interface DaemonVertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started: number | null;
  completed: number | null;
  error: string | null;
  /** BuildKit ≥ 0.10 only (Vertex field 8). */
  progressGroup: { id: string; name: string; weak: boolean } | null;
}

/** `moby.buildkit.v1.VertexStatus`, decoded: byte or item progress of a vertex. */
export interface DaemonVertexStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp: number | null;
  started: number | null;
  completed: number | null;
}

/** `moby.buildkit.v1.VertexLog`, decoded; `msg` is the raw chunk as UTF-8 text (not line-aligned). */
export interface DaemonVertexLog {
  vertex: string;
  timestamp: number | null;
  stream: number;
  msg: string;
}

/** `moby.buildkit.v1.VertexWarning`, decoded (BuildKit ≥ 0.10 only). */
export interface DaemonVertexWarning {
  vertex: string;
  level: number;
  short: string;
  detail: string[];
  url: string;
  /** The source the warning points into; `definition` (an LLB `pb.Definition`) is base64. */
  info: { filename: string; data: string; definition: string; language: string } | null;
  ranges: SourceRange[];
}

/** `moby.buildkit.v1.StatusResponse`, decoded into plain JSON values. */
export interface DaemonStatus {
  vertexes: DaemonVertex[];
  statuses: DaemonVertexStatus[];
  logs: DaemonVertexLog[];
  warnings: DaemonVertexWarning[];
}

// ---- Run lifecycle --------------------------------------------------------------------------------

/** The engine a run builds on, as it described itself. */
export interface RunEngine {
  /** Where it was reached, e.g. `unix:///var/run/docker.sock`. */
  endpoint: string;
  /** Its version, e.g. `26.1.5`. */
  version: string;
  apiVersion: string;
  /** Its platform, e.g. `linux/amd64`. */
  platform: string;
}

/** A path of the build context that was not sent, and why (a socket, a FIFO, a device). */
export interface ContextWarning {
  path: string;
  message: string;
}

/** How the build context travels to the engine. */
export interface RunContext {
  /** `tar`: one upload per target's build; `session`: FileSync, each file once, only changes on a rebuild. */
  transfer: "tar" | "session";
  /** Regular files and their bytes, when the context was packed (a tar); null through a session. */
  files: number | null;
  bytes: number | null;
  warnings: ContextWarning[];
}

/** A stage of the Dockerfile and the stages it needs (`FROM`, `COPY --from`, `RUN --mount from=`). */
export interface RunStage {
  id: string;
  dependsOn: string[];
}

/** A run began: these targets will be built, in this requested order. */
export interface RunStartedEvent {
  type: "run-started";
  time: number;
  schemaVersion: typeof BUILD_EVENT_SCHEMA_VERSION;
  targets: string[];
  /** The Dockerfile's stages in file order, with their edges: what the events' `stage`s refer to. */
  stages: RunStage[];
  /** Per target, the stages its build needs (its own included): who needs a shared step. */
  targetStages: Record<string, string[]>;
  /** How many builds may run at once. */
  concurrency: number;
  engine: RunEngine;
  context: RunContext;
  /** Whether each target's tags are pushed once it is built (`--push`); absent: no. */
  push?: boolean | undefined;
  /** The run's cache sources and exports (refs, or `type:location`); absent: none given. */
  cache?: RunCache | undefined;
}

/** Where a run's builds look for cache and where they export it. */
export interface RunCache {
  /** Every cache source, e.g. `registry:127.0.0.1:5000/app:cache`, `local:/tmp/cache`. */
  from: string[];
  /** Every export, e.g. `inline`, `registry:127.0.0.1:5000/cache:main-app`. */
  to: string[];
  /**
   * Base images the builds read by registry digest from the pin mirror (`pinBases`), e.g.
   * `{ reference: "node:22", pinned: "127.0.0.1:5000/stagecraft-bases/library/node@sha256:…" }`;
   * absent: bases were not pinned. `found` says the mirror already held the image under its tag
   * (same image config, or same layers) and nothing was pushed.
   */
  pinned?:
    { reference: string; pinned: string; found?: "config" | "layers" | undefined }[] | undefined;
  /** Base images pinning left as they are, and why (already pinned, not in the engine's store). */
  unpinned?: { reference: string; reason: string }[] | undefined;
}

/** A run ended; `status` is `failed` when any target failed, `cancelled` when it was interrupted. */
export interface RunFinishedEvent {
  type: "run-finished";
  time: number;
  status: "succeeded" | "failed" | "cancelled";
  durationMs: number;
  succeeded: string[];
  failed: string[];
  cancelled: string[];
}

// ---- Target lifecycle -----------------------------------------------------------------------------

/** A target waits for a build slot. */
export interface TargetQueuedEvent {
  type: "target-queued";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
}

/** A target's build request was sent to the engine. */
export interface TargetStartedEvent {
  type: "target-started";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  /** The id the engine can cancel this build by. */
  buildId: string;
}

/** A target's image was built and tagged. */
export interface TargetFinishedEvent {
  type: "target-finished";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  imageId: string;
  tags: string[];
  /**
   * The platforms its image was built for, when the run named any (several: one image index);
   * absent: the engine's own.
   */
  platforms?: string[] | undefined;
  durationMs: number;
}

/** A target's build failed: the daemon's message, and where it broke when known. */
export interface TargetFailedEvent {
  type: "target-failed";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  error: TargetError;
  durationMs: number;
}

/**
 * A target's build was cancelled: by the caller, because another target failed (fail-fast), because
 * the engine was lost, or because the run reached its time limit.
 */
export interface TargetCancelledEvent {
  type: "target-cancelled";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  reason: CancelReason;
  /** The sentence that says why, e.g. `target "app" was cancelled because test failed`. */
  message: string;
}

// ---- Push ---------------------------------------------------------------------------------------

/** Byte progress of one layer while a target's tag is pushed. */
export interface PushProgressEvent {
  type: "push-progress";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  /** The name being pushed, e.g. `127.0.0.1:5000/app:1`. */
  tag: string;
  /**
   * The layer's short id. A standalone buildkitd reports no layer by itself: `layers` (all of them
   * at once), then `manifest`.
   */
  layer: string;
  /** `Preparing`, `Waiting`, `Pushing`, `Pushed`, `Layer already exists`, … */
  status: string;
  /** Bytes sent and the layer's size while `Pushing`; null otherwise. */
  current: number | null;
  total: number | null;
}

/** A target's tag reached its registry: pull it by `tag`'s name `@digest`. */
export interface TargetPushedEvent {
  type: "target-pushed";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  tag: string;
  /** The manifest digest the registry stored. */
  digest: string;
  durationMs: number;
}

/** Pushing a target's tag failed; its image stays in the engine's store, its later tags are not pushed. */
export interface PushFailedEvent {
  type: "push-failed";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  tag: string;
  /** The registry host, e.g. `127.0.0.1:5000`. */
  registry: string;
  error: TargetError;
}

/**
 * Byte progress of one layer while a pool's shared stage is pushed: a stage built once on `engine`
 * for targets of other engines, no target of its own (`stage` names it).
 */
export interface SharedPushProgressEvent {
  type: "shared-push-progress";
  time: number;
  /** The shared stage's id. */
  stage: string;
  /** The pool engine that built it and pushes it. */
  engine: string;
  /** The name being pushed, e.g. `127.0.0.1:5000/ci/deps:pool-m1x2`. */
  tag: string;
  /** The layer's short id. */
  layer: string;
  /** `Preparing`, `Pushing`, `Pushed`, `Layer already exists`, … */
  status: string;
  /** Bytes sent and the layer's size while `Pushing`; null otherwise. */
  current: number | null;
  total: number | null;
}

/**
 * A pool's shared stage is in the registry (`reference`, read by the other engines as a named
 * context), or could not be shared (`error`: the targets that need it build it where they are).
 */
export interface SharedPushedEvent {
  type: "shared-pushed";
  time: number;
  stage: string;
  engine: string;
  /** `HOST/PREFIX/STAGE@sha256:…`; null when it was not shared. */
  reference: string | null;
  /** Layer bytes the push sent (layers the registry had count 0). */
  bytes: number;
  /** The push's time. */
  durationMs: number;
  /** Why it was not shared; null when it was. */
  error: string | null;
}

/**
 * The engine asked for the build context through the session (FileSync) and got these files: all
 * of them the first time, only the changed ones on a rebuild. `source` is `context` or `dockerfile`.
 */
export interface ContextSentEvent {
  type: "context-sent";
  time: number;
  source: string;
  files: number;
  bytes: number;
}

/**
 * Nothing has arrived from the engine for `quietMs` while builds are running: the run keeps waiting
 * (a step may be quiet for a long time), and says so again each time as long again passes.
 */
export interface EngineQuietEvent {
  type: "engine-quiet";
  time: number;
  quietMs: number;
  /** The targets whose builds are running. */
  running: string[];
}

// ---- Stage lifecycle ------------------------------------------------------------------------------

/** The first step of a stage started (for the target the stage's steps are attributed to). */
export interface StageStartedEvent {
  type: "stage-started";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string;
}

/** Every step of a stage came from the cache (the unreliable `cached` flag of `FROM` is ignored); ends the stage. */
export interface StageCachedEvent {
  type: "stage-cached";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string;
  steps: number;
}

/**
 * Every announced step of a stage completed and at least one ran; ends the stage. The numbers are
 * the report's for the stage (the time its steps ran, overlaps counted once; its steps that ran and
 * that came from the cache).
 */
export interface StageFinishedEvent {
  type: "stage-finished";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string;
  durationMs: number;
  stepsRun: number;
  stepsCached: number;
}

/** A step of the stage failed; ends the stage. */
export interface StageFailedEvent {
  type: "stage-failed";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string;
  /** Digest of the failing step. */
  step: string;
  error: string;
}

// ---- Step lifecycle -------------------------------------------------------------------------------

/** A step (BuildKit vertex) began to run. */
export interface StepStartedEvent {
  type: "step-started";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  step: StepInfo;
}

/**
 * A step was taken from the cache. No `step-started` precedes it: it never ran. Steps a successful
 * build skipped (a later step was found in the cache) are reported cached when its stream ends.
 */
export interface StepCachedEvent {
  type: "step-cached";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  step: StepInfo;
}

/** A step ran and completed (it *ran*, as opposed to *cached*). */
export interface StepFinishedEvent {
  type: "step-finished";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  step: StepInfo;
  durationMs: number;
}

/** A step ended with an error (not always fatal: a failed cache import is a step error too). */
export interface StepFailedEvent {
  type: "step-failed";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  step: StepInfo;
  /** The daemon's error text for the vertex. */
  error: string;
  /** True when the error is a cancellation (`… context canceled`). */
  cancelled: boolean;
  durationMs: number;
}

// ---- Output -------------------------------------------------------------------------------------

/** One complete line a step printed (without its line break). */
export interface LogEvent {
  type: "log";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string | null;
  /** Digest of the step that printed it. */
  step: string;
  /** 1 = stdout, 2 = stderr. */
  stream: 1 | 2;
  line: string;
}

/** A warning from the Dockerfile front end (BuildKit ≥ 0.10), e.g. an empty continuation line. */
export interface WarningEvent {
  type: "warning";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  stage: string | null;
  /** Digest of the vertex it was reported on, or null. */
  step: string | null;
  level: number;
  message: string;
  detail: string[];
  url: string | null;
  /** The file it points into, e.g. `Dockerfile`. */
  file: string | null;
  /** The first 1-based line of its first range. */
  line: number | null;
  ranges: SourceRange[];
}

/** Progress of a vertex's sub-task: bytes transferred, or an exporter phase (`naming to …`). */
export interface TransferEvent {
  type: "transfer";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  /** Digest of the step it belongs to. */
  step: string;
  /** The status id, e.g. `transferring context:` or `naming to docker.io/x:latest`. */
  id: string;
  name: string;
  current: number;
  /** 0 when the total is unknown. */
  total: number;
  completed: boolean;
}

/** A decoded `moby.buildkit.trace` message, unchanged, for consumers that want the daemon's raw view. */
export interface DaemonStatusEvent {
  type: "daemon-status";
  time: number;
  target: string;
  /** The pool engine that builds it (its name in the pool); absent when the run has one engine. */
  engine?: string | undefined;
  status: DaemonStatus;
}

/** Everything a run reports; `switch (event.type)` to handle each kind. */
export type BuildEvent =
  | RunStartedEvent
  | RunFinishedEvent
  | TargetQueuedEvent
  | TargetStartedEvent
  | TargetFinishedEvent
  | TargetFailedEvent
  | TargetCancelledEvent
  | PushProgressEvent
  | TargetPushedEvent
  | SharedPushProgressEvent
  | SharedPushedEvent
  | PushFailedEvent
  | EngineQuietEvent
  | ContextSentEvent
  | StageStartedEvent
  | StageCachedEvent
  | StageFinishedEvent
  | StageFailedEvent
  | StepStartedEvent
  | StepCachedEvent
  | StepFinishedEvent
  | StepFailedEvent
  | LogEvent
  | WarningEvent
  | TransferEvent
  | DaemonStatusEvent;

/** The `type` tags of `BuildEvent`. */
export type BuildEventType = BuildEvent["type"];

/** Receives events; it only observes and must not throw. */
export type BuildEventListener = (event: BuildEvent) => void;

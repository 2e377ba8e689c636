// The end-of-run report's shapes: plain JSON, the same data every renderer prints.
import type { CancelReason, ErrorCode } from "../errors.js";
import type { RunCache, RunContext } from "../events.js";

/** Version of the `BuildReport` shape; bumped on any incompatible change. */
export const BUILD_REPORT_SCHEMA_VERSION = 2;

/** How a target's build ended; `incomplete` when the events stop before it ended. */
export type TargetStatus = "succeeded" | "failed" | "cancelled" | "incomplete";

/**
 * What happened to a Dockerfile step in this run: it *ran* (here, once, however many targets need
 * it), came from the *cache* (of an earlier build), *failed*, was *cancelled* before it ended, or
 * was still going when the events stopped (*incomplete*). Seen from one target, a step that ran for
 * another target of the run is *shared* (see `TargetReport.stepsShared`).
 */
export type StepStatus = "ran" | "cached" | "failed" | "cancelled" | "incomplete";

/** A stage's outcome, in the steps' words: it ran (a step of it ran), was cached (all of them), … */
export type StageStatus = StepStatus;

/** One Dockerfile step (`[stage i/n]`), counted once for the whole run. */
export interface StepReport {
  stage: string;
  /** Its position `i` of `[stage i/n]`. */
  index: number;
  /** The vertex name, e.g. `[build 2/5] RUN make`. */
  name: string;
  /** The instruction without the prefix, e.g. `RUN make`. */
  instruction: string;
  line: number | null;
  status: StepStatus;
  /** The target it was built for: the first requested target that needs its stage. */
  target: string;
  /** Every requested target that needs it, in the requested order. */
  neededBy: string[];
  /** Epoch ms when it started and ended (within the run); null when it did not. */
  startedAt: number | null;
  endedAt: number | null;
  /** How long it ran; null when it did not run. */
  durationMs: number | null;
}

/** One requested target in the report. */
export interface TargetReport {
  target: string;
  status: TargetStatus;
  /** Why it was cancelled, when it was. */
  cancelReason: CancelReason | null;
  /**
   * Epoch ms when its build request was sent (a target queued behind others starts late); null when
   * it never started. Reports written before it existed lack it: read them as the run's start.
   */
  startedAt: number | null;
  /** From the build request to its end; null when it never started. */
  wallMs: number | null;
  /** Steps of its stages that ran for this target (a failed step ran too). */
  stepsRun: number;
  /** Steps of its stages that ran in this run for another target, which this one reused. */
  stepsShared: number;
  /** Steps of its stages taken from the cache of an earlier build. */
  stepsCached: number;
  /** `stepsCached` out of all three, 0–100, whole numbers; null when it has no steps. */
  cachedPercent: number | null;
  imageId: string | null;
  tags: string[];
  /**
   * The platforms its image was built for, when the run named any (several: one image index on the
   * engine's containerd store); absent: the engine's own.
   */
  platforms?: string[] | undefined;
  /** Image size in bytes (`docker image inspect`'s: see `sizeMeaning`), when the engine reported it. */
  sizeBytes: number | null;
  /**
   * This image against the stage it was built from (the stage it copies from, else its base stage):
   * that stage's size is a target's image of this run, or was measured by a size probe (see
   * `StageReport.sizeBytes`); null when neither is known.
   */
  sizeComparison: SizeComparison | null;
  /**
   * Every entry of the image's history, oldest first, each attributed to the stage and Dockerfile line
   * that made it or to the base image; undefined when the engine's history was not read.
   */
  layers?: LayerReport[] | undefined;
}

/** One entry of a built image's history (`docker history`), attributed to where it came from. */
export interface LayerReport {
  /** 0 for the oldest entry (the base image's first layer). */
  index: number;
  /** Uncompressed bytes the layer added on the engine's store (0 for a config-only step). */
  sizeBytes: number;
  /** The step as the builder recorded it, e.g. `COPY /out/app /app` (BuildKit drops `--from`). */
  createdBy: string;
  /** `base`: it came with the base image (`baseImage`); `stage`: a Dockerfile step of `stage`. */
  origin: "base" | "stage";
  /** The stage whose step made it; null for a base image layer. */
  stage: string | null;
  /** The Dockerfile line of that step; null for a base image layer. */
  line: number | null;
  /** For a `COPY --from=X` step: the stage (or image) `X` its files came from. */
  copiedFrom: string | null;
  /** For a base image layer: the image reference the root stage's `FROM` names. */
  baseImage: string | null;
}

/** A target's image against a size budget (`--size-budget TARGET=SIZE`). */
export interface SizeBudgetReport {
  target: string;
  budgetBytes: number;
  /** The image's size; null when it is unknown (not built, or not inspected). */
  sizeBytes: number | null;
  /** `sizeBytes − budgetBytes` when over the budget, else 0. */
  overBytes: number;
  /** True when the image is bigger than the budget. */
  exceeded: boolean;
}

/** A final image against the (bigger, usually) stage it copies from: `runtime 48 MB ← build 1.1 GB (−96%)`. */
export interface SizeComparison {
  /** The stage the image was built from (a target of this run, or a stage measured by a size probe). */
  from: string;
  fromSizeBytes: number;
  sizeBytes: number;
  /** `(sizeBytes − fromSizeBytes) / fromSizeBytes` in percent, one decimal; negative when smaller. */
  changePercent: number;
}

/** How a stage fared in this run: one stage may serve several targets, and is counted once. */
export interface StageReport {
  stage: string;
  /** The target its steps were built for (the first requested target that needs it). */
  target: string | null;
  /** Every requested target that needs it, in the requested order. */
  neededBy: string[];
  status: StageStatus;
  /** When its first step started and its last one ended (within the run); null when none ran. */
  startedAt: number | null;
  endedAt: number | null;
  /** The time its steps were running, overlaps counted once; cached steps take none. */
  durationMs: number;
  /** Its Dockerfile steps (`FROM` left out), and how they fared: ran + cached ≤ steps. */
  steps: number;
  stepsRun: number;
  stepsCached: number;
  /**
   * The size of the stage's image (`docker image inspect`'s: see `sizeMeaning`), when known: a
   * target's image, or a size probe's (an untagged build of the stage, inspected and removed; on
   * the containerd store through the Control API, its exported manifest read, no image made).
   */
  sizeBytes?: number | null | undefined;
}

/** A link of the critical path. */
export interface CriticalPathStage {
  stage: string;
  /** The stage's own duration. */
  durationMs: number;
  /** What it added to the chain: the part of it after the stages before it in the chain had ended. */
  addedMs: number;
}

/**
 * The chain of stages along the stage graph's edges that took longest, against the run's wall
 * time: the part of the run no amount of parallelism could shorten. Its duration is the time the
 * chain's stages were running, overlaps counted once, so it is never longer than the run.
 */
export interface CriticalPath {
  /** First stage first. */
  stages: CriticalPathStage[];
  /** The sum of the stages' `addedMs`. */
  durationMs: number;
  wallMs: number;
  /** `durationMs` out of `wallMs`, 0–100, whole numbers; null when the wall time is 0. */
  percentOfWall: number | null;
}

/** One of the Dockerfile steps that ran longest. */
export interface SlowStep {
  target: string;
  stage: string;
  /** The vertex name as BuildKit shows it, e.g. `[build 2/5] RUN make`. */
  name: string;
  /** The instruction without the `[stage i/n]` prefix, e.g. `RUN make`. */
  instruction: string;
  line: number | null;
  durationMs: number;
  status: "ran" | "failed";
}

/**
 * Where a build broke: target → stage → Dockerfile line → the daemon's message → its last log
 * lines. A step several targets need that fails is one failure: `target` built it, `stopped` lists
 * the other targets whose builds failed on it.
 */
export interface TargetFailure {
  target: string;
  /** Other targets whose builds failed on the same step. */
  stopped: string[];
  code: ErrorCode;
  stage: string | null;
  /** The failing step's name, e.g. `[build 2/4] RUN make`. */
  step: string | null;
  line: number | null;
  /** The daemon's (or stagecraft's) message, at most 2,000 characters (the rest is cut and said so). */
  message: string;
  hint: string | null;
  /** The last lines the failing step printed, oldest first: at most 20, each at most 500 characters. */
  logTail: string[];
  /** For `MISSING_SECRET` and `MISSING_SSH_AGENT`: the id the Dockerfile names. */
  missingId: string | null;
}

/** A warning from the Dockerfile front end, once per message and place. */
export interface ReportWarning {
  target: string;
  stage: string | null;
  message: string;
  file: string | null;
  line: number | null;
  url: string | null;
}

/** The run's Dockerfile steps counted once each: ran, cached, and how many of those ran served several targets. */
export interface ReportTotals {
  stepsRun: number;
  stepsCached: number;
  /** Steps that ran once in this run for more than one target (BuildKit shares them). */
  stepsShared: number;
  /** `stepsCached` out of run + cached, 0–100; null when there were no steps. */
  cachedPercent: number | null;
}

/** A stage of the report's `stageGraph` and the stages it needs. */
export interface ReportStageEdges {
  id: string;
  dependsOn: string[];
}

/** The end-of-run report: JSON-serialisable, the same data every renderer prints. */
export interface BuildReport {
  schemaVersion: typeof BUILD_REPORT_SCHEMA_VERSION;
  status: "succeeded" | "failed" | "cancelled";
  /** Epoch milliseconds; null when there were no events. */
  startedAt: number | null;
  wallMs: number;
  /** In the requested order. */
  targets: TargetReport[];
  /** In Dockerfile order (without a stage graph, or for stages it does not name: as first seen). */
  stages: StageReport[];
  /** Every Dockerfile step of the run, once, by stage in Dockerfile order, then position. */
  steps: StepReport[];
  totals: ReportTotals;
  criticalPath: CriticalPath | null;
  /** The five steps that ran longest, longest first. */
  slowestSteps: SlowStep[];
  /** One per failing step (or per target, for a failure no step explains), in the order they failed. */
  failures: TargetFailure[];
  warnings: ReportWarning[];
  /** The Dockerfile's stages in file order and the stages each one needs (`FROM`, `COPY --from`, mounts). */
  stageGraph?: ReportStageEdges[];
  /**
   * How the build context travelled: as a tar (its files and bytes, sent with each target's build)
   * or through the session (what FileSync sent in all: only changed files on a rebuild).
   */
  context: (RunContext & { sent: { files: number; bytes: number } | null }) | null;
  /**
   * Which size every `sizeBytes` is: `docker image inspect`'s `Size`, the uncompressed layers on a
   * graph-driver store; on the containerd image store the content as stored (manifest, config and
   * compressed layer blobs; moby daemon/containerd/image.go `size`).
   */
  sizeMeaning?: string | undefined;
  /**
   * Stages a target copies from whose size was not measured, and why (for instance: every step
   * came from an imported cache, so measuring would pull its layers); undefined when none.
   */
  unmeasuredStages?: { stage: string; reason: string }[] | undefined;
  /** Each `--size-budget`, against the target's image; undefined when none was given. */
  sizeBudgets?: SizeBudgetReport[] | undefined;
  /** Per target, in the requested order, what was pushed; null when the run did not push. */
  published: PublishedTarget[] | null;
  /** Where the builds looked for cache and exported it; null when no cache option was given. */
  cache: ReportCache | null;
}

/** The run's cache sources and exports, and the targets the sources gave nothing, with why. */
export interface ReportCache extends RunCache {
  /** Targets that looked in `from` and took no step from any cache, with the likeliest reason. */
  misses: { target: string; reason: string }[];
}

/**
 * A target of a pushing run: `pushed` when every tag reached its registry, `failed` when a push
 * failed (its image stays in the engine's store), `not-pushed` when it made no image or has no tag.
 */
export interface PublishedTarget {
  target: string;
  status: "pushed" | "failed" | "not-pushed";
  /** The tags that reached their registry, each with the manifest digest the registry stored. */
  tags: { tag: string; digest: string }[];
  /** The push that failed: which name, which registry, the registry's words and what to do. */
  error: { tag: string; registry: string; message: string; hint: string | null } | null;
}

import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import pLimit from "p-limit";
import type { BuildSettings, Engine } from "../engine/engine.js";
import { deadlineSignal } from "../engine/deadline-signal.js";
import {
  BuildCancelledError,
  BuildFailedError,
  EngineError,
  isStagecraftError,
  type AnyStagecraftError,
  type BuildFailureDetails,
  type CancelReason,
  type StagecraftError,
} from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { DecodedStatus } from "../progress/decode-status.js";

/** One target to build: the stage to pass as `target=` (undefined: the last stage) and its tags. */
export interface TargetSpec {
  /** The name the report and events use for this target (the stage id, or the default target's id). */
  name: string;
  /** The stage to build; undefined builds the Dockerfile's last stage. */
  stage?: string | undefined;
  tags?: readonly string[] | undefined;
  /** Settings of this target only, over the run's (e.g. its own cache export ref). */
  settings?: BuildSettings | undefined;
}

/** A packed build context, streamed once per target build. */
export interface ContextSource {
  stream(): Readable;
  /** The Dockerfile's path inside the context tar. */
  dockerfileInContext: string;
}

/** The labels stagecraft puts on every image it builds, so they can be found without a tag. */
export const IMAGE_LABELS = {
  /** `true` on every image stagecraft built. */
  managed: "org.stagecraft.managed",
  /** The target (stage id) the image is. */
  target: "org.stagecraft.target",
  /** The stage an untagged size probe measured (removed after it was inspected). */
  sizeProbe: "org.stagecraft.size-probe",
} as const;

/** How a target's build ended. */
export type TargetStatus = "succeeded" | "failed" | "cancelled";

/** The outcome of one target. */
export interface TargetResult {
  name: string;
  status: TargetStatus;
  imageId?: string | undefined;
  tags: readonly string[];
  /** Epoch milliseconds; undefined when the build never started. */
  startedAt?: number | undefined;
  finishedAt?: number | undefined;
  /** Narrows on `code`: `error.code === "BUILD_FAILED"` gives the `logTail`. */
  error?: AnyStagecraftError | undefined;
}

/** The outcome of a run: every target's result, in the requested order. */
export interface RunResult {
  status: TargetStatus;
  targets: readonly TargetResult[];
  startedAt: number;
  finishedAt: number;
}

/** Lifecycle notifications from the scheduler, in the order they happen. */
export type SchedulerNotice =
  | { type: "target-queued"; target: string; time: number }
  | { type: "target-started"; target: string; time: number; buildId: string }
  | {
      type: "target-finished";
      target: string;
      time: number;
      imageId: string;
      tags: readonly string[];
    }
  | { type: "target-failed"; target: string; time: number; error: AnyStagecraftError }
  | { type: "target-cancelled"; target: string; time: number; error: BuildCancelledError };

/** Options of `runTargets`. */
export interface RunTargetsOptions {
  engine: Engine;
  context: ContextSource;
  targets: readonly TargetSpec[];
  /** How every target is built (build args, labels, platform, …). */
  settings?: BuildSettings | undefined;
  /** How many target builds run at once (default: all of them, so BuildKit shares their steps). */
  concurrency?: number | undefined;
  /** Build slots shared with other runs (see `RunBuildOptions.limit`); replaces `concurrency`. */
  limit?: BuildLimit | undefined;
  /** Let independent targets finish when one fails (default: cancel the others). */
  keepGoing?: boolean | undefined;
  /**
   * Aborting cancels every build on the daemon: as interrupted, or for the reason of a
   * `BuildCancelledError` given as the abort reason (e.g. another run's target failed).
   */
  signal?: AbortSignal | undefined;
  /** Cancel every build once the run has taken this long. */
  timeoutMs?: number | undefined;
  /** Lifecycle notices (queued, started, finished, failed, cancelled). */
  onNotice?: ((notice: SchedulerNotice) => void) | undefined;
  /** Every BuildKit status of every target's build. */
  onStatus?: ((target: string, status: DecodedStatus) => void) | undefined;
  /** Adds what the progress stream knows (stage, line, log tail) to a failure. */
  describeFailure?:
    ((target: string, daemonMessage: string) => Partial<BuildFailureDetails>) | undefined;
  /** After asking the daemon to cancel, how long to wait before dropping the request (default 750 ms). */
  cancelGraceMs?: number | undefined;
  /** Diagnostics; silent by default. */
  logger?: Logger | undefined;
  /**
   * When (epoch ms, this machine's clock) a step last started on any stream of the run: cancels wait
   * until it is `STEP_START_GUARD_MS` old (see `runTargets`).
   */
  lastStepStartedAt?: (() => number | undefined) | undefined;
}

/** Runs a target's build when a slot is free (a `p-limit` function fits). */
export type BuildLimit = <T>(build: () => Promise<T>) => Promise<T>;

/** How old the latest step start must be before a cancel is sent (a daemon race; see `runTargets`). */
export const STEP_START_GUARD_MS = 250;

/**
 * Builds every requested target on the engine: one build request per target, submitted together
 * under a concurrency limit so BuildKit runs each shared step once. Fails fast unless `keepGoing`;
 * aborting `signal` (or reaching `timeoutMs`) cancels every build on the daemon. Never throws for a
 * failed build: failures are values in the result.
 *
 * @example
 * const result = await runTargets({ engine, context, targets: [{ name: "test", stage: "test" }] });
 */
export async function runTargets(options: RunTargetsOptions): Promise<RunResult> {
  const { engine, targets } = options;
  const startedAt = Date.now();
  const notify = options.onNotice ?? (() => undefined);
  const limit: BuildLimit =
    options.limit ?? pLimit(Math.max(1, options.concurrency ?? targets.length));
  const grace = options.cancelGraceMs ?? 750;
  const log = options.logger ?? silentLogger;
  let stopped: CancelReason | undefined;

  interface Running {
    spec: TargetSpec;
    buildId: string;
    controller: AbortController;
    cancel: CancelReason | undefined;
    started: boolean;
    timers: ReturnType<typeof setTimeout>[];
  }
  const runs: Running[] = targets.map((spec) => ({
    spec,
    buildId: `stagecraft-${randomUUID()}`,
    controller: new AbortController(),
    cancel: undefined,
    started: false,
    timers: [],
  }));
  const cancelledError = (run: Running, reason: CancelReason): BuildCancelledError =>
    new BuildCancelledError(run.spec.name, reason);

  const cancel = (run: Running, reason: CancelReason): void => {
    if (run.cancel !== undefined) return;
    run.cancel = reason;
    log.info(
      { target: run.spec.name, buildId: run.buildId, reason, started: run.started },
      "cancelling target",
    );
    if (!run.started) {
      run.controller.abort(cancelledError(run, reason));
      return;
    }
    // Docker 26.1 (BuildKit 0.13) loses a cancel that reaches it while a RUN step's container is
    // being started (measured: within ~25 ms of the step's start on the stream): the process starts
    // anyway, outlives the build, and nothing in the API can stop it. So a cancel waits until the
    // latest step start is `STEP_START_GUARD_MS` old; no new step starts once the cancel is in.
    const lastStart = options.lastStepStartedAt?.();
    const wait =
      lastStart === undefined ? 0 : Math.max(0, lastStart + STEP_START_GUARD_MS - Date.now());
    const later = (ms: number, act: () => void): void => {
      const timer = setTimeout(act, ms);
      timer.unref();
      run.timers.push(timer);
    };
    later(wait, () => {
      // /build/cancel ends the stream cleanly within tens of milliseconds; dropping the request is
      // the fallback for an engine that does not answer it (a frozen engine answers nothing, so the
      // cancel request itself gives up with the request).
      engine.cancelBuild(run.buildId, deadlineSignal(grace)).catch((error: unknown) => {
        log.warn(
          { buildId: run.buildId, error: String(error) },
          "the cancel request failed; the build request is dropped instead",
        );
      });
      later(grace, () => {
        run.controller.abort(cancelledError(run, reason));
      });
    });
  };
  const stopAll = (reason: CancelReason, except?: Running): void => {
    stopped ??= reason;
    for (const run of runs) if (run !== except) cancel(run, reason);
  };
  const onAbort = (): void => {
    const reason: unknown = options.signal?.reason;
    stopAll(reason instanceof BuildCancelledError ? reason.reason : { kind: "interrupted" });
  };
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          stopAll({ kind: "timeout", afterMs: options.timeoutMs ?? 0 });
        }, options.timeoutMs);

  const buildOne = async (run: Running): Promise<TargetResult> => {
    const { spec } = run;
    const tags = spec.tags ?? [];
    if (run.cancel !== undefined) {
      const error = cancelledError(run, run.cancel);
      notify({ type: "target-cancelled", target: spec.name, time: Date.now(), error });
      return { name: spec.name, status: "cancelled", tags, error };
    }
    run.started = true;
    const targetStartedAt = Date.now();
    notify({
      type: "target-started",
      target: spec.name,
      time: targetStartedAt,
      buildId: run.buildId,
    });
    const settings = { ...options.settings, ...spec.settings };
    try {
      const { imageId } = await engine.build({
        ...settings,
        context: () => options.context.stream(),
        dockerfile: options.context.dockerfileInContext,
        target: spec.stage,
        tags,
        labels: {
          ...settings.labels,
          [IMAGE_LABELS.managed]: "true",
          [IMAGE_LABELS.target]: spec.name,
        },
        buildId: run.buildId,
        signal: run.controller.signal,
        onStatus:
          options.onStatus === undefined
            ? undefined
            : (status) => options.onStatus?.(spec.name, status),
      });
      const finishedAt = Date.now();
      // A build that finished before a cancel reached it made its image: it counts as a success.
      notify({ type: "target-finished", target: spec.name, time: finishedAt, imageId, tags });
      return {
        name: spec.name,
        status: "succeeded",
        imageId,
        tags,
        startedAt: targetStartedAt,
        finishedAt,
      };
    } catch (caught) {
      const finishedAt = Date.now();
      // Read again (not narrowed): a cancel may have arrived while the build ran.
      const cancelled = cancelOf(run);
      if (cancelled !== undefined) {
        const error = cancelledError(run, cancelled);
        notify({ type: "target-cancelled", target: spec.name, time: finishedAt, error });
        return {
          name: spec.name,
          status: "cancelled",
          tags,
          startedAt: targetStartedAt,
          finishedAt,
          error,
        };
      }
      const error = toTargetError(caught, spec.name, options.describeFailure);
      // A step several targets need failed, reported first by a target it was not built for: the
      // target that owns it is the one that failed (its own stream says so a moment later); this
      // one is cancelled because of it.
      const owner = error instanceof BuildFailedError ? error.stepOwner : undefined;
      const ownerRun = runs.find((other) => other.spec.name === owner);
      if (
        options.keepGoing !== true &&
        owner !== undefined &&
        owner !== spec.name &&
        ownerRun?.started === true &&
        ownerRun.cancel === undefined &&
        stopped === undefined
      ) {
        const reason: CancelReason = { kind: "fail-fast", failedTarget: owner };
        stopAll(reason, ownerRun);
        run.cancel = reason;
        const cancelled = cancelledError(run, reason);
        notify({ type: "target-cancelled", target: spec.name, time: finishedAt, error: cancelled });
        return {
          name: spec.name,
          status: "cancelled",
          tags,
          startedAt: targetStartedAt,
          finishedAt,
          error: cancelled,
        };
      }
      notify({ type: "target-failed", target: spec.name, time: finishedAt, error });
      if (isEngineLoss(error)) {
        // The engine is gone: every other build is lost with it, whatever keepGoing says.
        stopAll({ kind: "engine", message: error.message }, run);
      } else if (options.keepGoing !== true && stopped === undefined) {
        stopAll({ kind: "fail-fast", failedTarget: spec.name }, run);
      }
      return {
        name: spec.name,
        status: "failed",
        tags,
        startedAt: targetStartedAt,
        finishedAt,
        error,
      };
    } finally {
      for (const timer of run.timers) clearTimeout(timer);
    }
  };

  for (const run of runs)
    notify({ type: "target-queued", target: run.spec.name, time: Date.now() });
  const results = await Promise.all(runs.map((run) => limit(() => buildOne(run))));
  options.signal?.removeEventListener("abort", onAbort);
  clearTimeout(timeout);

  const status: TargetStatus =
    stopped?.kind === "interrupted"
      ? "cancelled"
      : results.some((result) => result.status !== "succeeded")
        ? "failed"
        : "succeeded";
  return { status, targets: results, startedAt, finishedAt: Date.now() };
}

function cancelOf(run: { cancel: CancelReason | undefined }): CancelReason | undefined {
  return run.cancel;
}

/** An engine that cannot be reached, or that dropped the build's stream, takes every build with it. */
function isEngineLoss(error: StagecraftError): boolean {
  return (
    error instanceof EngineError &&
    (error.code === "ENGINE_STREAM_ENDED" || error.code === "ENGINE_UNREACHABLE")
  );
}

function toTargetError(
  caught: unknown,
  target: string,
  describe: RunTargetsOptions["describeFailure"],
): AnyStagecraftError {
  if (caught instanceof BuildFailedError) {
    const extra = describe?.(target, caught.daemonMessage) ?? {};
    return new BuildFailedError({ ...extra, target, daemonMessage: caught.daemonMessage });
  }
  if (isStagecraftError(caught)) return caught;
  const message = caught instanceof Error ? caught.message : String(caught);
  return new BuildFailedError({ target, daemonMessage: message }, { cause: caught });
}

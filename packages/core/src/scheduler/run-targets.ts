import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import pLimit from "p-limit";
import {
  BuildCancelledError,
  BuildFailedError,
  StagecraftError,
  type BuildFailureDetails,
} from "../errors.js";
import type { Engine, NetworkMode } from "../engine/engine.js";
import { silentLogger, type Logger } from "../logger.js";

/** One target to build: the stage to pass as `target=` (undefined: the last stage) and its tags. */
export interface TargetSpec {
  /** The name the report and events use for this target (the stage id, or the default target's id). */
  name: string;
  /** The stage to build; undefined builds the Dockerfile's last stage. */
  stage?: string | undefined;
  tags?: readonly string[] | undefined;
}

/** A packed build context, streamed once per target build. */
export interface ContextSource {
  stream(): Readable;
  /** The Dockerfile's path inside the context tar. */
  dockerfileInContext: string;
}

/** Labels stagecraft puts on every image it builds, so they can be found without a tag. */
export const MANAGED_LABEL = "org.stagecraft.managed";
export const TARGET_LABEL = "org.stagecraft.target";

/** The outcome of one target. */
export interface TargetResult {
  name: string;
  status: "succeeded" | "failed" | "cancelled";
  imageId?: string | undefined;
  tags: readonly string[];
  /** Epoch milliseconds; undefined when the build never started. */
  startedAt?: number | undefined;
  finishedAt?: number | undefined;
  error?: StagecraftError | undefined;
}

/** The outcome of a run: every target's result, in the requested order. */
export interface RunResult {
  status: "succeeded" | "failed" | "cancelled";
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
  | { type: "target-failed"; target: string; time: number; error: StagecraftError }
  | { type: "target-cancelled"; target: string; time: number; reason: "interrupted" | "fail-fast" };

/** Options of `runTargets`. */
export interface RunTargetsOptions {
  engine: Engine;
  context: ContextSource;
  targets: readonly TargetSpec[];
  buildArgs?: Readonly<Record<string, string>> | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  platform?: string | undefined;
  noCache?: boolean | undefined;
  pull?: boolean | undefined;
  network?: NetworkMode | undefined;
  extraHosts?: readonly string[] | undefined;
  cacheFrom?: readonly string[] | undefined;
  /** How many target builds run at once (default: all of them, so BuildKit shares their steps). */
  concurrency?: number | undefined;
  /** Let independent targets finish when one fails (default: cancel the others). */
  keepGoing?: boolean | undefined;
  /** Aborting cancels every build on the daemon. */
  signal?: AbortSignal | undefined;
  /** Lifecycle notices (queued, started, finished, failed, cancelled). */
  onNotice?: ((notice: SchedulerNotice) => void) | undefined;
  /** Every raw line of every target's daemon stream. */
  onDaemonLine?: ((target: string, line: string) => void) | undefined;
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

/** How old the latest step start must be before a cancel is sent (a daemon race; see `runTargets`). */
export const STEP_START_GUARD_MS = 250;

/**
 * Builds every requested target on the engine: one `/build` request per target, submitted together
 * under a concurrency limit so BuildKit runs each shared step once. Fails fast unless `keepGoing`;
 * aborting `signal` cancels every build on the daemon. Never throws for a failed build: failures are
 * values in the result.
 *
 * @example
 * const result = await runTargets({ engine, context, targets: [{ name: "test", stage: "test" }] });
 */
export async function runTargets(options: RunTargetsOptions): Promise<RunResult> {
  const { engine, targets } = options;
  const startedAt = Date.now();
  const notify = options.onNotice ?? (() => undefined);
  const limit = pLimit(Math.max(1, options.concurrency ?? targets.length));
  const grace = options.cancelGraceMs ?? 750;
  const log = options.logger ?? silentLogger;
  let failedFast = false;

  interface Running {
    spec: TargetSpec;
    buildId: string;
    controller: AbortController;
    cancelReason: "interrupted" | "fail-fast" | undefined;
    started: boolean;
    graceTimer: ReturnType<typeof setTimeout> | undefined;
    cancelTimer: ReturnType<typeof setTimeout> | undefined;
  }
  const runs: Running[] = targets.map((spec) => ({
    spec,
    buildId: `stagecraft-${randomUUID()}`,
    controller: new AbortController(),
    cancelReason: undefined,
    started: false,
    graceTimer: undefined,
    cancelTimer: undefined,
  }));

  const cancel = (run: Running, reason: "interrupted" | "fail-fast"): void => {
    if (run.cancelReason !== undefined) return;
    run.cancelReason = reason;
    log.info(
      { target: run.spec.name, buildId: run.buildId, reason, started: run.started },
      "cancelling target",
    );
    if (!run.started) {
      run.controller.abort(new BuildCancelledError(run.spec.name, reason));
      return;
    }
    // Docker 26.1 (BuildKit 0.13) loses a cancel that reaches it while a RUN step's container is
    // being started (measured: within ~25 ms of the step's start on the stream): the process starts
    // anyway, outlives the build, and nothing in the API can stop it. So a cancel waits until the
    // latest step start is `STEP_START_GUARD_MS` old; no new step starts once the cancel is in.
    const lastStart = options.lastStepStartedAt?.();
    const wait =
      lastStart === undefined ? 0 : Math.max(0, lastStart + STEP_START_GUARD_MS - Date.now());
    run.cancelTimer = setTimeout(() => {
      // /build/cancel ends the stream cleanly within tens of milliseconds; dropping the request is
      // the fallback for an engine that does not answer it.
      engine.cancelBuild(run.buildId).catch((error: unknown) => {
        log.warn(
          { buildId: run.buildId, error: String(error) },
          "/build/cancel failed; the request will be dropped",
        );
      });
      run.graceTimer = setTimeout(() => {
        run.controller.abort(new BuildCancelledError(run.spec.name, reason));
      }, grace);
      run.graceTimer.unref();
    }, wait);
    run.cancelTimer.unref();
  };
  const cancelAll = (reason: "interrupted" | "fail-fast"): void => {
    for (const run of runs) cancel(run, reason);
  };
  const onAbort = (): void => {
    cancelAll("interrupted");
  };
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const labels = { ...options.labels, [MANAGED_LABEL]: "true" };
  const buildOne = async (run: Running): Promise<TargetResult> => {
    const { spec } = run;
    const tags = spec.tags ?? [];
    if (run.cancelReason !== undefined) {
      notify({
        type: "target-cancelled",
        target: spec.name,
        time: Date.now(),
        reason: run.cancelReason,
      });
      return {
        name: spec.name,
        status: "cancelled",
        tags,
        error: new BuildCancelledError(spec.name, run.cancelReason),
      };
    }
    run.started = true;
    const targetStartedAt = Date.now();
    notify({
      type: "target-started",
      target: spec.name,
      time: targetStartedAt,
      buildId: run.buildId,
    });
    try {
      const { imageId } = await engine.build({
        context: () => options.context.stream(),
        dockerfile: options.context.dockerfileInContext,
        target: spec.stage,
        tags,
        buildArgs: options.buildArgs,
        labels: { ...labels, [TARGET_LABEL]: spec.name },
        platform: options.platform,
        noCache: options.noCache,
        pull: options.pull,
        network: options.network,
        extraHosts: options.extraHosts,
        cacheFrom: options.cacheFrom,
        buildId: run.buildId,
        signal: run.controller.signal,
        onLine:
          options.onDaemonLine === undefined
            ? undefined
            : (line) => options.onDaemonLine?.(spec.name, line),
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
      // Read again: a cancel may have arrived while the build ran.
      const cancelReason = cancelReasonOf(run);
      if (cancelReason !== undefined) {
        notify({
          type: "target-cancelled",
          target: spec.name,
          time: finishedAt,
          reason: cancelReason,
        });
        return {
          name: spec.name,
          status: "cancelled",
          tags,
          startedAt: targetStartedAt,
          finishedAt,
          error: new BuildCancelledError(spec.name, cancelReason),
        };
      }
      const error = toTargetError(caught, spec.name, options.describeFailure);
      notify({ type: "target-failed", target: spec.name, time: finishedAt, error });
      if (options.keepGoing !== true && !failedFast) {
        failedFast = true;
        for (const other of runs) if (other !== run) cancel(other, "fail-fast");
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
      clearTimeout(run.cancelTimer);
      clearTimeout(run.graceTimer);
    }
  };

  for (const run of runs)
    notify({ type: "target-queued", target: run.spec.name, time: Date.now() });
  const results = await Promise.all(runs.map((run) => limit(() => buildOne(run))));
  options.signal?.removeEventListener("abort", onAbort);

  const status: RunResult["status"] =
    options.signal?.aborted === true
      ? "cancelled"
      : results.some((result) => result.status !== "succeeded")
        ? "failed"
        : "succeeded";
  return { status, targets: results, startedAt, finishedAt: Date.now() };
}

function cancelReasonOf(run: { cancelReason: "interrupted" | "fail-fast" | undefined }) {
  return run.cancelReason;
}

function toTargetError(
  caught: unknown,
  target: string,
  describe: RunTargetsOptions["describeFailure"],
): StagecraftError {
  if (caught instanceof BuildFailedError) {
    const extra = describe?.(target, caught.daemonMessage) ?? {};
    return new BuildFailedError({ ...extra, target, daemonMessage: caught.daemonMessage });
  }
  if (caught instanceof StagecraftError) return caught;
  const message = caught instanceof Error ? caught.message : String(caught);
  return new BuildFailedError({ target, daemonMessage: message }, { cause: caught });
}

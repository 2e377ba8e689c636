import type { ImageDetails, SessionOptions } from "../engine/engine.js";
import { bindSession, openEngineSession } from "../engine/session/bind-session.js";
import type { BuildFailureDetails, StagecraftError } from "../errors.js";
import { BUILD_EVENT_SCHEMA_VERSION, type BuildEvent, type TargetError } from "../events.js";
import { silentLogger, type Logger } from "../logger.js";
import type { DockerfileMap } from "../progress/attribute-stage.js";
import {
  createProgressTracker,
  type ProgressSummary,
} from "../progress/create-progress-tracker.js";
import { createRedactor, redactDeep } from "../redact.js";
import {
  runTargets,
  type RunResult,
  type RunTargetsOptions,
  type SchedulerNotice,
} from "./run-targets.js";

/** Options of `runBuild`: the targets, the build's options, and the engine to run them on. */
export interface RunBuildOptions extends Omit<
  RunTargetsOptions,
  "onNotice" | "onDaemonLine" | "describeFailure"
> {
  /** Per target, the stage ids it builds (from the plan): decides who owns shared steps. */
  targetStages?: Readonly<Record<string, readonly string[]>> | undefined;
  /** The Dockerfile's stages and their vertex-producing instructions: maps steps to lines. */
  dockerfileMap?: DockerfileMap | undefined;
  /** Values to mask as `***` in every event, log line and error (build args marked secret). */
  secrets?: readonly string[] | undefined;
  /**
   * A BuildKit session for the run (secrets, SSH agents, an output), opened before the first build,
   * shared by every target and closed at the end. Its secret values are masked like `secrets`.
   */
  session?: SessionOptions | undefined;
  /** Every event of the run, in order; it only observes. */
  onEvent?: ((event: BuildEvent) => void) | undefined;
  /** Where the engine is, for `run-started` (e.g. `unix:///var/run/docker.sock`). */
  engineEndpoint?: string | undefined;
  logger?: Logger | undefined;
}

/** What a run produced: every target's result, what the progress stream showed, and the images. */
export interface BuildOutcome extends RunResult {
  progress: ProgressSummary;
  /** Per target, the engine's data about its image (succeeded targets only). */
  images: Readonly<Record<string, ImageDetails | undefined>>;
}

/**
 * Builds the requested targets on the engine with live, stage-attributed events: the library's main
 * entry point. Never throws for a failed build; failures are values in the outcome.
 *
 * @example
 * const context = await packBuildContext({ contextDir: ".", dockerfilePath: "Dockerfile" });
 * const outcome = await runBuild({
 *   engine: new DockerEngine(),
 *   context,
 *   targets: [{ name: "test", stage: "test" }, { name: "app", stage: "app", tags: ["me/app:dev"] }],
 *   onEvent: (event) => console.log(event.type),
 * });
 */
export async function runBuild(options: RunBuildOptions): Promise<BuildOutcome> {
  const log = options.logger ?? silentLogger;
  const masked = [...(options.secrets ?? []), ...sessionSecretTexts(options.session)];
  const redact = createRedactor(masked);
  const hasSecrets = masked.some((secret) => secret !== "");
  const listener = options.onEvent;
  let lastStepStartedAt: number | undefined;
  const emit = (event: BuildEvent): void => {
    if (event.type === "step-started") lastStepStartedAt = Date.now();
    if (listener === undefined) return;
    listener(hasSecrets ? redactDeep(event, redact) : event);
  };
  const names = options.targets.map((target) => target.name);
  const tracker = createProgressTracker({
    targets: names,
    targetStages: options.targetStages,
    dockerfileMap: options.dockerfileMap,
    onEvent: emit,
  });
  const ended = new Set<string>();
  const endStream = (target: string): void => {
    if (ended.has(target)) return;
    ended.add(target);
    tracker.end(target);
  };
  const startedAt = new Map<string, number>();

  const session =
    options.session === undefined
      ? undefined
      : await openEngineSession(options.engine, options.session);
  const engine = session === undefined ? options.engine : bindSession(options.engine, session);

  emit({
    type: "run-started",
    time: Date.now(),
    schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
    targets: names,
    concurrency: Math.max(1, options.concurrency ?? names.length),
    engine: options.engineEndpoint ?? null,
  });

  const onNotice = (notice: SchedulerNotice): void => {
    switch (notice.type) {
      case "target-queued":
        emit({ type: "target-queued", time: notice.time, target: notice.target, waitingFor: [] });
        return;
      case "target-started":
        startedAt.set(notice.target, notice.time);
        emit({
          type: "target-started",
          time: notice.time,
          target: notice.target,
          buildId: notice.buildId,
        });
        return;
      case "target-finished":
        endStream(notice.target);
        emit({
          type: "target-finished",
          time: notice.time,
          target: notice.target,
          imageId: notice.imageId,
          tags: [...notice.tags],
          durationMs: notice.time - (startedAt.get(notice.target) ?? notice.time),
        });
        return;
      case "target-failed":
        endStream(notice.target);
        emit({
          type: "target-failed",
          time: notice.time,
          target: notice.target,
          error: toTargetError(notice.error),
          durationMs: notice.time - (startedAt.get(notice.target) ?? notice.time),
        });
        return;
      case "target-cancelled":
        endStream(notice.target);
        emit({
          type: "target-cancelled",
          time: notice.time,
          target: notice.target,
          reason: notice.reason,
        });
        return;
      default:
        return notice satisfies never;
    }
  };

  let result: RunResult;
  try {
    result = await runTargets({
      ...options,
      engine,
      onNotice,
      lastStepStartedAt: () => lastStepStartedAt,
      onDaemonLine: (target, line) => {
        tracker.push(target, line);
      },
      describeFailure: (target): Partial<BuildFailureDetails> => {
        endStream(target);
        const context = tracker.failureContext(target);
        return {
          stage: context.stage,
          step: context.step === undefined ? undefined : redact(context.step),
          line: context.line,
          logTail: context.logTail.map(redact),
        };
      },
    });
  } finally {
    await session?.close();
  }

  const images: Record<string, ImageDetails | undefined> = {};
  await Promise.all(
    result.targets.map(async (target) => {
      // A build exported to a session output made no image.
      if (target.imageId === undefined || target.imageId === "") return;
      try {
        images[target.name] = await options.engine.inspectImage(target.imageId);
      } catch (error) {
        log.warn(
          { target: target.name, error: String(error) },
          "could not inspect the built image",
        );
      }
    }),
  );

  const finishedAt = Date.now();
  emit({
    type: "run-finished",
    time: finishedAt,
    status: result.status,
    durationMs: finishedAt - result.startedAt,
    succeeded: result.targets.filter((t) => t.status === "succeeded").map((t) => t.name),
    failed: result.targets.filter((t) => t.status === "failed").map((t) => t.name),
    cancelled: result.targets.filter((t) => t.status === "cancelled").map((t) => t.name),
  });
  return { ...result, progress: tracker.summary(), images };
}

/** A session's secret values as text, with and without a trailing newline (how logs would show them). */
function sessionSecretTexts(session: SessionOptions | undefined): string[] {
  const decoder = new TextDecoder();
  return Object.values(session?.secrets ?? {}).flatMap((value) => {
    const text = decoder.decode(value);
    const trimmed = text.replace(/\r?\n$/, "");
    return trimmed === text ? [text] : [text, trimmed];
  });
}

/** The JSON form of a target's error, as `target-failed` carries it. */
export function toTargetError(error: StagecraftError): TargetError {
  const details = error as Partial<BuildFailureDetails> & StagecraftError;
  return {
    code: error.code,
    message: error.message,
    hint: error.hint,
    stage: details.stage,
    step: details.step,
    line: details.line,
    logTail: [...(details.logTail ?? [])],
  };
}

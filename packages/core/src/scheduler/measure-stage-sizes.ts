// The sizes of stages nobody asked for: each is built once more as an untagged image ("a size
// probe"), inspected and removed. A probe is sent as soon as the run has built its stage (every step
// of it is then in the cache: the probe costs an export only), while the targets that need more go
// on; a stage the run did not change may be remembered instead, and one that came whole from an
// imported cache is left unmeasured. Measured: docs/decisions/stage-sizes.md.
import { randomUUID } from "node:crypto";
import type { BuildSettings, Engine } from "../engine/engine.js";
import { deadlineSignal } from "../engine/deadline-signal.js";
import type { Logger } from "../logger.js";
import { IMAGE_LABELS, type BuildLimit, type ContextSource } from "./run-targets.js";
import {
  chainRan,
  recallStageSizes,
  rememberStageSizes,
  stageSizeKey,
  type StageSteps,
} from "./stage-size-memory.js";

/**
 * How long a probe's image removal may take once the run was stopped (an interrupted run must end
 * soon); otherwise it takes what it takes: on the containerd store at load 8-10 a removal took
 * more than 5 s (examples/node-service's `source` and `build`).
 */
const STOPPED_REMOVE_MS = 5_000;

/** What `measureStageSizes` needs. */
export interface StageSizeOptions {
  engine: Engine;
  context: ContextSource;
  /** How a probe is built: the run's settings, reading the cache the targets filled. */
  settings: BuildSettings;
  /** The stages to measure (see `selectSizeProbes`). */
  stages: readonly string[];
  /** The stage and every stage it needs, by id. */
  chainOf: (stage: string) => readonly string[];
  /** What the run saw of each stage's steps so far (`createStageStepsCollector`). */
  steps: ReadonlyMap<string, StageSteps>;
  /** The build's Dockerfile input (text, build args, platform), part of a remembered size's key. */
  input: string;
  /** The engine's endpoint, version and platform, part of the key. */
  engineKey: string;
  /** The context's fingerprint, part of the key; undefined: nothing is remembered or recalled. */
  contextFingerprint: Promise<string | undefined>;
  /** Where sizes are remembered (`RunBuildOptions.stageSizeFile`). */
  stageSizeFile?: string | undefined;
  /** The targets import a cache (`--cache-from`): a stage taken whole from it is not probed. */
  importsCache: boolean;
  /**
   * Send a probe once its stage is built (`stageBuilt`), beside the targets still building; false:
   * every probe waits for `finish`, after the targets. Default true.
   */
  early?: boolean | undefined;
  /**
   * Ask for the size only (`BuildRequest.sizeOnly`): on the containerd store the probe's content is
   * exported with no image made, so there is none to remove (a removal there waits for the store's
   * garbage collection: 5-11 s after a cold build under load). Default false.
   */
  sizeOnly?: boolean | undefined;
  /**
   * Build slots: a probe waits for one, behind every target already waiting (p-limit is first in,
   * first out, and a run queues all its targets at its start). Undefined: no wait.
   */
  limit?: BuildLimit | undefined;
  /** Aborting stops every probe (interrupt, the run's deadline). */
  signal?: AbortSignal | undefined;
  /** After asking the daemon to cancel a probe, how long until its request is dropped (750 ms). */
  cancelGraceMs?: number | undefined;
  logger: Logger;
}

/** What the sizes step found, for the report. */
export interface StageSizeResult {
  /** Each measured or remembered stage's size in bytes. */
  sizes: Record<string, number>;
  unmeasured: { stage: string; reason: string }[];
  probed: string[];
  recalled: string[];
}

/** Stage sizes being measured during a run. */
export interface StageSizeMeasurement {
  /**
   * The run has built this stage (its steps all ended): measure it now. Stages that are not to be
   * measured, stages already under way, and every stage when `early` is false, are ignored.
   */
  stageBuilt(stage: string): void;
  /**
   * The targets all succeeded: measures the stages not started yet, waits for every probe, keeps
   * the new sizes in `stageSizeFile` and resolves with what is known; never rejects.
   */
  finish(): Promise<StageSizeResult>;
  /**
   * The run will not succeed (the sizes would not be shown): stops every probe, queued or building
   * (cancelled on the daemon, an image it made removed). `settled` says when that is done.
   */
  abort(): void;
  /** Resolves once every probe started has ended and its image is removed; never rejects. */
  settled(): Promise<void>;
}

type StageOutcome =
  | { kind: "recalled"; bytes: number }
  | { kind: "unmeasured"; reason: string }
  | { kind: "probed"; bytes: number; key: string | undefined }
  | { kind: "none" };

const FROM_IMPORTED_CACHE =
  "every step came from the imported cache; measuring would pull its layers " +
  "(a build that runs one of its steps measures it)";

/**
 * Measures the stages in `options.stages` as the run builds them; `finish` or `abort` ends it.
 *
 * @example
 * const sizes = measureStageSizes({ engine, context, settings, stages: ["build"], ...keyParts });
 * // on each `stage-finished` / `stage-cached`: sizes.stageBuilt(event.stage)
 * const { sizes: bytes } = await sizes.finish();
 */
export function measureStageSizes(options: StageSizeOptions): StageSizeMeasurement {
  const { engine, logger } = options;
  const grace = options.cancelGraceMs ?? 750;
  const stop = new AbortController();
  // A function, not the property: it turns true while a probe awaits the engine.
  const stopped = (): boolean => stop.signal.aborted;
  const onAbort = (): void => {
    stop.abort(new Error("the run was stopped"));
  };
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const wanted = new Set(options.stages);
  const under = new Map<string, Promise<StageOutcome>>();

  /**
   * One untagged build of the stage, inspected and removed; undefined when it made no size. With
   * `sizeOnly` the engine may answer the size and make no image; when it made none and could not
   * read the size either, the stage is built once more as an image.
   */
  const probe = async (stage: string, sizeOnly: boolean): Promise<number | undefined> => {
    if (stop.signal.aborted) return undefined;
    const buildId = `stagecraft-size-${randomUUID()}`;
    // The request is dropped only `grace` after the cancel: a build the daemon finished meanwhile
    // still says which image it made, so that image is removed too.
    const request = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const askToCancel = (): void => {
      engine.cancelBuild(buildId, deadlineSignal(grace)).catch(() => undefined);
    };
    const cancel = (): void => {
      askToCancel();
      timer = setTimeout(() => {
        // Asked again: a build the daemon had not registered yet when the first cancel came would
        // go on after its request is dropped, and make an image nobody removes.
        askToCancel();
        request.abort(stop.signal.reason);
      }, grace);
      timer.unref();
    };
    stop.signal.addEventListener("abort", cancel, { once: true });
    const startedAt = performance.now();
    let imageId: string;
    let sizeBytes: number | undefined;
    try {
      ({ imageId, sizeBytes } = await engine.build({
        ...options.settings,
        context: () => options.context.stream(),
        dockerfile: options.context.dockerfileInContext,
        target: stage,
        tags: [],
        labels: {
          ...options.settings.labels,
          [IMAGE_LABELS.managed]: "true",
          [IMAGE_LABELS.sizeProbe]: stage,
        },
        buildId,
        signal: request.signal,
        ...(sizeOnly ? { sizeOnly } : {}),
      }));
    } catch (error) {
      if (!stopped()) {
        logger.warn({ stage, error: String(error) }, "could not measure the stage's size");
      }
      return undefined;
    } finally {
      stop.signal.removeEventListener("abort", cancel);
      clearTimeout(timer);
    }
    if (imageId === "") {
      if (sizeBytes !== undefined) {
        logger.debug(
          { stage, ms: Math.round(performance.now() - startedAt), sizeOnly },
          "size probe measured",
        );
        return sizeBytes;
      }
      return sizeOnly && !stopped() ? await probe(stage, false) : undefined;
    }
    try {
      if (stopped()) return undefined;
      const image = await engine.inspectImage(imageId, stop.signal);
      logger.debug({ stage, ms: Math.round(performance.now() - startedAt) }, "size probe measured");
      return image?.sizeBytes;
    } catch (error) {
      if (!stopped()) {
        logger.warn({ stage, imageId, error: String(error) }, "could not inspect a size probe");
      }
      return undefined;
    } finally {
      // Not with the run's signal: an interrupted run removes its probe's image all the same.
      const removing = stopped() ? deadlineSignal(STOPPED_REMOVE_MS) : undefined;
      await engine.removeImage?.(imageId, removing).catch((error: unknown) => {
        logger.warn({ stage, imageId, error: String(error) }, "could not remove a size probe");
      });
    }
  };

  const measure = async (stage: string): Promise<StageOutcome> => {
    const fingerprint =
      options.stageSizeFile === undefined ? undefined : await options.contextFingerprint;
    const chain = options.chainOf(stage);
    const key = stageSizeKey({
      stage,
      chain,
      steps: options.steps,
      input: options.input,
      contextFingerprint: fingerprint,
      engine: options.engineKey,
    });
    if (options.stageSizeFile !== undefined && key !== undefined && !key.changed) {
      const recalled = await recallStageSizes(options.stageSizeFile, [key.key]);
      const bytes = recalled.get(key.key);
      if (bytes !== undefined) return { kind: "recalled", bytes };
    }
    // A CI rebuild on a fresh engine: every step came from the imported cache, whose layers stay
    // in the registry until something needs them. A probe would pull and unpack them all (6-8 s for
    // examples/node-service's build stage on the containerd store, where the whole rebuild takes
    // 6 s without it): the size is left unmeasured and said so.
    if (options.importsCache && !chainRan(chain, options.steps)) {
      return { kind: "unmeasured", reason: FROM_IMPORTED_CACHE };
    }
    const waitedFrom = performance.now();
    const run = async (): Promise<number | undefined> => {
      logger.debug(
        { stage, waitedMs: Math.round(performance.now() - waitedFrom) },
        "size probe started",
      );
      return await probe(stage, options.sizeOnly === true);
    };
    const bytes = await (options.limit === undefined ? run() : options.limit(run));
    return bytes === undefined ? { kind: "none" } : { kind: "probed", bytes, key: key?.key };
  };

  const start = (stage: string): void => {
    if (!wanted.has(stage) || under.has(stage) || stop.signal.aborted) return;
    under.set(
      stage,
      measure(stage).catch((error: unknown) => {
        logger.warn({ stage, error: String(error) }, "could not measure the stage's size");
        return { kind: "none" } as const;
      }),
    );
  };

  const settled = async (): Promise<void> => {
    await Promise.all(under.values());
  };

  return {
    stageBuilt: options.early === false ? () => undefined : start,
    abort: onAbort,
    settled,
    async finish() {
      for (const stage of options.stages) start(stage);
      const outcomes = await Promise.all(
        options.stages.map(async (stage) => [stage, await under.get(stage)] as const),
      );
      options.signal?.removeEventListener("abort", onAbort);
      const result: StageSizeResult = { sizes: {}, unmeasured: [], probed: [], recalled: [] };
      const learned = new Map<string, number>();
      for (const [stage, outcome] of outcomes) {
        switch (outcome?.kind) {
          case "recalled":
            result.sizes[stage] = outcome.bytes;
            result.recalled.push(stage);
            break;
          case "probed":
            result.sizes[stage] = outcome.bytes;
            result.probed.push(stage);
            if (outcome.key !== undefined) learned.set(outcome.key, outcome.bytes);
            break;
          case "unmeasured":
            result.unmeasured.push({ stage, reason: outcome.reason });
            break;
          case "none":
          case undefined:
            break;
          default:
            return outcome satisfies never;
        }
      }
      const file = options.stageSizeFile;
      if (file !== undefined) {
        await rememberStageSizes(file, learned).catch((error: unknown) => {
          logger.warn({ file, error: String(error) }, "could not remember the stage sizes");
        });
      }
      return result;
    },
  };
}

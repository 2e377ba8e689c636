// The sizes of stages nobody asked for: each is built once more as an untagged image ("a size
// probe"), sent after the targets (every step is then in the cache), inspected and removed.
// Measured on examples/node-service and examples/c-static: docs/decisions/stage-sizes.md.
import { randomUUID } from "node:crypto";
import type { BuildSettings, Engine } from "../engine/engine.js";
import type { Logger } from "../logger.js";
import { IMAGE_LABELS, type ContextSource } from "./run-targets.js";

/** What `startSizeProbes` needs. */
export interface SizeProbeOptions {
  engine: Engine;
  context: ContextSource;
  settings: BuildSettings;
  /** The stages to measure (see `selectSizeProbes`). */
  stages: readonly string[];
  signal?: AbortSignal | undefined;
  logger: Logger;
}

/** Size probes under way. */
export interface SizeProbes {
  /** Gives up on the probes still building (the run failed: their sizes would not be shown). */
  abort(): void;
  /** Each measured stage's size in bytes; a probe that failed is left out (and logged). */
  readonly sizes: Promise<Record<string, number>>;
}

/** Starts one untagged build per stage; never rejects. */
export function startSizeProbes(options: SizeProbeOptions): SizeProbes {
  const controller = new AbortController();
  const signal =
    options.signal === undefined
      ? controller.signal
      : AbortSignal.any([options.signal, controller.signal]);
  const { engine, logger } = options;
  const measure = async (stage: string): Promise<[string, number] | undefined> => {
    const buildId = `stagecraft-size-${randomUUID()}`;
    try {
      const { imageId } = await engine.build({
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
        signal,
      });
      if (imageId === "") return undefined;
      try {
        const image = await engine.inspectImage(imageId, options.signal);
        return image === undefined ? undefined : [stage, image.sizeBytes];
      } finally {
        await engine.removeImage?.(imageId, options.signal).catch((error: unknown) => {
          logger.warn({ stage, imageId, error: String(error) }, "could not remove a size probe");
        });
      }
    } catch (error) {
      if (controller.signal.aborted) {
        // The daemon keeps building a dropped request until told otherwise.
        await engine.cancelBuild(buildId, AbortSignal.timeout(750)).catch(() => undefined);
      } else {
        logger.warn({ stage, error: String(error) }, "could not measure the stage's size");
      }
      return undefined;
    }
  };
  const sizes = Promise.all(options.stages.map(measure)).then((entries) =>
    Object.fromEntries(entries.filter((entry) => entry !== undefined)),
  );
  return {
    abort: () => {
      controller.abort(new Error("the run did not succeed"));
    },
    sizes,
  };
}

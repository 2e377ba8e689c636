import { randomBytes } from "node:crypto";

import type { Engine } from "./engine.js";

/** A base image read by registry digest, and the local name a build reads it by instead. */
export interface LocalPin {
  /** The image as the Dockerfile names it (its named-context key is made from this). */
  reference: string;
  /** What the build would read: `registry/name@sha256:…`. */
  digestRef: string;
  /** The same image under a name of the engine's own store, with no digest: `stagecraft-local-pins/…:RUN`. */
  local: string;
}

/** What `pinBasesLocally` did: the names it gave, and the bases it left as they were, with why. */
export interface LocalPins {
  pinned: LocalPin[];
  left: { reference: string; reason: string }[];
}

/** The repository local pins live under; each run tags under its own tag and removes it again. */
export const LOCAL_PIN_REPOSITORY = "stagecraft-local-pins";

/**
 * Gives each base read by registry digest a name of the engine's own store without a digest, so a
 * graph-driver engine keys it by its layers alone and an imported cache's records match, whatever
 * build cache the engine holds of its own. Pulls (by digest) what the store lacks; a base that
 * cannot be pulled or tagged is left as it is, with the reason. Remove the names with
 * `releaseLocalPins` once the run's builds are done.
 *
 * Why (moby 26.1, BuildKit 0.13): moby's image source (`builder-next/adapters/containerimage`,
 * `puller.CacheKey`) keys a base read by digest twice, first by the manifest digest (when
 * BuildKit's content store holds that manifest, i.e. it pulled it once) and then by the layers'
 * chain ID. The solver (`solver/edge.go`, `execIfPossible` and `loadCache`) loads a record of the
 * engine's own as soon as the first key finds one, and the steps after it are then looked up under
 * that key only. A cache exported where the base was never pulled through BuildKit is linked by
 * the chain ID alone, so none of its steps match. A base read by a local name has no manifest key.
 *
 * @example
 * const pins = await pinBasesLocally(engine, [{ reference: base, digestRef: base }]);
 * // namedContexts[contextNameOf(base)] = `docker-image://${pins.pinned[0].local}`
 */
export async function pinBasesLocally(
  engine: Pick<Engine, "inspectImage" | "pullImage" | "tagImage">,
  bases: readonly { reference: string; digestRef: string }[],
  signal?: AbortSignal,
): Promise<LocalPins> {
  const { tagImage } = engine;
  if (tagImage === undefined) {
    return {
      pinned: [],
      left: bases.map((base) => ({
        reference: base.reference,
        reason: "the engine cannot tag images",
      })),
    };
  }
  const run = randomBytes(6).toString("hex");
  const results = await Promise.all(
    bases.map(async (base): Promise<LocalPin | { reference: string; reason: string }> => {
      const hex = /@sha256:([0-9a-f]{64})$/.exec(base.digestRef)?.[1];
      if (hex === undefined) return { reference: base.reference, reason: "not read by digest" };
      try {
        let image = await engine.inspectImage(base.digestRef, signal);
        if (image === undefined) {
          if (engine.pullImage === undefined) {
            return {
              reference: base.reference,
              reason: "the engine does not have it and cannot pull",
            };
          }
          await engine.pullImage(base.digestRef, signal === undefined ? {} : { signal });
          image = await engine.inspectImage(base.digestRef, signal);
        }
        if (image === undefined) {
          return { reference: base.reference, reason: "the engine has no image by this digest" };
        }
        const local = `${LOCAL_PIN_REPOSITORY}/sha256-${hex}:${run}`;
        await tagImage.call(engine, image.id, local, signal);
        return { reference: base.reference, digestRef: base.digestRef, local };
      } catch (error) {
        if (signal?.aborted === true) throw error;
        return {
          reference: base.reference,
          reason: error instanceof Error ? error.message : String(error),
        };
      }
    }),
  );
  return {
    pinned: results.filter((result): result is LocalPin => "local" in result),
    left: results.filter(
      (result): result is { reference: string; reason: string } => "reason" in result,
    ),
  };
}

/**
 * Removes the names `pinBasesLocally` gave. Only the names go: an image that has its digest (it
 * was pulled by it) or another tag stays in the store.
 */
export async function releaseLocalPins(
  engine: Pick<Engine, "removeImage">,
  pins: LocalPins,
  signal?: AbortSignal,
): Promise<void> {
  const { removeImage } = engine;
  if (removeImage === undefined) return;
  await Promise.all(pins.pinned.map((pin) => removeImage.call(engine, pin.local, signal)));
}

import type { Engine } from "../engine/engine.js";
import { pinBaseImages, type PinnedBase, type UnpinnedBase } from "../engine/pin-base-images.js";
import { isStagecraftError } from "../errors.js";

/** A base image pinned once for the pool: which engine pushed it from its store (or found it in the mirror). */
export interface PoolPinnedBase extends PinnedBase {
  readonly engine: string;
}

/** What {@link pinPoolBases} did with each base image, once for the whole pool. */
export interface PoolBasePins {
  /** `REGISTRY/PATH` the bases were pushed under. */
  readonly mirror: string;
  readonly pinned: readonly PoolPinnedBase[];
  readonly unpinned: readonly UnpinnedBase[];
}

/**
 * Pins each base image once for a pool: on the first engine (in pool order) whose store has it,
 * pushed to `mirror` with `pinBaseImages`. Every engine then reads the same registry digest, so
 * the cache keys of a step agree between engines (one image has another id in each engine's
 * store). An engine that does not answer is passed over; a base no engine has is left unpinned
 * (each build pulls it). A refused push throws: the registry is checked before building.
 */
export async function pinPoolBases(
  pool: readonly { readonly name: string; readonly engine: Engine }[],
  references: readonly string[],
  mirror: string,
  signal?: AbortSignal,
): Promise<PoolBasePins> {
  const unpinned: UnpinnedBase[] = [];
  const byEngine = new Map<string, string[]>();
  await Promise.all(
    [...new Set(references)].map(async (reference) => {
      if (reference.includes("@")) {
        unpinned.push({ reference, reason: "already pinned by digest" });
        return;
      }
      if (reference === "scratch") {
        unpinned.push({ reference, reason: "scratch is no image" });
        return;
      }
      const holder = await firstHolder(pool, reference, signal);
      if (holder === undefined) {
        unpinned.push({
          reference,
          reason: "no engine of the pool has it (each build pulls it from its registry)",
        });
        return;
      }
      byEngine.set(holder, [...(byEngine.get(holder) ?? []), reference]);
    }),
  );
  const pinned = (
    await Promise.all(
      [...byEngine].map(async ([name, list]) => {
        const member = pool.find((candidate) => candidate.name === name);
        if (member === undefined) return [];
        const pins = await pinBaseImages(member.engine, list, mirror, signal);
        unpinned.push(...pins.unpinned);
        return pins.pinned.map((pin) => ({ ...pin, engine: name }));
      }),
    )
  ).flat();
  const order = new Map(references.map((reference, index) => [reference, index]));
  const byOrder = (a: { reference: string }, b: { reference: string }): number =>
    (order.get(a.reference) ?? 0) - (order.get(b.reference) ?? 0);
  return { mirror, pinned: pinned.sort(byOrder), unpinned: unpinned.sort(byOrder) };
}

/** The name of the first engine of the pool whose store has the image; engine faults pass it over. */
async function firstHolder(
  pool: readonly { readonly name: string; readonly engine: Engine }[],
  reference: string,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  for (const member of pool) {
    try {
      if ((await member.engine.inspectImage(reference, signal)) !== undefined) return member.name;
    } catch (thrown) {
      if (!isStagecraftError(thrown)) throw thrown;
    }
  }
  return undefined;
}

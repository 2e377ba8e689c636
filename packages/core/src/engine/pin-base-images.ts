import type { Engine, ImageDetails } from "./engine.js";
import type { RegistryImage } from "./read-registry-image.js";

export { contextNameOf } from "../stages/context-name-of.js";

/** A base image pushed to the mirror, and the reference by digest builds read it through. */
export interface PinnedBase {
  /** The image as the Dockerfile names it, e.g. `node:22`. */
  reference: string;
  /** Where it now lives, by registry digest: `127.0.0.1:5000/stagecraft-bases/library/node@sha256:…`. */
  pinned: string;
  /**
   * Set when nothing was pushed because the mirror already held this image under the tag: with the
   * same image config (`config`) or the same layers (`layers`); absent when it was pushed.
   */
  found?: "config" | "layers" | undefined;
}

/** A base image that was left as it is, and why. */
export interface UnpinnedBase {
  reference: string;
  reason: string;
}

/** What `pinBaseImages` did with each base image. */
export interface BasePins {
  pinned: PinnedBase[];
  unpinned: UnpinnedBase[];
}

/**
 * Pushes each base image from the engine's store to `mirror` (`REGISTRY/PATH`), so builds can read
 * it by registry digest. The same image has a different id on each engine's image store (the
 * graph driver names it by its config digest, the containerd store by its manifest digest), so a
 * cache exported by one engine matches on another only when the base is read by its registry
 * digest. References already pinned (`@sha256:`), `scratch`, and images the engine does not have
 * (it would pull them: nothing to push) are left as they are, with the reason. The mirror's tag
 * is removed again once pushed; the store keeps only what it had. When the mirror already holds
 * the tag with the same image config or the same layers (diff IDs), its digest is used and nothing
 * is pushed: the graph driver and the containerd store push one image under different manifest
 * digests, so engines on both stores agree on a pin only by reusing what the first one pushed.
 *
 * @example
 * const pins = await pinBaseImages(engine, ["node:22"], "127.0.0.1:5000/stagecraft-bases");
 * // pins.pinned[0].pinned: "127.0.0.1:5000/stagecraft-bases/library/node@sha256:…"
 * @throws PushFailedError when the mirror refuses a push; EngineError when the engine fails.
 */
export async function pinBaseImages(
  engine: Pick<Engine, "inspectImage" | "tagImage" | "push" | "removeImage" | "readRegistryImage">,
  references: readonly string[],
  mirror: string,
  signal?: AbortSignal,
): Promise<BasePins> {
  const { tagImage, push } = engine;
  if (tagImage === undefined || push === undefined) {
    return {
      pinned: [],
      unpinned: [...new Set(references)].map((reference) => ({
        reference,
        reason: "the engine cannot tag and push images",
      })),
    };
  }
  const root = mirror.replace(/\/+$/, "");
  const results = await Promise.all(
    [...new Set(references)].map(async (reference): Promise<PinnedBase | UnpinnedBase> => {
      if (reference.includes("@")) return { reference, reason: "already pinned by digest" };
      if (reference === "scratch") return { reference, reason: "scratch is no image" };
      const image = await engine.inspectImage(reference, signal);
      if (image === undefined) {
        return {
          reference,
          reason: "the engine does not have it (the build pulls it from its registry)",
        };
      }
      const { repository, tag } = mirrorName(reference, root);
      const named = `${repository}:${tag}`;
      const held = await readMirror(engine, named, image, signal);
      const found = held === undefined ? undefined : sameImage(image, held);
      if (held !== undefined && found !== undefined) {
        return { reference, pinned: `${repository}@${held.digest}`, found };
      }
      await tagImage.call(engine, image.id, named, signal);
      try {
        const { digest } = await push.call(engine, { ref: named, signal });
        return { reference, pinned: `${repository}@${digest}` };
      } finally {
        await engine.removeImage?.(named, signal);
      }
    }),
  );
  return {
    pinned: results.filter((result): result is PinnedBase => "pinned" in result),
    unpinned: results.filter((result): result is UnpinnedBase => "reason" in result),
  };
}

/** What the mirror holds under `named`; undefined when it has nothing there or cannot be read. */
async function readMirror(
  engine: Pick<Engine, "readRegistryImage">,
  named: string,
  image: ImageDetails,
  signal: AbortSignal | undefined,
): Promise<RegistryImage | undefined> {
  if (engine.readRegistryImage === undefined) return undefined;
  try {
    return await engine.readRegistryImage(
      named,
      { os: image.os, architecture: image.architecture, variant: image.variant },
      signal,
    );
  } catch (error) {
    if (signal?.aborted === true) throw error;
    // A mirror that cannot be read is pushed to as before; the push reports its own failure.
    return undefined;
  }
}

/**
 * Whether the mirror's image is the local one: the same config (overlay2's id), or the same layers
 * and the same run config (what a build `FROM` it inherits: env, user, entrypoint…), so that a tag
 * whose image differs from the mirror's only in its config is pushed, not replaced by the mirror's.
 */
function sameImage(image: ImageDetails, held: RegistryImage): "config" | "layers" | undefined {
  if (image.id === held.configDigest || image.id === held.digest) return "config";
  const local = image.diffIds;
  if (
    local !== undefined &&
    local.length > 0 &&
    local.length === held.diffIds.length &&
    local.every((id, index) => id === held.diffIds[index]) &&
    image.runConfig !== undefined &&
    image.runConfig === held.runConfig
  ) {
    return "layers";
  }
  return undefined;
}

/**
 * Where a base image goes under the mirror: its path as the registry knows it, after its
 * registry's host when that is not Docker Hub (`:` becomes `-`: a path has no ports), and its tag.
 * `node:22` → `MIRROR/library/node:22`, `ghcr.io/o/app` → `MIRROR/ghcr.io/o/app:latest`.
 */
export function mirrorName(reference: string, mirror: string): { repository: string; tag: string } {
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  const name = colon > slash ? reference.slice(0, colon) : reference;
  const tag = colon > slash ? reference.slice(colon + 1) : "latest";
  const first = name.indexOf("/");
  const domain = first === -1 ? "" : name.slice(0, first);
  const isHost = domain.includes(".") || domain.includes(":") || domain === "localhost";
  let path: string;
  if (!isHost) path = first === -1 ? `library/${name}` : name;
  else if (domain === "docker.io" || domain === "index.docker.io") {
    const rest = name.slice(first + 1);
    path = rest.includes("/") ? rest : `library/${rest}`;
  } else path = `${domain.replace(/:/g, "-")}${name.slice(first)}`;
  return { repository: `${mirror}/${path}`, tag };
}

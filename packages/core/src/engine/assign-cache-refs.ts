import type { CacheEntry } from "./engine.js";

/** Each target's cache settings once a shared `cacheTo` ref has been split per target. */
export interface TargetCache {
  /** Where this target exports its cache. */
  cacheTo: CacheEntry[];
  /** Where it looks for cache: the run's sources, then every target's export ref. */
  cacheFrom: CacheEntry[];
}

/**
 * Splits the run's cache exports per target. Registry cache is last-writer-wins per ref
 * (docker/buildx#1142), so when several targets export to one `registry` ref each gets its own:
 * the tag gets `-TARGET` appended (`reg/cache:main` → `reg/cache:main-app`; no tag is `latest`,
 * so `reg/cache` → `reg/cache:latest-app`). Every target then reads all of the refs, so a stage one
 * target exported serves the others; a registry `cacheFrom` ref is read as given and as each
 * target's ref (`REF-TARGET`, what a shared `cacheTo` ref wrote). With one target, refs stay as
 * given; other types are shared.
 *
 * @example
 * assignCacheRefs([{ type: "registry", attrs: { ref: "r/c:main", mode: "max" } }], [], ["test", "app"]).app;
 * // cacheTo: r/c:main-app; cacheFrom: r/c:main-test, r/c:main-app
 */
export function assignCacheRefs(
  cacheTo: readonly CacheEntry[],
  cacheFrom: readonly CacheEntry[],
  targets: readonly string[],
): Record<string, TargetCache> {
  const split = targets.length > 1;
  const exportsOf = (target: string): CacheEntry[] =>
    cacheTo.map((entry) => {
      const ref = entry.attrs.ref;
      if (!split || entry.type !== "registry" || ref === undefined) return entry;
      return { type: entry.type, attrs: { ...entry.attrs, ref: refForTarget(ref, target) } };
    });
  const byTarget = Object.fromEntries(targets.map((target) => [target, exportsOf(target)]));
  const exportedRefs = targets.flatMap((target) =>
    (byTarget[target] ?? [])
      .filter((entry) => entry.type === "registry" && entry.attrs.ref !== undefined)
      .map((entry) => ({ type: "registry", attrs: { ref: entry.attrs.ref ?? "" } })),
  );
  // A shared `--cache-from REF` is read as the per-target refs a shared `--cache-to REF` wrote,
  // so a multi-target rebuild that names the same ref for both finds every target's cache.
  const perTargetReads = split
    ? cacheFrom.flatMap((entry) => {
        const ref = entry.attrs.ref;
        // A ref by digest names one manifest: there is no per-target tag beside it.
        if (entry.type !== "registry" || ref === undefined || ref.includes("@")) return [];
        return targets.map((target) => ({
          type: "registry",
          attrs: { ...entry.attrs, ref: refForTarget(ref, target) },
        }));
      })
    : [];
  const reads: CacheEntry[] = [];
  for (const entry of [...cacheFrom, ...perTargetReads, ...exportedRefs]) {
    if (entry.type !== "registry") {
      reads.push(entry);
      continue;
    }
    if (!reads.some((known) => known.type === "registry" && known.attrs.ref === entry.attrs.ref)) {
      reads.push(entry);
    }
  }
  return Object.fromEntries(
    targets.map((target) => [
      target,
      { cacheTo: byTarget[target] ?? [], cacheFrom: reads.map((entry) => ({ ...entry })) },
    ]),
  );
}

/** `reg:5000/cache:main` → `reg:5000/cache:main-app`; a ref without a tag counts as `latest`. */
export function refForTarget(ref: string, target: string): string {
  const at = ref.indexOf("@");
  const name = at === -1 ? ref : ref.slice(0, at);
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const hasTag = colon > slash;
  const repository = hasTag ? name.slice(0, colon) : name;
  const tag = hasTag ? name.slice(colon + 1) : "latest";
  // A tag is at most 128 characters ([\w][\w.-]{0,127}).
  return `${repository}:${`${tag}-${target}`.slice(0, 128)}`;
}

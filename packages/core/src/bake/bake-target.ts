/** The kind of value a bake target attribute holds. */
type FieldKind = "string" | "list" | "map" | "bool";

/**
 * A target's attributes in the order `docker buildx bake --print` writes them (buildx `bake.Target`),
 * with how `inherits` and later files merge each list (`append`) or replace it.
 */
export const BAKE_TARGET_FIELDS = [
  { key: "description", kind: "string" },
  { key: "annotations", kind: "list", merge: "append" },
  { key: "attest", kind: "list", merge: "append" },
  { key: "context", kind: "string" },
  { key: "contexts", kind: "map" },
  { key: "dockerfile", kind: "string" },
  { key: "dockerfile-inline", kind: "string" },
  { key: "args", kind: "map" },
  { key: "labels", kind: "map" },
  { key: "tags", kind: "list", merge: "replace" },
  { key: "cache-from", kind: "list", merge: "append" },
  { key: "cache-to", kind: "list", merge: "replace" },
  { key: "target", kind: "string" },
  { key: "secret", kind: "list", merge: "append" },
  { key: "ssh", kind: "list", merge: "append" },
  { key: "platforms", kind: "list", merge: "replace" },
  { key: "output", kind: "list", merge: "replace" },
  { key: "pull", kind: "bool" },
  { key: "no-cache", kind: "bool" },
  { key: "network", kind: "string" },
  { key: "no-cache-filter", kind: "list", merge: "append" },
  { key: "shm-size", kind: "string" },
  { key: "ulimits", kind: "list", merge: "append" },
] as const satisfies readonly { key: string; kind: FieldKind; merge?: "append" | "replace" }[];

/** One attribute name of a bake target. */
export type BakeTargetKey = (typeof BAKE_TARGET_FIELDS)[number]["key"];

/** A target of a bake file, with bake's own attribute names; absent attributes are unset. */
export interface BakeTarget {
  description?: string;
  annotations?: string[];
  attest?: string[];
  context?: string;
  contexts?: Record<string, string>;
  dockerfile?: string;
  "dockerfile-inline"?: string;
  args?: Record<string, string>;
  labels?: Record<string, string>;
  tags?: string[];
  "cache-from"?: string[];
  "cache-to"?: string[];
  target?: string;
  secret?: string[];
  ssh?: string[];
  platforms?: string[];
  output?: string[];
  pull?: boolean;
  "no-cache"?: boolean;
  network?: string;
  "no-cache-filter"?: string[];
  "shm-size"?: string;
  ulimits?: string[];
}

/** A group: a name for a list of targets and groups. */
export interface BakeGroup {
  targets: string[];
}

type Mutable = Record<string, string | boolean | string[] | Record<string, string> | undefined>;

/** Merges `from` into `into` as buildx's `Target.Merge` does (later wins, some lists append). */
export function mergeBakeTarget(into: BakeTarget, from: BakeTarget): void {
  const target = into as Mutable;
  const source = from as Mutable;
  for (const field of BAKE_TARGET_FIELDS) {
    const value = source[field.key];
    if (value === undefined) continue;
    if (field.kind === "map") {
      target[field.key] = {
        ...(target[field.key] as Record<string, string> | undefined),
        ...(value as Record<string, string>),
      };
    } else if (field.kind === "list" && field.merge === "append") {
      target[field.key] = [
        ...((target[field.key] as string[] | undefined) ?? []),
        ...(value as string[]),
      ];
    } else if (field.kind === "list") {
      target[field.key] = [...(value as string[])];
    } else {
      target[field.key] = value;
    }
  }
}

/** Drops duplicate list entries and empty contexts, as buildx's `normalize` does. */
export function normalizeBakeTarget(target: BakeTarget): void {
  const mutable = target as Mutable;
  for (const field of BAKE_TARGET_FIELDS) {
    const value = mutable[field.key];
    if (field.kind === "list" && Array.isArray(value)) mutable[field.key] = [...new Set(value)];
  }
  if (target.contexts !== undefined) {
    target.contexts = Object.fromEntries(
      Object.entries(target.contexts).filter(([, value]) => value !== ""),
    );
    if (Object.keys(target.contexts).length === 0) delete target.contexts;
  }
}

function sortedMap(map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key] ?? "";
  return out;
}

/** A target as `docker buildx bake --print` writes it: bake's key order, maps sorted, empties left out. */
export function formatBakeTarget(target: BakeTarget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = target as Mutable;
  for (const field of BAKE_TARGET_FIELDS) {
    const value = source[field.key];
    if (value === undefined) continue;
    if (field.kind === "list" && Array.isArray(value) && value.length === 0) continue;
    if (field.kind === "map") {
      const map = value as Record<string, string>;
      if (Object.keys(map).length === 0) continue;
      out[field.key] = sortedMap(map);
      continue;
    }
    out[field.key] = value;
  }
  return out;
}

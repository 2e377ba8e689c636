import { UsageError } from "@stagecraft/core";
import { validateImageReference } from "@stagecraft/core/dockerfile";
import type { CacheEntry } from "@stagecraft/core/engine";

/** Which of the two cache flags a value came from. */
export type CacheFlag = "--cache-from" | "--cache-to";

/** Options docker's registry and local cache backends take besides their location (BuildKit README). */
const LAYOUT_KEYS = [
  "mode",
  "image-manifest",
  "oci-mediatypes",
  "compression",
  "compression-level",
  "force-compression",
  "ignore-error",
];

/** The keys each known type takes, per flag; types not listed here pass through unchecked. */
const KEYS: Readonly<Record<string, Readonly<Record<CacheFlag, readonly string[]>>>> = {
  registry: { "--cache-from": ["ref"], "--cache-to": ["ref", ...LAYOUT_KEYS] },
  local: {
    "--cache-from": ["src", "tag", "digest"],
    "--cache-to": ["dest", "tag", ...LAYOUT_KEYS],
  },
  inline: { "--cache-from": [], "--cache-to": ["mode"] },
};

/** Cache types BuildKit knows but stagecraft only passes on (the engine decides whether it has them). */
const PASSED_TYPES = ["gha", "s3", "azblob"];

/**
 * Reads one `--cache-from`/`--cache-to` value in docker's syntax: `type=registry,ref=REF,mode=max`,
 * `type=local,src=DIR` / `dest=DIR`, `type=inline`, or a bare `REF` (registry). Every mistake is a
 * UsageError naming the flag: an unknown type or key, an invalid ref (upper case), `mode` other than
 * `min`/`max`, `mode=max` with `inline`, a missing `ref`/`src`/`dest`.
 */
export function parseCacheFlag(flag: CacheFlag, value: string): CacheEntry {
  const text = value.trim();
  if (text === "") throw new UsageError(`${flag} needs a value`, { hint: hintFor(flag) });
  if (!text.includes("=")) return checked(flag, text, { type: "registry", attrs: { ref: text } });
  const attrs: Record<string, string> = {};
  for (const field of text.split(",")) {
    const equals = field.indexOf("=");
    if (equals <= 0) {
      throw new UsageError(`${flag} "${value}": "${field}" is not KEY=VALUE`, {
        hint: hintFor(flag),
      });
    }
    const key = field.slice(0, equals).trim().toLowerCase();
    if (key in attrs) {
      throw new UsageError(`${flag} "${value}": ${key} is given twice`, { hint: hintFor(flag) });
    }
    attrs[key] = field.slice(equals + 1).trim();
  }
  // buildx reads an entry without a type as a registry ref.
  const type = attrs.type ?? "registry";
  delete attrs.type;
  return checked(flag, value, { type, attrs });
}

function checked(flag: CacheFlag, value: string, entry: CacheEntry): CacheEntry {
  const { type, attrs } = entry;
  const keys = KEYS[type];
  if (keys === undefined) {
    if (PASSED_TYPES.includes(type)) return entry;
    throw new UsageError(`${flag} "${value}": unknown cache type "${type}"`, {
      hint: `The types are registry, local, inline, gha, s3 and azblob. ${hintFor(flag)}`,
    });
  }
  if (type === "inline" && flag === "--cache-from") {
    throw new UsageError(`${flag} "${value}": inline is a --cache-to type`, {
      hint: "An inline cache travels in the image: read it with --cache-from REF of that image.",
    });
  }
  for (const key of Object.keys(attrs)) {
    if (!keys[flag].includes(key)) {
      throw new UsageError(
        `${flag} "${value}": type=${type} takes no "${key}"${keys[flag].length === 0 ? "" : ` (it takes ${keys[flag].join(", ")})`}`,
        { hint: hintFor(flag) },
      );
    }
  }
  const mode = attrs.mode;
  if (mode !== undefined && mode !== "min" && mode !== "max") {
    throw new UsageError(`${flag} "${value}": mode must be min or max, not "${mode}"`, {
      hint: "mode=min exports the final stage's layers, mode=max every stage's.",
    });
  }
  if (type === "inline" && mode === "max") {
    throw new UsageError(`${flag} "${value}": inline cache supports mode=min only`, {
      hint: "For every stage's layers use type=registry,ref=REF,mode=max (needs the containerd image store).",
    });
  }
  if (type === "registry") {
    const ref = attrs.ref;
    if (ref === undefined || ref === "") {
      throw new UsageError(`${flag} "${value}": type=registry needs ref=IMAGE`, {
        hint: hintFor(flag),
      });
    }
    const problem = validateImageReference(ref);
    if (problem !== undefined) {
      throw new UsageError(
        `${flag} "${value}": ref "${ref}" is not a valid image name: ${problem}`,
        {
          hint: "Image names are lower-case letters, digits and separators, e.g. 127.0.0.1:5000/cache/app:main.",
        },
      );
    }
  }
  if (type === "local") {
    const key = flag === "--cache-from" ? "src" : "dest";
    if (attrs[key] === undefined || attrs[key] === "") {
      throw new UsageError(`${flag} "${value}": type=local needs ${key}=DIR`, {
        hint: hintFor(flag),
      });
    }
  }
  return entry;
}

function hintFor(flag: CacheFlag): string {
  return flag === "--cache-from"
    ? "Write --cache-from REF, --cache-from type=registry,ref=REF or --cache-from type=local,src=DIR."
    : "Write --cache-to type=inline, --cache-to type=registry,ref=REF,mode=max or --cache-to type=local,dest=DIR.";
}

/**
 * The fields of an image config's `config` a build `FROM` the image inherits (its environment, user,
 * entrypoint and command, working directory, shell, ONBUILD triggers, ports, volumes, stop signal,
 * health check, labels), as one string: equal strings mean a build from either image gets the same.
 * `docker image inspect`'s `Config` spells them as the config blob does, with empty values where
 * the blob leaves a field out, so empty values are dropped before comparing.
 */
export function runConfigKey(config: unknown): string {
  const source = (typeof config === "object" && config !== null ? config : {}) as Record<
    string,
    unknown
  >;
  const kept: Record<string, unknown> = {};
  for (const field of RUN_CONFIG_FIELDS) {
    const value = canonical(source[field]);
    if (value !== undefined) kept[field] = value;
  }
  return JSON.stringify(kept);
}

const RUN_CONFIG_FIELDS = [
  "User",
  "Env",
  "Entrypoint",
  "Cmd",
  "WorkingDir",
  "Shell",
  "OnBuild",
  "ExposedPorts",
  "Volumes",
  "StopSignal",
  "Healthcheck",
  "Labels",
] as const;

/** The value with object keys sorted; undefined for null, "", [] and {} (a field left out). */
function canonical(value: unknown): unknown {
  if (value === null || value === undefined || value === "") return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(canonical);
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, inner]) => [key, canonical(inner) ?? null] as const);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

import { join } from "node:path";
import type { Io } from "../io.js";

/**
 * Where measured stage sizes are remembered: `$STAGECRAFT_CACHE_DIR/stage-sizes.json`, by default
 * under `$XDG_CACHE_HOME` or `~/.cache`; `STAGECRAFT_CACHE_DIR=` (empty) remembers nothing.
 */
export function stageSizeFileOf(env: Io["env"]): string | undefined {
  const dir =
    env.STAGECRAFT_CACHE_DIR ??
    (env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== ""
      ? join(env.XDG_CACHE_HOME, "stagecraft")
      : env.HOME !== undefined && env.HOME !== ""
        ? join(env.HOME, ".cache", "stagecraft")
        : "");
  return dir === "" ? undefined : join(dir, "stage-sizes.json");
}

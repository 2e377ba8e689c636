import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "@stagecraft/core";
import { parseSize } from "./build-options.js";

/** What `CONTEXT/.stagecraft/config.json` holds (every key optional). */
export interface ProjectConfig {
  /** Size budgets in bytes per target id (`"targets": { "app": { "max-size": "50MB" } }`). */
  maxSizes: Record<string, number>;
  /** The file read, or undefined when there is none. */
  path: string | undefined;
}

/**
 * Reads `CONTEXT/.stagecraft/config.json` (the directory `.stagecraft/engines.json` and the reports
 * live in): `{"targets": {"TARGET": {"max-size": "SIZE"}}}`. No file is an empty config.
 * @throws UsageError naming the file for JSON that does not parse or a size that is not one.
 */
export function readProjectConfig(cwd: string, contextDir: string): ProjectConfig {
  const path = resolve(cwd, contextDir, ".stagecraft", "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { maxSizes: {}, path: undefined };
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const targets = isObject(parsed) ? parsed.targets : undefined;
  if (targets !== undefined && !isObject(targets)) {
    throw new UsageError(`${path}: "targets" must be an object of target names`, {
      hint: 'Write {"targets": {"app": {"max-size": "50MB"}}}.',
    });
  }
  const maxSizes: Record<string, number> = {};
  for (const [target, settings] of Object.entries(targets ?? {})) {
    const value = isObject(settings) ? settings["max-size"] : undefined;
    if (value === undefined) continue;
    const bytes = typeof value === "string" ? parseSize(value) : undefined;
    if (bytes === undefined) {
      throw new UsageError(
        `${path}: targets.${target}.max-size ${JSON.stringify(value)} is not a size`,
        { hint: 'Write a size like "50MB" or "1.2GiB" (kB/MB/GB are 1000s, KiB/MiB/GiB 1024s).' },
      );
    }
    maxSizes[target.toLowerCase()] = bytes;
  }
  return { maxSizes, path };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BakeError } from "../errors.js";
import type { BakeFile } from "./read-bake-files.js";

/** The files `docker buildx bake` reads when none is named, in its order (buildx `defaultFilenames`). */
export const DEFAULT_BAKE_FILES: readonly string[] = [
  "compose.yaml",
  "compose.yml",
  "docker-compose.yml",
  "docker-compose.yaml",
  "docker-bake.json",
  "docker-bake.override.json",
  "docker-bake.hcl",
  "docker-bake.override.hcl",
];

/**
 * Reads the named bake files (`-f`, `-` for stdin text given as `stdin`), or every default file
 * that exists in `cwd` when none is named. A named file that is missing is an error.
 */
export function loadBakeFiles(
  cwd: string,
  names: readonly string[],
  stdin?: () => string,
): BakeFile[] {
  if (names.length === 0) {
    const found = DEFAULT_BAKE_FILES.filter((name) => existsSync(resolve(cwd, name))).map(
      (name) => ({
        name,
        text: readFileSync(resolve(cwd, name), "utf8"),
      }),
    );
    if (found.length === 0) {
      throw new BakeError("BAKE_NO_FILE", "couldn't find a bake definition", {
        hint: `Name one with -f, or add one of ${DEFAULT_BAKE_FILES.join(", ")}.`,
      });
    }
    return found;
  }
  return names.map((name) => {
    if (name === "-") {
      if (stdin === undefined)
        throw new BakeError("BAKE_NO_FILE", "no standard input to read the bake file from");
      return { name, text: stdin() };
    }
    const path = resolve(cwd, name);
    if (!existsSync(path)) {
      throw new BakeError("BAKE_NO_FILE", `failed to read ${name}: no such file`, {
        hint: "Check the path given with -f.",
      });
    }
    return { name, text: readFileSync(path, "utf8") };
  });
}

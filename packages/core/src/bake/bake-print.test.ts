import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadBakeFiles } from "./load-bake-files.js";
import { formatBakePrint, resolveBake } from "./resolve-bake.js";

// Each folder of __fixtures__/print is one bake project, its case.json (targets, --set, env) and the
// expected.json that `docker buildx bake --print` 0.13.1 printed for it (test/bake-print.test.ts
// checks that against the installed buildx). Where buildx 0.13 lacks a feature, case.json says so
// and expected.json follows bake's documentation.
const root = new URL("./__fixtures__/print/", import.meta.url);

interface Case {
  targets: string[];
  set?: string[];
  env?: Record<string, string>;
  defaultFiles?: boolean;
  unorderedGroups?: boolean;
}

/** Groups whose order buildx takes from a Go map (a matrix, compose services) compare as sets. */
export function comparable(printed: string, unordered: boolean): unknown {
  const parsed = JSON.parse(printed) as { group?: Record<string, { targets: string[] }> };
  if (unordered) for (const group of Object.values(parsed.group ?? {})) group.targets.sort();
  return parsed;
}

describe("bake --print conformance", () => {
  for (const name of readdirSync(root).sort()) {
    it(name, () => {
      const dir = new URL(`${name}/`, root);
      const spec = JSON.parse(readFileSync(new URL("case.json", dir), "utf8")) as Case;
      const names = spec.defaultFiles
        ? []
        : readdirSync(dir)
            .filter((file) => file !== "case.json" && file !== "expected.json")
            .sort();
      const files = loadBakeFiles(dir.pathname, names);
      const config = resolveBake(files, {
        targets: spec.targets,
        overrides: spec.set ?? [],
        env: spec.env ?? {},
        vars: { BAKE_CMD_CONTEXT: "cwd://", BAKE_LOCAL_PLATFORM: "linux/amd64" },
      });
      const expected = readFileSync(new URL("expected.json", dir), "utf8");
      const unordered = spec.unorderedGroups === true;
      expect(comparable(formatBakePrint(config), unordered)).toEqual(
        comparable(expected, unordered),
      );
    });
  }
});

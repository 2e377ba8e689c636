import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";

// The conformance suite of packages/core/src/bake/__fixtures__/print, run through the installed
// `docker buildx bake --print` (which reads files only, and contacts no builder or registry) and
// through the built stagecraft CLI: both must print the case's expected.json.
const root = fileURLToPath(
  new URL("../packages/core/src/bake/__fixtures__/print/", import.meta.url),
);
const run = promisify(execFile);

interface Case {
  targets: string[];
  set?: string[];
  env?: Record<string, string>;
  defaultFiles?: boolean;
  unorderedGroups?: boolean;
  buildx?: boolean;
}

function comparable(printed: string, unordered: boolean): unknown {
  const parsed = JSON.parse(printed) as { group?: Record<string, { targets: string[] }> };
  if (unordered) for (const group of Object.values(parsed.group ?? {})) group.targets.sort();
  return parsed;
}

function argsOf(dir: string, spec: Case): string[] {
  const files = spec.defaultFiles
    ? []
    : readdirSync(dir)
        .filter((file) => file !== "case.json" && file !== "expected.json")
        .sort();
  return [
    ...files.flatMap((file) => ["-f", file]),
    ...(spec.set ?? []).flatMap((set) => ["--set", set]),
    "--print",
    ...spec.targets,
  ];
}

describe("bake --print: stagecraft and docker buildx bake print the same configuration", () => {
  for (const name of readdirSync(root).sort()) {
    const dir = `${root}${name}`;
    const spec = JSON.parse(readFileSync(`${dir}/case.json`, "utf8")) as Case;
    const expected = readFileSync(`${dir}/expected.json`, "utf8");
    const unordered = spec.unorderedGroups === true;
    const env = { ...process.env, ...spec.env };

    it(`${name}: stagecraft bake --print`, async () => {
      const result = await runStagecraft(["bake", ...argsOf(dir, spec)], { cwd: dir, env });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(comparable(result.stdout, unordered)).toEqual(comparable(expected, unordered));
    });

    if (spec.buildx !== false) {
      it(`${name}: docker buildx bake --print (the reference)`, async () => {
        const { stdout } = await run("docker", ["buildx", "bake", ...argsOf(dir, spec)], {
          cwd: dir,
          env,
        });
        expect(comparable(stdout, unordered)).toEqual(comparable(expected, unordered));
      });
    }
  }
});

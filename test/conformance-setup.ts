// Where the conformance suites find their data: BuildKit's parser vectors (conformance/) and the
// real-world Dockerfile corpus (corpus/dockerfiles/). They are other projects' files under their own
// licences, so they live outside the repository: in STAGECRAFT_SHARED_DIR, or by default in the
// directory `shared` beside the repository's root. Missing data fails the run before any test starts;
// a conformance suite is never skipped.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The absolute path of the directory that holds conformance/ and corpus/. */
    sharedDir: string;
  }
}

/** What the conformance suites read, relative to the shared directory. */
export const REQUIRED_PATHS = [
  "conformance/parser",
  "conformance/parser-negative/expected-errors.json",
  "conformance/parser-lines/testfile-line/expected.json",
  "conformance/shell/envVarTest",
  "conformance/shell/wordsTest",
  "conformance/edge",
  "corpus/dockerfiles/expected.json",
] as const;

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The shared directory: STAGECRAFT_SHARED_DIR when set, else `shared` beside the repository. */
export function locateSharedDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.STAGECRAFT_SHARED_DIR;
  return fromEnv !== undefined && fromEnv !== ""
    ? resolve(fromEnv)
    : resolve(repoRoot, "..", "shared");
}

/** Throws, naming every missing path and how to point the suites at the data, unless all is there. */
export function checkSharedDir(dir: string, fromEnv: boolean): void {
  const missing = REQUIRED_PATHS.filter((path) => !existsSync(join(dir, path)));
  if (missing.length === 0) return;
  const where = fromEnv
    ? `STAGECRAFT_SHARED_DIR=${dir}`
    : `${dir} (the default: \`shared\` beside the repository)`;
  throw new Error(
    `The conformance data is not there: ${where} lacks ${missing.join(", ")}.\n` +
      "The conformance suites read BuildKit's parser vectors and the real-world Dockerfile corpus, " +
      "which are kept outside the repository. Set STAGECRAFT_SHARED_DIR to the directory that holds " +
      "conformance/ and corpus/dockerfiles/ (or put it beside the repository as ../shared), then run " +
      "`npm run conformance` again. The unit tests (`npm run check`) do not need it.",
  );
}

export function setup(project: TestProject): void {
  const dir = locateSharedDir();
  const fromEnv = (process.env.STAGECRAFT_SHARED_DIR ?? "") !== "";
  checkSharedDir(dir, fromEnv);
  project.provide("sharedDir", dir);
}

import {
  checkEngineReadiness,
  listEngineImages,
  type EngineCheck,
} from "../plan/check-engine-readiness.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { Engine, NetworkMode } from "./engine.js";

/** What the build will ask of the engine besides the Dockerfile. */
export interface EngineReadinessOptions {
  /** False when nothing may be pulled (`--no-pull`): a missing image is then an error. Default true. */
  canPull?: boolean | undefined;
  /** The build's `--network`. */
  network?: NetworkMode | undefined;
  /**
   * The names given as named contexts (`--build-context NAME=…`): BuildKit reads `FROM NAME` and
   * `--from=NAME` from them, so they are not images the engine needs.
   */
  namedContexts?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Asks the engine which of the images the planned targets need it has (`docker image inspect`, never
 * a pull) and returns what it will refuse or fetch, before anything is sent.
 *
 * @example
 * const checks = await readEngineReadiness(new DockerEngine(), analyzeDockerfile(text), { canPull: false });
 * if (checks.some((check) => check.severity === "error")) process.exitCode = 2;
 * @throws EngineError when the engine cannot be reached or answers with an error.
 */
export async function readEngineReadiness(
  engine: Pick<Engine, "inspectImage">,
  analysis: DockerfileAnalysis,
  options: EngineReadinessOptions = {},
): Promise<EngineCheck[]> {
  const named = new Set(options.namedContexts ?? []);
  const queries = listEngineImages(analysis).filter((query) => !named.has(query.reference));
  const found = await Promise.all(
    queries.map((query) => engine.inspectImage(query.lookup, options.signal)),
  );
  const present = new Map([
    ...queries.map((query, index): [string, boolean] => [
      query.reference,
      found[index] !== undefined,
    ]),
    ...[...named].map((name): [string, boolean] => [name, true]),
  ]);
  return checkEngineReadiness(analysis, {
    present,
    canPull: options.canPull ?? true,
    network: options.network,
  });
}

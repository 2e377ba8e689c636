import { EngineError } from "../errors.js";
import {
  checkEngineReadiness,
  listEngineImages,
  type EngineCheck,
  type EngineImageQuery,
  type PullProbe,
} from "../plan/check-engine-readiness.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { deadlineSignal } from "./deadline-signal.js";
import type { Engine, NetworkMode } from "./engine.js";
import { registryOfReference } from "./registry-auth.js";

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
  /**
   * How long the registries of the missing images get to answer the engine, all at once; one that
   * has not answered by then is a warning, not an error. Default 3000 ms.
   */
  registryTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Asks the engine which of the images the planned targets need it has (`docker image inspect`, never
 * a pull) and, for those it lacks, whether their registries would give them to it
 * (`GET /distribution/{name}/json`), then returns what it will refuse or fetch, before anything is sent.
 *
 * @example
 * const checks = await readEngineReadiness(new DockerEngine(), analyzeDockerfile(text), { canPull: false });
 * if (checks.some((check) => check.severity === "error")) process.exitCode = 2;
 * @throws EngineError when the engine cannot be reached or answers with an error.
 */
export async function readEngineReadiness(
  engine: Pick<Engine, "inspectImage" | "inspectDistribution">,
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
  const canPull = options.canPull ?? true;
  const missing = queries.filter((_, index) => found[index] === undefined);
  const pull = canPull ? await probeRegistries(engine, missing, options) : undefined;
  return checkEngineReadiness(analysis, {
    present,
    canPull,
    network: options.network,
    pull,
  });
}

/**
 * Asks the engine, for each image it lacks, at once and within one budget, what the image's registry
 * says (`GET /distribution/{name}/json`), keyed by reference: the `pull` facts of
 * `checkEngineReadiness`. Undefined when the engine cannot be asked or nothing is missing; an image
 * whose question the engine refused is left out (its finding stays the plain warning).
 *
 * @example
 * const pull = await probeRegistries(engine, [{ reference: "debian:12", lookup: "debian:12" }]);
 * checkEngineReadiness(analysis, { present, canPull: true, pull });
 */
export async function probeRegistries(
  engine: Pick<Engine, "inspectDistribution">,
  missing: readonly EngineImageQuery[],
  options: Pick<EngineReadinessOptions, "registryTimeoutMs" | "signal"> = {},
): Promise<Map<string, PullProbe> | undefined> {
  // Without a registry reachable, a build fails only once the engine tries to pull (measured on this
  // project's machine: Engine 26.1.5 with no route to Docker Hub answers HTTP 500 'Get
  // "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io …: no such host' in
  // 3–20 ms), so asking first costs one round trip and turns a failed build into an error said up front.
  const inspect = engine.inspectDistribution?.bind(engine);
  if (inspect === undefined || missing.length === 0) return undefined;
  const budgetMs = options.registryTimeoutMs ?? 3000;
  const deadline = deadlineSignal(budgetMs, options.signal);
  const probes = await Promise.all(
    missing.map(async (query): Promise<[string, PullProbe] | undefined> => {
      const registry = registryOfReference(query.lookup);
      try {
        const answer = await inspect(query.lookup, deadline);
        const message = answer.kind === "found" ? answer.digest : answer.message;
        return [query.reference, { registry, answer: answer.kind, message }];
      } catch (error) {
        if (options.signal?.aborted === true) throw error;
        if (deadline.aborted) {
          return [query.reference, { registry, answer: "timeout", message: `${budgetMs} ms` }];
        }
        // The engine answered `inspectImage` but not this: the old warning stands.
        if (error instanceof EngineError) return undefined;
        throw error;
      }
    }),
  );
  return new Map(probes.filter((probe) => probe !== undefined));
}

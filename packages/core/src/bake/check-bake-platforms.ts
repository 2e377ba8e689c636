import type { Engine } from "../engine/engine.js";
import {
  explainForeignPlatforms,
  type ForeignPlatformEngine,
} from "../engine/explain-foreign-platforms.js";
import { BakeError } from "../errors.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { BakeRun } from "./plan-bake-runs.js";

/** What `checkBakePlatforms` asks of the engine: its store, its platform, BuildKit's workers. */
export type PlatformEngine = Pick<Engine, "capabilities"> & ForeignPlatformEngine;

/** Options of `checkBakePlatforms`. */
export interface CheckBakePlatformsOptions {
  signal?: AbortSignal | undefined;
  /**
   * Each run's analysis (same order as the runs): a warning about a platform the engine cannot
   * run then names the `RUN` steps built for it, or says that none is and the target builds.
   */
  analyses?: readonly (DockerfileAnalysis | undefined)[] | undefined;
}

function targetsOf(run: BakeRun): string {
  const names = Object.values(run.targetsByStage).flat();
  return names.length === 1 ? `target "${names[0] ?? ""}"` : `targets ${names.join(", ")}`;
}

/**
 * Checks the bake runs' `platforms` against the engine before anything is built: several platforms
 * in one target build into one image index on the containerd image store and are refused on a
 * graph-driver store (buildx's reason, and what to change); for each platform that is not the
 * engine's own, returns a warning that says what the engine will do, from the platforms its
 * BuildKit workers can run (natively or through installed emulation) and, given the runs'
 * analyses, the `RUN` steps that would run programs of that platform. Asks the engine nothing
 * when no run names a platform.
 *
 * @example
 * for (const warning of await checkBakePlatforms(planBakeRuns(config), engine)) console.warn(warning);
 * @throws BakeError (BAKE_UNSUPPORTED) naming the target's `platforms` key.
 */
export async function checkBakePlatforms(
  runs: readonly BakeRun[],
  engine: PlatformEngine,
  options: CheckBakePlatformsOptions = {},
): Promise<string[]> {
  const { signal } = options;
  if (runs.every((run) => run.platforms.length === 0)) return [];
  const several = runs.find((run) => run.platforms.length > 1);
  if (several !== undefined) {
    const store = await engine.capabilities?.(signal);
    if (store?.imageStore.kind !== "containerd") {
      const first = Object.values(several.targetsByStage).flat()[0] ?? several.name;
      throw new BakeError(
        "BAKE_UNSUPPORTED",
        `Multi-platform build is not supported for the docker driver. Switch to a different driver, or turn on the containerd image store, and try again. (${several.platforms.join(", ")}; this engine keeps images in ${store === undefined ? "a store it does not name" : `the ${store.imageStore.driver} graph driver`}, which holds one platform per image: on the containerd image store stagecraft builds them into one image index)`,
        {
          key: `target "${first}".platforms`,
          hint: `Build one platform per target (--set ${first}.platforms=${several.platforms[0] ?? ""}, or a matrix over the platform), or turn on the containerd image store (features.containerd-snapshotter in daemon.json).`,
        },
      );
    }
  }
  return await explainForeignPlatforms(
    runs.map((run, index) => ({
      label: targetsOf(run),
      platforms: run.platforms,
      analysis: options.analyses?.[index],
    })),
    engine,
    signal,
  );
}

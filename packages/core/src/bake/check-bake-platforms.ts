import type { WorkerRecord } from "../engine/buildkit/control-protos.js";
import type { Engine } from "../engine/engine.js";
import { BakeError } from "../errors.js";
import type { BakeRun } from "./plan-bake-runs.js";

/** What `checkBakePlatforms` asks of the engine: its store, its platform, BuildKit's workers. */
export type PlatformEngine = Pick<Engine, "info" | "capabilities"> & {
  listWorkers?: ((signal?: AbortSignal) => Promise<WorkerRecord[]>) | undefined;
};

/** `linux/arm64/v8` is `linux/arm64`, as containerd's platform matcher normalizes it. */
function normalize(platform: string): string {
  const lower = platform.toLowerCase();
  return lower === "linux/arm64/v8" ? "linux/arm64" : lower;
}

function targetsOf(run: BakeRun): string {
  const names = Object.values(run.targetsByStage).flat();
  return names.length === 1 ? `target "${names[0] ?? ""}"` : `targets ${names.join(", ")}`;
}

/**
 * Checks the bake runs' `platforms` against the engine before anything is built: several platforms
 * in one target are refused (on a graph-driver image store with buildx's own reason, which cannot
 * hold a multi-platform image; on the containerd store because stagecraft does not build them
 * yet), each with what to change; for one platform that is not the engine's own, returns a warning
 * that says what the engine will do, from the platforms its BuildKit workers can run (natively or
 * through installed emulation). Asks the engine nothing when no run names a platform.
 *
 * @example
 * for (const warning of await checkBakePlatforms(planBakeRuns(config), engine)) console.warn(warning);
 * @throws BakeError (BAKE_UNSUPPORTED) naming the target's `platforms` key.
 */
export async function checkBakePlatforms(
  runs: readonly BakeRun[],
  engine: PlatformEngine,
  signal?: AbortSignal,
): Promise<string[]> {
  if (runs.every((run) => run.platforms.length === 0)) return [];
  const several = runs.find((run) => run.platforms.length > 1);
  if (several !== undefined) {
    const store = await engine.capabilities?.(signal);
    const first = Object.values(several.targetsByStage).flat()[0] ?? several.name;
    const key = `target "${first}".platforms`;
    const asked = several.platforms.join(", ");
    if (store?.imageStore.kind !== "containerd") {
      throw new BakeError(
        "BAKE_UNSUPPORTED",
        `Multi-platform build is not supported for the docker driver. Switch to a different driver, or turn on the containerd image store, and try again. (${asked}; this engine keeps images in ${store === undefined ? "a store it does not name" : `the ${store.imageStore.driver} graph driver`})`,
        {
          key,
          hint: `Build one platform per target (--set ${first}.platforms=${several.platforms[0] ?? ""}, or a matrix over the platform), or turn on the containerd image store (features.containerd-snapshotter in daemon.json).`,
        },
      );
    }
    throw new BakeError(
      "BAKE_UNSUPPORTED",
      `a target for several platforms (${asked}) is not built by stagecraft yet, although this engine's containerd image store could hold it`,
      {
        key,
        hint: "Build one platform per target (a matrix over the platform), or use `docker buildx bake` for this target.",
      },
    );
  }
  const info = await engine.info(signal);
  const own = normalize(info.platform);
  const foreign = runs.filter(
    (run) => run.platforms[0] !== undefined && normalize(run.platforms[0]) !== own,
  );
  if (foreign.length === 0) return [];
  const workers = await engine.listWorkers?.(signal).catch(() => undefined);
  const runnable =
    workers === undefined ? undefined : [...new Set(workers.flatMap((w) => w.platforms))];
  return foreign.map((run) => {
    const platform = run.platforms[0] ?? "";
    const start = `${targetsOf(run)}: platform ${platform} is not the engine's own (${info.platform})`;
    if (runnable === undefined) {
      return `${start}; whether it can run ${platform} programs is unknown (its BuildKit workers could not be listed): without emulation RUN steps fail with "exec format error"`;
    }
    if (runnable.map(normalize).includes(normalize(platform))) {
      return `${start}; its BuildKit runs ${platform} programs (natively or emulated), so every step runs as asked, base images pulled for ${platform}`;
    }
    return `${start} and its BuildKit cannot run ${platform} programs (it runs ${runnable.join(", ")}; no emulation is installed): base images are pulled for ${platform}, steps that only copy files build, and RUN steps fail with "exec format error". Install QEMU emulation (binfmt) on the engine's machine, or build on an engine of that platform.`;
  });
}

import type { WorkerRecord } from "../engine/buildkit/control-protos.js";
import type { Engine } from "../engine/engine.js";
import { BakeError } from "../errors.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { formatPlatform } from "../stages/parse-platform.js";
import type { BakeRun } from "./plan-bake-runs.js";

/** What `checkBakePlatforms` asks of the engine: its store, its platform, BuildKit's workers. */
export type PlatformEngine = Pick<Engine, "info" | "capabilities"> & {
  listWorkers?: ((signal?: AbortSignal) => Promise<WorkerRecord[]>) | undefined;
};

/** Options of `checkBakePlatforms`. */
export interface CheckBakePlatformsOptions {
  signal?: AbortSignal | undefined;
  /**
   * Each run's analysis (same order as the runs): a warning about a platform the engine cannot
   * run then names the `RUN` steps built for it, or says that none is and the target builds.
   */
  analyses?: readonly (DockerfileAnalysis | undefined)[] | undefined;
}

/** `linux/arm64/v8` is `linux/arm64`, as containerd's platform matcher normalizes it. */
function normalize(platform: string): string {
  const lower = platform.toLowerCase();
  return lower === "linux/arm64/v8" ? "linux/arm64" : lower;
}

function targetsOf(run: BakeRun): string {
  const names = Object.values(run.targetsByStage).flat();
  return names.length === 1 ? `target "${names[0] ?? ""}"` : `targets ${names.join(", ")}`;
}

/** A `FROM --platform=` that names the target platform follows each platform of the build. */
const TARGET_PLATFORM_ARG = /\$\{?TARGET(PLATFORM|OS|ARCH|VARIANT)\b/;

/**
 * The `RUN` steps (their inherited `ONBUILD` ones included) of the stages the analysis builds that
 * run for `platform`: stages without `FROM --platform`, or whose `--platform` names the target
 * platform or resolves to `platform`.
 */
function runStepsFor(analysis: DockerfileAnalysis, platform: string): string[] {
  const { graph, plan } = analysis;
  const file = analysis.input.options.file ?? "Dockerfile";
  const steps: string[] = [];
  for (const index of plan.stages) {
    const stage = graph.stages[index];
    if (stage === undefined) continue;
    const own =
      stage.platform === undefined ||
      TARGET_PLATFORM_ARG.test(stage.platform) ||
      (stage.resolvedPlatform !== undefined &&
        normalize(formatPlatform(stage.resolvedPlatform)) === normalize(platform));
    if (!own) continue;
    for (const instruction of [...stage.inheritedTriggers, ...stage.instructions]) {
      if (instruction.kind === "run") {
        steps.push(`${file}:${instruction.position.line} (stage ${stage.id})`);
      }
    }
  }
  return steps;
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
  const info = await engine.info(signal);
  const own = normalize(info.platform);
  const foreign = runs.flatMap((run, index) =>
    run.platforms
      .filter((platform) => normalize(platform) !== own)
      .map((platform) => ({ run, platform, analysis: options.analyses?.[index] })),
  );
  if (foreign.length === 0) return [];
  const workers = await engine.listWorkers?.(signal).catch(() => undefined);
  const runnable =
    workers === undefined ? undefined : [...new Set(workers.flatMap((w) => w.platforms))];
  return foreign.map(({ run, platform, analysis }) => {
    const start = `${targetsOf(run)}: platform ${platform} is not the engine's own (${info.platform})`;
    if (runnable === undefined) {
      return `${start}; whether it can run ${platform} programs is unknown (its BuildKit workers could not be listed): without emulation RUN steps fail with "exec format error"`;
    }
    if (runnable.map(normalize).includes(normalize(platform))) {
      return `${start}; its BuildKit runs ${platform} programs (natively or emulated), so every step runs as asked, base images pulled for ${platform}`;
    }
    const cannot = `${start} and its BuildKit cannot run ${platform} programs (it runs ${runnable.join(", ")}; no emulation is installed)`;
    const fix = `Install QEMU emulation (binfmt) on the engine's machine, or build on an engine of that platform.`;
    if (analysis === undefined) {
      return `${cannot}: base images are pulled for ${platform}, steps that only copy files build, and RUN steps fail with "exec format error". ${fix}`;
    }
    const steps = runStepsFor(analysis, platform);
    if (steps.length === 0) {
      return `${cannot}: no RUN step is built for ${platform} (only files are copied and settings made), so it builds; base images are pulled for ${platform}`;
    }
    return `${cannot}: the RUN steps built for ${platform} at ${steps.join(", ")} fail with "exec format error" (unless a base image has no ${platform} variant and BuildKit runs the one it has). ${fix}`;
  });
}

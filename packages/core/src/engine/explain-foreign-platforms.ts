import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { formatPlatform } from "../stages/parse-platform.js";
import type { WorkerRecord } from "./buildkit/control-protos.js";
import type { Engine } from "./engine.js";

/** What `explainForeignPlatforms` asks of the engine: its platform and BuildKit's workers. */
export type ForeignPlatformEngine = Pick<Engine, "info"> & {
  listWorkers?: ((signal?: AbortSignal) => Promise<WorkerRecord[]>) | undefined;
};

/** One build's platforms, as `explainForeignPlatforms` weighs them. */
export interface PlatformBuild {
  /** Who builds, as the warning starts: `target "app"`, `targets api, worker`. */
  label: string;
  /** The platforms it builds for (empty: the engine's own). */
  platforms: readonly string[];
  /**
   * Its analysis: a warning about a platform the engine cannot run then names the `RUN` steps
   * built for it, or says that none is and the target builds.
   */
  analysis?: DockerfileAnalysis | undefined;
}

/** `linux/arm64/v8` is `linux/arm64`, as containerd's platform matcher normalizes it. */
function normalizePlatform(platform: string): string {
  const lower = platform.toLowerCase();
  return lower === "linux/arm64/v8" ? "linux/arm64" : lower;
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
        normalizePlatform(formatPlatform(stage.resolvedPlatform)) === normalizePlatform(platform));
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
 * For each platform of the builds that is not the engine's own, a warning that says what the
 * engine will do, from the platforms its BuildKit workers can run (natively or through installed
 * emulation) and, given a build's analysis, the `RUN` steps that would run programs of that
 * platform. Asks the engine nothing when no build names a platform.
 *
 * @example
 * const builds = [{ label: 'target "app"', platforms: ["linux/amd64", "linux/arm64"], analysis }];
 * for (const warning of await explainForeignPlatforms(builds, engine)) console.warn(warning);
 */
export async function explainForeignPlatforms(
  builds: readonly PlatformBuild[],
  engine: ForeignPlatformEngine,
  signal?: AbortSignal,
): Promise<string[]> {
  if (builds.every((build) => build.platforms.length === 0)) return [];
  const info = await engine.info(signal);
  const own = normalizePlatform(info.platform);
  const foreign = builds.flatMap((build) =>
    build.platforms
      .filter((platform) => normalizePlatform(platform) !== own)
      .map((platform) => ({ build, platform })),
  );
  if (foreign.length === 0) return [];
  const workers = await engine.listWorkers?.(signal).catch(() => undefined);
  const runnable =
    workers === undefined ? undefined : [...new Set(workers.flatMap((w) => w.platforms))];
  return foreign.map(({ build, platform }) => {
    const start = `${build.label}: platform ${platform} is not the engine's own (${info.platform})`;
    if (runnable === undefined) {
      return `${start}; whether it can run ${platform} programs is unknown (its BuildKit workers could not be listed): without emulation RUN steps fail with "exec format error"`;
    }
    if (runnable.map(normalizePlatform).includes(normalizePlatform(platform))) {
      return `${start}; its BuildKit runs ${platform} programs (natively or emulated), so every step runs as asked, base images pulled for ${platform}`;
    }
    const cannot = `${start} and its BuildKit cannot run ${platform} programs (it runs ${runnable.join(", ")}; no emulation is installed)`;
    const fix = `Install QEMU emulation (binfmt) on the engine's machine, or build on an engine of that platform.`;
    if (build.analysis === undefined) {
      return `${cannot}: base images are pulled for ${platform}, steps that only copy files build, and RUN steps fail with "exec format error". ${fix}`;
    }
    const steps = runStepsFor(build.analysis, platform);
    if (steps.length === 0) {
      return `${cannot}: no RUN step is built for ${platform} (only files are copied and settings made), so it builds; base images are pulled for ${platform}`;
    }
    return `${cannot}: the RUN steps built for ${platform} at ${steps.join(", ")} fail with "exec format error" (unless a base image has no ${platform} variant and BuildKit runs the one it has). ${fix}`;
  });
}

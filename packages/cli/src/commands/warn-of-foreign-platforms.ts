import { EngineError, type DockerfileAnalysis } from "@stagecraft/core";
import { explainForeignPlatforms, type ForeignPlatformEngine } from "@stagecraft/core/engine";
import type { Io } from "../io.js";

/**
 * `--platform`'s one or several platforms: each one the engine does not run natively explained
 * (whether its BuildKit can run it, the RUN steps built for it), as bake does. An engine that does not answer skips it: the
 * build then says why it cannot reach it.
 */
export async function warnOfForeignPlatforms(
  io: Pick<Io, "stderr" | "signal">,
  engine: ForeignPlatformEngine,
  analysis: DockerfileAnalysis,
  platforms: readonly string[] | undefined,
): Promise<void> {
  if (platforms === undefined) return;
  const targets = analysis.plan.targets.map((target) => target.id);
  const label =
    targets.length === 1 ? `target "${targets[0] ?? ""}"` : `targets ${targets.join(", ")}`;
  const warnings = await explainForeignPlatforms(
    [{ label, platforms, analysis }],
    engine,
    io.signal,
  ).catch((error: unknown) => {
    if (error instanceof EngineError) return [];
    throw error;
  });
  for (const warning of warnings) io.stderr.write(`warning: ${warning}\n`);
}

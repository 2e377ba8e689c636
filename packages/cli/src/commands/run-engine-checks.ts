import { EngineError, type DockerfileAnalysis, type Engine } from "@stagecraft/core";
import type { EngineCheck } from "@stagecraft/core/dockerfile";
import { readEngineReadiness, type EngineReadinessOptions } from "@stagecraft/core/engine";

// Apart from plan.ts, so that a build, which asks the same questions before it sends anything,
// does not load the plan command and the pool planner it imports.

/** What the engine checks found, or why they did not run. */
export interface EngineChecksResult {
  /** Where the engine was asked; undefined when it was not. */
  readonly engine: string | undefined;
  /** Why the checks did not run (`--no-engine`, a pool, no engine answered); undefined when they ran. */
  readonly skipped: string | undefined;
  readonly checks: readonly EngineCheck[];
}

/**
 * Asks the engine what it will refuse or fetch for the analysed targets; an engine that does not
 * answer skips the checks (a plan is useful offline) and says so.
 */
export async function runEngineChecks(
  engine: Engine & { readonly endpoint?: { readonly description: string } },
  analysis: DockerfileAnalysis,
  options: EngineReadinessOptions,
): Promise<EngineChecksResult> {
  const where = engine.endpoint?.description;
  try {
    const checks = await readEngineReadiness(engine, analysis, options);
    return { engine: where, skipped: undefined, checks };
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    return {
      engine: where,
      skipped: `no engine answered${where === undefined ? "" : ` at ${where}`}: ${error.message}`,
      checks: [],
    };
  }
}

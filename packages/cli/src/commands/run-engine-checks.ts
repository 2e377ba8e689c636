import { EngineError, type DockerfileAnalysis, type Engine } from "@stagecraft/core";
import {
  checkEngineReadiness,
  listEngineImages,
  type EngineCheck,
} from "@stagecraft/core/dockerfile";
import {
  BuildkitEngine,
  probeRegistries,
  readEngineReadiness,
  type EngineReadinessOptions,
} from "@stagecraft/core/engine";
import type { Placement } from "@stagecraft/core/placement";

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
  if (engine instanceof BuildkitEngine) {
    return { engine: where, skipped: BUILDKIT_SKIP, checks: [] };
  }
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

/** Why a standalone buildkitd is not asked (it answers no image questions). */
const BUILDKIT_SKIP =
  "a standalone buildkitd has no image store to ask: it resolves each image when the build starts";

/** One engine of a pool, as its checks need it. */
export interface PoolCheckMember {
  readonly name: string;
  readonly engine: Pick<Engine, "inspectImage" | "inspectDistribution"> & {
    readonly endpoint?: { readonly description: string };
  };
}

/** What the checks found on one engine of a pool, for the targets placed on it. */
export interface PoolEngineChecksResult extends EngineChecksResult {
  /** The engine's name in the pool. */
  readonly name: string;
  /** The targets placed on it and the shared stages it builds for the others. */
  readonly builds: readonly string[];
}

/**
 * The engine checks over a pool: each engine is asked which images the build needs it has (never
 * a pull), and each gets the findings for what the placement gives it to build (its targets, and the
 * shared stages it builds for the others). With `pinBases`, a base image that some engine of the
 * pool has travels to the others pinned by digest, so only a base no engine has is missing. For an
 * image an engine still lacks for what it builds, that engine is asked whether its registry would
 * give it (as `readEngineReadiness` asks one engine): every engine at once, each within the budget.
 */
export async function runPoolEngineChecks(
  members: readonly PoolCheckMember[],
  analysis: DockerfileAnalysis,
  placement: Pick<Placement, "targets"> & Partial<Pick<Placement, "transfers">>,
  options: EngineReadinessOptions & { readonly pinBases: boolean },
): Promise<PoolEngineChecksResult[]> {
  const named = new Set(options.namedContexts ?? []);
  const queries = listEngineImages(analysis).filter((query) => !named.has(query.reference));
  const answers = await Promise.all(
    members.map(async (member) => {
      if (member.engine instanceof BuildkitEngine) return BUILDKIT_SKIP;
      try {
        const found = await Promise.all(
          queries.map((query) => member.engine.inspectImage(query.lookup, options.signal)),
        );
        return new Map(
          queries.map((query, index) => [query.reference, found[index] !== undefined]),
        );
      } catch (error) {
        if (!(error instanceof EngineError)) throw error;
        return error;
      }
    }),
  );
  const bases = new Set(analysis.plan.externalImages);
  const anywhere = new Set(
    answers.flatMap((answer) =>
      answer instanceof Map
        ? [...answer].filter(([, has]) => has).map(([reference]) => reference)
        : [],
    ),
  );
  const canPull = options.canPull ?? true;
  const lookups = new Map(queries.map((query) => [query.reference, query.lookup]));
  return Promise.all(
    members.map(async (member, index): Promise<PoolEngineChecksResult> => {
      const where = member.engine.endpoint?.description;
      const targets = analysis.plan.targets.filter(
        (target) =>
          (placement.targets.find((entry) => entry.target === target.id)?.engine ??
            members[0]?.name) === member.name,
      );
      const shares = (placement.transfers ?? [])
        .filter((transfer) => transfer.from === member.name)
        .map((transfer) => transfer.id);
      const builds = [...targets.map((target) => target.id), ...shares];
      const answer = answers[index];
      if (answer === BUILDKIT_SKIP) {
        return { name: member.name, builds, engine: where, skipped: BUILDKIT_SKIP, checks: [] };
      }
      if (answer === undefined || !(answer instanceof Map)) {
        return {
          name: member.name,
          builds,
          engine: where,
          skipped: `no engine answered${where === undefined ? "" : ` at ${where}`}: ${answer?.message ?? "no answer"}`,
          checks: [],
        };
      }
      if (builds.length === 0) {
        return { name: member.name, builds, engine: where, skipped: undefined, checks: [] };
      }
      const present = new Map(
        [...answer].map(([reference, has]): [string, boolean] => [
          reference,
          has || (options.pinBases && bases.has(reference) && anywhere.has(reference)),
        ]),
      );
      for (const name of named) present.set(name, true);
      // What this engine builds: its targets' stages and its shared stages', down to the shared
      // stages of other engines, which it reads as named contexts (their bases are not its concern).
      const stageIndex = new Map(analysis.graph.stages.map((stage) => [stage.id, stage.index]));
      const readElsewhere = new Set(
        (placement.transfers ?? [])
          .filter((transfer) => transfer.from !== member.name)
          .map((transfer) => stageIndex.get(transfer.id))
          .filter(
            (index): index is number =>
              index !== undefined && analysis.graph.stages[index]?.name !== undefined,
          ),
      );
      const needed = new Set<number>();
      const visit = (index: number): void => {
        if (needed.has(index) || readElsewhere.has(index)) return;
        needed.add(index);
        for (const next of analysis.graph.stages[index]?.dependsOn ?? []) visit(next);
      };
      for (const target of targets) visit(target.stage);
      for (const share of shares) {
        const index = stageIndex.get(share);
        if (index === undefined) continue;
        readElsewhere.delete(index);
        visit(index);
      }
      const own: DockerfileAnalysis = {
        ...analysis,
        plan: { ...analysis.plan, stages: [...needed].sort((a, b) => a - b) },
      };
      const facts = { present, canPull, network: options.network };
      const offline = checkEngineReadiness(own, facts);
      // The images this engine lacks for what it builds are those the offline findings name.
      const missing = [
        ...new Set(
          offline.flatMap((check) => (check.reference === undefined ? [] : [check.reference])),
        ),
      ].flatMap((reference) => {
        const lookup = lookups.get(reference);
        return lookup === undefined ? [] : [{ reference, lookup }];
      });
      const pull = canPull ? await probeRegistries(member.engine, missing, options) : undefined;
      return {
        name: member.name,
        builds,
        engine: where,
        skipped: undefined,
        checks: pull === undefined ? offline : checkEngineReadiness(own, { ...facts, pull }),
      };
    }),
  );
}

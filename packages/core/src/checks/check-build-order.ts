import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { commentsAt } from "./comments-at.js";
import type { CacheMountUse, OrderEvent, StageFacts } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";

/**
 * CacheBustingCopyOrder: in a planned stage, the whole context (`COPY . .`) is copied before a
 * dependency install of the same stage, so every source change invalidates the install's cache.
 * A stage that already ran the same install before the copy did the right thing and is left alone.
 */
export function checkCopyOrder(
  analysis: DockerfileAnalysis,
  facts: ReadonlyMap<number, StageFacts>,
  planned: readonly number[],
  emit: Emit,
): void {
  for (const index of planned) {
    const fact = facts.get(index);
    if (fact === undefined) continue;
    const installedBefore = new Set<string>();
    let copy: Extract<OrderEvent, { kind: "whole-copy" }> | undefined;
    for (const event of fact.order) {
      if (event.kind === "whole-copy") {
        copy ??= event;
        continue;
      }
      if (copy === undefined) {
        installedBefore.add(event.install.command);
        continue;
      }
      if (installedBefore.has(event.install.command)) continue;
      const { install } = event;
      emit({
        rule: "CacheBustingCopyOrder",
        message: `${copy.keyword} ${copy.source} at line ${copy.location.line} copies the whole build context before \`${install.command}\` at line ${event.location.line} in stage "${fact.id}": any change to a source file re-runs the install`,
        fix: `COPY ${install.manifests} first, RUN ${install.command}, then ${copy.keyword} the rest of the sources.`,
        location: copy.location,
        stage: fact.id,
        comments: commentsAt(analysis, copy.location.line),
      });
      break;
    }
  }
}

/** Caches whose tools are safe for concurrent writers: Go's build and module caches. */
function isConcurrencySafe(use: CacheMountUse): boolean {
  const target = use.target.replace(/\/+$/, "");
  return target.endsWith("/go-build") || target.endsWith("/pkg/mod");
}

/**
 * SharedCacheMountRace: with several targets requested, two stages that belong to different
 * targets and do not depend on each other (so BuildKit runs them at the same time) write one cache
 * mount (same id, the target path by default) with `sharing=shared`, BuildKit's default. Go's
 * caches, built for concurrent use, are left alone.
 */
export function checkSharedCaches(
  analysis: DockerfileAnalysis,
  facts: ReadonlyMap<number, StageFacts>,
  emit: Emit,
): void {
  const { plan, graph } = analysis;
  if (plan.targets.length < 2) return;
  const targetsOf = new Map<number, string[]>();
  for (const target of plan.targets) {
    for (const stage of target.reachable) {
      const list = targetsOf.get(stage);
      if (list === undefined) targetsOf.set(stage, [target.id]);
      else list.push(target.id);
    }
  }
  const byId = new Map<string, { stage: number; use: CacheMountUse }[]>();
  for (const stage of plan.stages) {
    for (const use of facts.get(stage)?.cacheMounts ?? []) {
      if (use.sharing !== "shared" || isConcurrencySafe(use)) continue;
      const list = byId.get(use.id);
      if (list === undefined) byId.set(use.id, [{ stage, use }]);
      else list.push({ stage, use });
    }
  }
  const reaches = reachability(analysis);
  for (const [id, uses] of byId) {
    for (const [position, later] of uses.entries()) {
      const earlier = uses
        .slice(0, position)
        .find(
          (candidate) =>
            candidate.stage !== later.stage &&
            !reaches(candidate.stage, later.stage) &&
            !reaches(later.stage, candidate.stage) &&
            differentTargets(
              targetsOf.get(candidate.stage) ?? [],
              targetsOf.get(later.stage) ?? [],
            ),
        );
      if (earlier === undefined) continue;
      const earlierStage = graph.stages[earlier.stage];
      const laterStage = graph.stages[later.stage];
      if (earlierStage === undefined || laterStage === undefined) continue;
      const targets = (stage: number): string => (targetsOf.get(stage) ?? []).join(", ");
      emit({
        rule: "SharedCacheMountRace",
        message: `the cache mount ${id} is written with sharing=${later.use.sharing} by stage "${laterStage.id}" (line ${later.use.location.line}, target ${targets(later.stage)}) and stage "${earlierStage.id}" (line ${earlier.use.location.line}, target ${targets(earlier.stage)}), which BuildKit runs at the same time`,
        fix: `Add sharing=locked to both mounts of ${id} (or give each stage its own id=).`,
        location: later.use.location,
        stage: laterStage.id,
        comments: commentsAt(analysis, later.use.location.line),
      });
    }
  }
}

function differentTargets(a: readonly string[], b: readonly string[]): boolean {
  return a.some((left) => b.some((right) => left !== right));
}

/** Whether stage `from` needs stage `to`, directly or not (memoised per source stage). */
function reachability(analysis: DockerfileAnalysis): (from: number, to: number) => boolean {
  const stages = analysis.graph.stages;
  const cache = new Map<number, Uint8Array>();
  return (from, to) => {
    let seen = cache.get(from);
    if (seen === undefined) {
      seen = new Uint8Array(stages.length);
      const pending = [...(stages[from]?.dependsOn ?? [])];
      for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        if (seen[next] === 1) continue;
        seen[next] = 1;
        for (const dependency of stages[next]?.dependsOn ?? []) pending.push(dependency);
      }
      cache.set(from, seen);
    }
    return seen[to] === 1;
  };
}

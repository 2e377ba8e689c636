import { DockerfileError, type SourcePosition } from "../errors.js";
import type { EscapeToken } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import type { DockerfileStage } from "../dockerfile/instructions.js";
import { suggestClosest, withSuggestion } from "../dockerfile/parse-flags.js";
import { parsePlatform, type Platform } from "./parse-platform.js";
import type { StageBase } from "./stage-graph.js";
import { validateImageReference } from "./validate-image-reference.js";

/** A stage after its `FROM` is resolved. */
export interface ResolvedFrom {
  readonly index: number;
  readonly name: string | undefined;
  readonly id: string;
  readonly position: SourcePosition;
  readonly baseName: string;
  readonly base: StageBase;
  readonly resolvedPlatform: Platform | undefined;
  readonly usesTargetStage: boolean;
}

/** BuildKit's `buildDispatchStates` for one stage: expand the base and platform, find the base. */
export function resolveFrom(
  stage: DockerfileStage,
  earlierByName: ReadonlyMap<string, number>,
  globalArgs: ReadonlyMap<string, string>,
  globalArgNames: () => readonly string[],
  escapeToken: EscapeToken,
  buildPlatform: Platform,
): ResolvedFrom {
  const { from, index } = stage;
  const position = from.position;
  const expanded = expandShellWord(from.baseName, globalArgs, { escapeToken, position });
  if (expanded.value === "") {
    throw new DockerfileError(
      "DOCKERFILE_EXPANSION",
      `base name (${from.baseName}) should not be blank`,
      position,
      { hint: "Give the ARG used in FROM a default, or pass it as a build arg." },
    );
  }
  let usesTargetStage = usesName(expanded, "TARGETSTAGE");
  let resolvedPlatform: Platform | undefined;
  if (from.platform !== undefined && from.platform !== "") {
    let platform;
    try {
      platform = expandShellWord(from.platform, globalArgs, { escapeToken, position });
    } catch (error) {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        `failed to process arguments for platform : ${(error as Error).message}`,
        position,
      );
    }
    usesTargetStage ||= usesName(platform, "TARGETSTAGE");
    // Only an error needs the suggestion (a scan of every global arg name).
    const suggestion = (): string | undefined =>
      suggestUnmatched(platform.unmatched, globalArgNames());
    if (platform.value === "") {
      throw new DockerfileError(
        "DOCKERFILE_EXPANSION",
        withSuggestion(`empty platform value from expression ${from.platform}`, suggestion()),
        position,
      );
    }
    const parsedPlatform = parsePlatform(platform.value, buildPlatform);
    if (!parsedPlatform.ok) {
      throw new DockerfileError(
        "DOCKERFILE_FLAG",
        `failed to parse platform ${from.platform}: ${withSuggestion(parsedPlatform.message, suggestion())}`,
        position,
      );
    }
    resolvedPlatform = parsedPlatform.platform;
  }
  const name = from.stageName;
  if (name !== undefined && name !== "scratch" && name !== "context") {
    // A named stage is also a named-context key, so BuildKit requires it to be a valid reference.
    const problem = validateImageReference(name);
    if (problem !== undefined) {
      throw new DockerfileError(
        "INVALID_STAGE_NAME",
        `invalid context name ${name}: ${problem}`,
        position,
        {
          hint: "Stage names must also be valid image names: no trailing or doubled '.', '_' or '-'.",
        },
      );
    }
  }
  // FROM sees only earlier stages, matched exactly (names are lower-cased), the latest of a name.
  const earlier = earlierByName.get(expanded.value);
  const base: StageBase =
    earlier !== undefined
      ? { kind: "stage", index: earlier }
      : expanded.value === "scratch"
        ? { kind: "scratch" }
        : { kind: "image", reference: expanded.value };
  return {
    index,
    name,
    id: name ?? `stage-${index}`,
    position,
    baseName: expanded.value,
    base,
    resolvedPlatform,
    usesTargetStage,
  };
}

function usesName(expansion: { matched: string[]; unmatched: string[] }, name: string): boolean {
  return expansion.matched.includes(name) || expansion.unmatched.includes(name);
}

function suggestUnmatched(
  unmatched: readonly string[],
  keys: readonly string[],
): string | undefined {
  for (const name of unmatched) {
    const suggestion = suggestClosest(name, keys, true);
    if (suggestion !== undefined) return suggestion;
  }
  return undefined;
}

/**
 * Resolves every stage's `FROM` in file order: each sees only earlier stages, the latest earlier
 * stage of each name.
 */
export function resolveFroms(
  stages: readonly DockerfileStage[],
  globalArgs: ReadonlyMap<string, string>,
  escapeToken: EscapeToken,
  buildPlatform: Platform,
): ResolvedFrom[] {
  const earlierByName = new Map<string, number>();
  const globalArgNames = lazy(() => [...globalArgs.keys()]);
  return stages.map((stage) => {
    const own = resolveFrom(
      stage,
      earlierByName,
      globalArgs,
      globalArgNames,
      escapeToken,
      buildPlatform,
    );
    if (stage.from.stageName !== undefined) earlierByName.set(stage.from.stageName, stage.index);
    return own;
  });
}

/** A value computed on first use. */
function lazy<T>(compute: () => T): () => T {
  let value: { readonly current: T } | undefined;
  return () => (value ??= { current: compute() }).current;
}

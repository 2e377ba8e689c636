import { UnknownStageError } from "../errors.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import { suggestClosest } from "../dockerfile/parse-flags.js";

/**
 * The stage a `--target` names: case-insensitive, the last stage of that name when names repeat.
 * Unnamed stages cannot be targeted in BuildKit, but the last one is the default target: its id
 * `stage-N` (as `plan` prints it) names it, and it is built without `target=`.
 *
 * @example
 * findTargetStage([{ name: "build" }, { name: undefined }], "BUILD"); // 0
 * @throws UnknownStageError listing the stage names and the closest one (BuildKit's util/suggest).
 */
export function findTargetStage(
  stages: readonly { readonly name: string | undefined }[],
  target: string,
): number {
  const wanted = toLowerGo(target);
  for (let index = stages.length - 1; index >= 0; index--) {
    if (stages[index]?.name === wanted) return index;
  }
  const last = stages.length - 1;
  if (last >= 0 && stages[last]?.name === undefined && wanted === `stage-${last}`) return last;
  const names = [
    ...new Set(stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]))),
  ];
  throw new UnknownStageError(target, names, suggestClosest(target, names, true));
}

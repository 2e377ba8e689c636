import { UnknownStageError } from "../errors.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import { suggestClosest } from "../dockerfile/parse-flags.js";

/**
 * The stage a `--target` names: case-insensitive, the last stage of that name when names repeat
 * (unnamed stages cannot be targeted, as in BuildKit).
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
  const names = [
    ...new Set(stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]))),
  ];
  throw new UnknownStageError(target, names, suggestClosest(target, names, true));
}

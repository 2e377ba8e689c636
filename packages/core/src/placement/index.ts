// @stagecraft/core/placement: which engine of a pool builds which stage, and what travels between them.
export { placeStages, DEFAULT_TRANSFER } from "./place-stages.js";
export type {
  Placement,
  PlacementInput,
  PlacedStage,
  PoolEngine,
  StageTransfer,
  TransferModel,
} from "./place-stages.js";
export { estimateStageCosts, DEFAULT_INSTRUCTION_COSTS } from "./estimate-stage-costs.js";
export type { EarlierReport, StageCost } from "./estimate-stage-costs.js";
export { gatherCacheAffinity } from "./gather-cache-affinity.js";

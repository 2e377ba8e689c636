// @stagecraft/core/pool: one build's targets over a pool of engines, results shared through a registry.
export { runPool } from "./run-pool.js";
export type {
  MovedTarget,
  PoolMember,
  PoolOutcome,
  PoolRun,
  RunPoolOptions,
  SharedStage,
} from "./run-pool.js";
export type { SharedStageReader } from "./track-context-pulls.js";
export { checkRegistry } from "./check-registry.js";
export { pinPoolBases } from "./pin-pool-bases.js";
export type { PoolBasePins, PoolPinnedBase } from "./pin-pool-bases.js";

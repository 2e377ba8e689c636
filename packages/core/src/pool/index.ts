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
export { checkRegistry } from "./check-registry.js";

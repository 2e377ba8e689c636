import type { CancelReason } from "@stagecraft/core";

/** "cancelled: test failed", "cancelled: the engine was lost", …: a cancelled target's short line. */
export function describeCancel(reason: CancelReason | null): string {
  switch (reason?.kind) {
    case undefined:
    case "interrupted":
      return "cancelled";
    case "fail-fast":
      return `cancelled: ${reason.failedTarget} failed`;
    case "engine":
      return "cancelled: the engine was lost";
    case "timeout":
      return `cancelled: the run reached --timeout (${Math.round(reason.afterMs / 1000)} s)`;
    default:
      return reason satisfies never;
  }
}

/** "no news from the engine for 30 s; still waiting for a, b": an `engine-quiet` event's line. */
export function describeQuiet(quietMs: number, running: readonly string[]): string {
  return `no news from the engine for ${Math.round(quietMs / 1000)} s; still waiting for ${running.join(", ")}`;
}

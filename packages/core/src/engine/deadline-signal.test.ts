import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { deadlineSignal } from "./deadline-signal.js";

// A full garbage collection on demand: what a long build does sooner or later.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function whenAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    signal.addEventListener(
      "abort",
      () => {
        resolve(signal.reason);
      },
      { once: true },
    );
  });
}

describe("deadlineSignal", () => {
  it("fires after a garbage collection, with or without a caller's signal", async () => {
    const caller = new AbortController();
    const alone = whenAborted(deadlineSignal(50));
    const combined = whenAborted(deadlineSignal(50, caller.signal));
    // Collected once nothing on this stack refers to the signals any more, as in a real request.
    setTimeout(collectGarbage, 10);
    const reasons = await Promise.all([alone, combined]);
    for (const reason of reasons) expect((reason as DOMException).name).toBe("TimeoutError");
  });

  it("follows the caller's signal at once", async () => {
    const caller = new AbortController();
    const signal = deadlineSignal(60_000, caller.signal);
    caller.abort(new Error("received SIGTERM"));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("received SIGTERM");
    await Promise.resolve();
  });
});

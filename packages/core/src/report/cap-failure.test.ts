import { describe, expect, it } from "vitest";
import { capTargetError, cut } from "./cap-failure.js";

describe("capTargetError", () => {
  it("keeps the last 20 lines, each cut at 500 characters, and the message at 2,000, saying so", () => {
    const error = {
      code: "BUILD_FAILED" as const,
      message: "m".repeat(5_000),
      logTail: [...Array.from({ length: 30 }, (_, i) => `line ${i}`), "x".repeat(600)],
    };
    const capped = capTargetError(error);
    expect(capped.message).toBe(`${"m".repeat(2_000)}… (3000 more characters)`);
    expect(capped.logTail).toHaveLength(20);
    expect(capped.logTail[0]).toBe("line 11");
    expect(capped.logTail.at(-1)).toBe(`${"x".repeat(500)}… (100 more characters)`);
  });

  it("returns an error within the bounds as it is, and cuts a cut text no further", () => {
    const error = { code: "BUILD_FAILED" as const, message: "exit code: 2", logTail: ["make"] };
    expect(capTargetError(error)).toBe(error);
    const once = cut("y".repeat(3_000), 2_000);
    expect(cut(once, 2_000)).toBe(once);
  });
});

import type { PoolOutcome } from "@stagecraft/core/pool";
import { describe, expect, it } from "vitest";
import { formatPoolLines } from "./build-on-pool.js";

const PIN =
  "127.0.0.1:5000/ci/stagecraft-bases/stagecraft/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const outcome = (pins: PoolOutcome["pins"]): PoolOutcome => ({
  status: "succeeded",
  targets: [
    { name: "a", status: "succeeded", tags: [], engine: "one" },
    { name: "b", status: "succeeded", tags: [], engine: "two" },
  ],
  runs: [],
  moved: [],
  shared: [],
  busyMs: { one: 1500, two: 2500 },
  pins,
});

describe("formatPoolLines", () => {
  it("says once for the pool which bases were pinned, from which engine, and which were not", () => {
    const text = formatPoolLines(
      outcome({
        mirror: "127.0.0.1:5000/ci/stagecraft-bases",
        pinned: [{ reference: "stagecraft/busybox:latest", pinned: PIN, engine: "two" }],
        unpinned: [{ reference: "scratch", reason: "scratch is no image" }],
      }),
    );
    expect(text.split("\n")).toEqual([
      `base stagecraft/busybox:latest pinned once for the pool: pushed from two as ${PIN}`,
      "base scratch not pinned: scratch is no image",
      "a  succeeded on one",
      "b  succeeded on two",
      "engine one busy 1.5 s",
      "engine two busy 2.5 s",
      "",
    ]);
  });

  it("has no pin lines when the pool did not pin", () => {
    expect(formatPoolLines(outcome(undefined))).not.toContain("base ");
  });
});

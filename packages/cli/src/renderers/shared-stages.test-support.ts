import type { SharedStage } from "@stagecraft/core/pool";

/**
 * A pool run's shared stages: deps built on one and read by two (pulled), three (whose builds
 * never said) and four (had its layers); lint could not be shared.
 */
export function sharedStages(): SharedStage[] {
  return [
    {
      stage: "deps",
      engine: "one",
      to: ["two", "three"],
      reference: "127.0.0.1:5000/ci/deps@sha256:00",
      buildMs: 4200,
      pushMs: 800,
      bytes: 4_000_000,
      readers: [
        { engine: "two", pullMs: 350, bytes: 4_100_000 },
        { engine: "four", pullMs: 240, bytes: 0 },
      ],
      error: undefined,
      report: undefined,
    },
    {
      stage: "lint",
      engine: "two",
      to: ["one"],
      reference: undefined,
      buildMs: 0,
      pushMs: 0,
      bytes: 0,
      readers: [],
      error: "push refused: <denied>",
      report: undefined,
    },
  ];
}

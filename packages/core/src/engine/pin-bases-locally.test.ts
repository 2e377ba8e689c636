import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { pinBasesLocally, releaseLocalPins } from "./pin-bases-locally.js";

const BASE = `127.0.0.1:5000/base@sha256:${"c".repeat(64)}`;

describe("pinBasesLocally", () => {
  it("gives one run's bases one tag, and releasing takes only the names away", async () => {
    const engine = new FakeEngine();
    const other = `127.0.0.1:5000/other@sha256:${"d".repeat(64)}`;
    engine.addImage(BASE);
    engine.addImage(other);
    const pins = await pinBasesLocally(engine, [
      { reference: "base:1", digestRef: BASE },
      { reference: other, digestRef: other },
    ]);
    expect(pins.left).toEqual([]);
    const tags = new Set(pins.pinned.map((pin) => pin.local.split(":")[1]));
    expect(tags.size).toBe(1);
    expect(pins.pinned.map((pin) => pin.local.split(":")[0])).toEqual([
      `stagecraft-local-pins/sha256-${"c".repeat(64)}`,
      `stagecraft-local-pins/sha256-${"d".repeat(64)}`,
    ]);
    await releaseLocalPins(engine, pins);
    expect(engine.removed).toEqual([]);
    for (const pin of pins.pinned) expect(await engine.inspectImage(pin.local)).toBeUndefined();
    expect(await engine.inspectImage(BASE)).toBeDefined();
  });

  it("leaves a base it cannot pull with the engine's words, and one not read by digest", async () => {
    const engine = Object.assign(new FakeEngine(), {
      pullImage: () =>
        Promise.reject(new EngineError("ENGINE_REQUEST", "pulling base: manifest unknown")),
    });
    const pins = await pinBasesLocally(engine, [
      { reference: "base:1", digestRef: BASE },
      { reference: "base:2", digestRef: "base:2" },
    ]);
    expect(pins.pinned).toEqual([]);
    expect(pins.left).toEqual([
      { reference: "base:1", reason: "pulling base: manifest unknown" },
      { reference: "base:2", reason: "not read by digest" },
    ]);
  });
});

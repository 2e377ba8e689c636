// @ts-expect-error: no @types/node in this example (see src/server.ts).
import { test } from "node:test";
// @ts-expect-error: same.
import assert from "node:assert/strict";
import { greet } from "../src/greeting.js";

test("greets by name, and the world when no name is given", () => {
  assert.equal(greet("stagecraft"), "hello, stagecraft");
  assert.equal(greet("  "), "hello, world");
});

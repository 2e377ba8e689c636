import assert from "node:assert/strict";
import { test } from "node:test";
import { greet } from "./greet.mjs";

test("greets by name, and the world when no name is given", () => {
  assert.deepEqual(greet("stagecraft"), { greeting: "hello, stagecraft" });
  assert.deepEqual(greet(undefined), { greeting: "hello, world" });
});

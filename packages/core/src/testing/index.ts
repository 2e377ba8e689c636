// Test doubles for code that embeds stagecraft: `import { FakeEngine } from "@stagecraft/core/testing"`.
export { FakeEngine } from "./fake-engine.js";
export type { FakeBuildCall, FakeBuildScript } from "./fake-engine.js";

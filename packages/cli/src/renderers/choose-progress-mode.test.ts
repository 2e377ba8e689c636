import { describe, expect, it } from "vitest";
import { chooseProgressMode } from "./choose-progress-mode.js";
import { createMemoryIo } from "./memory-io.test-support.js";

describe("chooseProgressMode", () => {
  const terminal = createMemoryIo({ isTTY: true, env: { TERM: "xterm-256color" } });
  const dumb = createMemoryIo({ isTTY: true, env: { TERM: "dumb" } });
  const pipe = createMemoryIo({ isTTY: false });
  const actions = createMemoryIo({ isTTY: false, env: { GITHUB_ACTIONS: "true" } });

  it("picks the live view on a terminal, plain elsewhere, github under GitHub Actions", () => {
    expect(chooseProgressMode("auto", terminal)).toBe("tty");
    expect(chooseProgressMode("auto", dumb)).toBe("plain");
    expect(chooseProgressMode("auto", pipe)).toBe("plain");
    expect(chooseProgressMode("auto", actions)).toBe("github");
  });

  it("never picks tty without a terminal, even when asked", () => {
    expect(chooseProgressMode("tty", terminal)).toBe("tty");
    expect(chooseProgressMode("tty", pipe)).toBe("plain");
    expect(chooseProgressMode("tty", dumb)).toBe("plain");
  });

  it("keeps every other explicit choice", () => {
    for (const mode of ["plain", "json", "quiet", "github"] as const) {
      expect(chooseProgressMode(mode, terminal)).toBe(mode);
      expect(chooseProgressMode(mode, pipe)).toBe(mode);
    }
  });
});

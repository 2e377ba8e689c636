import { describe, expect, it } from "vitest";
import { createColors, shouldUseColor } from "./colors.js";

describe("shouldUseColor", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it.each([
    ["a terminal", tty, {}, true],
    ["a pipe", pipe, {}, false],
    ["a dumb terminal", tty, { TERM: "dumb" }, false],
    ["NO_COLOR on a terminal", tty, { NO_COLOR: "1" }, false],
    ["an empty NO_COLOR", tty, { NO_COLOR: "" }, true],
    ["FORCE_COLOR on a pipe", pipe, { FORCE_COLOR: "1" }, true],
    ["FORCE_COLOR=0 on a terminal", tty, { FORCE_COLOR: "0" }, false],
    ["an empty FORCE_COLOR on a pipe", pipe, { FORCE_COLOR: "" }, false],
    ["NO_COLOR over FORCE_COLOR", pipe, { NO_COLOR: "1", FORCE_COLOR: "1" }, false],
  ])("%s", (_, output, env, expected) => {
    expect(shouldUseColor(output, env)).toBe(expected);
  });
});

describe("createColors", () => {
  it("wraps text in SGR codes only when enabled", () => {
    expect(createColors(true).red("x")).toBe("\x1b[31mx\x1b[39m");
    expect(createColors(true).bold("")).toBe("");
    expect(createColors(false).red("x")).toBe("x");
  });
});

import { describe, expect, it } from "vitest";
import { fitToWidth, padVisible, visibleWidth } from "./fit-to-width.js";

describe("fitToWidth", () => {
  it("leaves short lines alone and cuts long ones with an ellipsis", () => {
    expect(fitToWidth("RUN make", 20)).toBe("RUN make");
    expect(fitToWidth("RUN make install", 8)).toBe("RUN mak…");
    expect(visibleWidth(fitToWidth("RUN make install", 8))).toBe(8);
  });

  it("does not count colour codes, and closes them when it cuts", () => {
    const styled = "\x1b[32m✓\x1b[39m app  \x1b[2m3f2a9c1b7e4d\x1b[22m";
    expect(visibleWidth(styled)).toBe(19);
    expect(fitToWidth(styled, 19)).toBe(styled);
    expect(fitToWidth(styled, 8)).toBe("\x1b[32m✓\x1b[39m app  \x1b[2m\x1b[0m…");
  });

  it("pads to a width in columns", () => {
    expect(padVisible("\x1b[1mab\x1b[22m", 4)).toBe("\x1b[1mab\x1b[22m  ");
  });
});

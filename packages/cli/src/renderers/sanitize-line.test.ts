import { describe, expect, it } from "vitest";
import { sanitizeLine } from "./sanitize-line.js";

describe("sanitizeLine", () => {
  it("drops colour codes, cursor moves and other control characters", () => {
    expect(sanitizeLine("\x1b[32mPASS\x1b[0m src/a.test.ts")).toBe("PASS src/a.test.ts");
    expect(sanitizeLine("\x1b[2K\x1b[1Gdone\x07")).toBe("done");
    expect(sanitizeLine("\x1b]0;title\x07ok")).toBe("ok");
    expect(sanitizeLine("a\tb")).toBe("a    b");
    expect(sanitizeLine("two\nlines")).toBe("two lines");
  });

  it("keeps what a terminal would show after carriage returns", () => {
    expect(sanitizeLine("10%\r50%\r100%")).toBe("100%");
    expect(sanitizeLine("done\r")).toBe("done");
  });
});

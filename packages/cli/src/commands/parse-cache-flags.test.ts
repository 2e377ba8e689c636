import { describe, expect, it } from "vitest";
import { parseCacheFlag } from "./parse-cache-flags.js";

describe("parseCacheFlag", () => {
  it("reads docker's syntax, a bare ref being a registry cache", () => {
    expect(parseCacheFlag("--cache-from", "127.0.0.1:5000/c/app:main")).toEqual({
      type: "registry",
      attrs: { ref: "127.0.0.1:5000/c/app:main" },
    });
    expect(parseCacheFlag("--cache-to", "type=registry,ref=r.io/c:main,mode=max")).toEqual({
      type: "registry",
      attrs: { ref: "r.io/c:main", mode: "max" },
    });
    expect(parseCacheFlag("--cache-to", "type=local,dest=/tmp/c")).toEqual({
      type: "local",
      attrs: { dest: "/tmp/c" },
    });
    expect(parseCacheFlag("--cache-from", "type=local,src=/tmp/c")).toEqual({
      type: "local",
      attrs: { src: "/tmp/c" },
    });
    expect(parseCacheFlag("--cache-to", "type=inline")).toEqual({ type: "inline", attrs: {} });
    expect(parseCacheFlag("--cache-from", "ref=r.io/c:main")).toEqual({
      type: "registry",
      attrs: { ref: "r.io/c:main" },
    });
    expect(parseCacheFlag("--cache-to", "type=gha,scope=x").type).toBe("gha");
  });

  it.each([
    ["--cache-from", "127.0.0.1:5000/App:main", /--cache-from .*must be lowercase/],
    [
      "--cache-to",
      "type=registry,ref=r.io/Cache",
      /--cache-to .*not a valid image name.*lowercase/,
    ],
    ["--cache-to", "type=inline,mode=max", /--cache-to .*inline cache supports mode=min only/],
    ["--cache-to", "type=registry,ref=r/c,mode=all", /--cache-to .*mode must be min or max/],
    ["--cache-to", "type=registry,ref=r/c,colour=red", /--cache-to .*takes no "colour"/],
    ["--cache-from", "type=registry,ref=r/c,mode=max", /--cache-from .*takes no "mode"/],
    ["--cache-from", "type=local,dest=/x", /--cache-from .*takes no "dest"/],
    ["--cache-to", "type=local,src=/x", /--cache-to .*takes no "src"/],
    ["--cache-to", "type=local", /--cache-to .*type=local needs dest=DIR/],
    ["--cache-to", "type=registry", /--cache-to .*type=registry needs ref=IMAGE/],
    ["--cache-from", "type=inline", /--cache-from .*inline is a --cache-to type/],
    ["--cache-to", "type=floppy,ref=x", /--cache-to .*unknown cache type "floppy"/],
    ["--cache-to", "type=registry,,ref=x", /--cache-to .*is not KEY=VALUE/],
    ["--cache-to", "type=registry,ref=a,ref=b", /--cache-to .*ref is given twice/],
  ] as const)("refuses %s %s", (flag, value, message) => {
    expect(() => parseCacheFlag(flag, value)).toThrow(message);
  });
});

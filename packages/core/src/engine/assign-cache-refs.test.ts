import { describe, expect, it } from "vitest";
import { assignCacheRefs, refForTarget } from "./assign-cache-refs.js";

describe("refForTarget", () => {
  it("appends -TARGET to the tag; no tag is latest", () => {
    expect(refForTarget("127.0.0.1:5000/cache:main", "app")).toBe("127.0.0.1:5000/cache:main-app");
    expect(refForTarget("127.0.0.1:5000/cache", "test")).toBe("127.0.0.1:5000/cache:latest-test");
    expect(refForTarget("r.io/a/b:v1", "stage-2")).toBe("r.io/a/b:v1-stage-2");
  });
});

describe("assignCacheRefs", () => {
  const shared = { type: "registry", attrs: { ref: "r.io/cache:main", mode: "max" } };

  it("gives each target its own registry ref, and every target reads all of them", () => {
    const from = { type: "registry", attrs: { ref: "r.io/app:latest" } };
    const cache = assignCacheRefs([shared, { type: "inline", attrs: {} }], [from], ["test", "app"]);
    expect(cache.test?.cacheTo).toEqual([
      { type: "registry", attrs: { ref: "r.io/cache:main-test", mode: "max" } },
      { type: "inline", attrs: {} },
    ]);
    expect(cache.app?.cacheTo[0]?.attrs.ref).toBe("r.io/cache:main-app");
    for (const target of ["test", "app"]) {
      expect(cache[target]?.cacheFrom.map((entry) => entry.attrs.ref)).toEqual([
        "r.io/app:latest",
        "r.io/app:latest-test",
        "r.io/app:latest-app",
        "r.io/cache:main-test",
        "r.io/cache:main-app",
      ]);
    }
  });

  it("reads a shared --cache-from ref as every target's ref too, as --cache-to wrote them", () => {
    const from = { type: "registry", attrs: { ref: "r.io/cache:main" } };
    const pinned = { type: "registry", attrs: { ref: `r.io/cache@sha256:${"c".repeat(64)}` } };
    const local = { type: "local", attrs: { src: "/tmp/cache" } };
    const cache = assignCacheRefs([], [from, pinned, local], ["test", "app"]);
    for (const target of ["test", "app"]) {
      expect(cache[target]?.cacheTo).toEqual([]);
      expect(cache[target]?.cacheFrom).toEqual([
        from,
        pinned,
        local,
        { type: "registry", attrs: { ref: "r.io/cache:main-test" } },
        { type: "registry", attrs: { ref: "r.io/cache:main-app" } },
      ]);
    }
    // The same ref for both flags: read once each.
    const both = assignCacheRefs(
      [{ ...from, attrs: { ...from.attrs, mode: "max" } }],
      [from],
      ["test", "app"],
    );
    expect(both.app?.cacheFrom.map((entry) => entry.attrs.ref)).toEqual([
      "r.io/cache:main",
      "r.io/cache:main-test",
      "r.io/cache:main-app",
    ]);
  });

  it("keeps the ref of a single target as given", () => {
    const cache = assignCacheRefs([shared], [], ["app"]);
    expect(cache.app).toEqual({
      cacheTo: [shared],
      cacheFrom: [{ type: "registry", attrs: { ref: "r.io/cache:main" } }],
    });
  });
});

import { describe, expect, it } from "vitest";

import { createContextFilter, type ContextFilter } from "./create-context-filter.js";

/** What a walk of these paths (directories end in "/", parents before children) would send. */
function sent(filter: ContextFilter, paths: string[]): string[] {
  const states = new Map<string, ReturnType<ContextFilter["check"]>>();
  const out: string[] = [];
  const pending: string[] = [];
  for (const entry of paths) {
    const isDir = entry.endsWith("/");
    const path = isDir ? entry.slice(0, -1) : entry;
    const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : undefined;
    const parent = parentPath === undefined ? undefined : states.get(parentPath);
    if (parentPath !== undefined && (parent === undefined || parent.action === "prune")) continue;
    const result = filter.check(path, isDir, parent?.state);
    states.set(path, result);
    // Hidden directories wait for something kept below them; a sibling ends the wait.
    while (pending.length > 0 && !path.startsWith(`${pending.at(-1) ?? ""}/`)) pending.pop();
    if (result.action === "keep") {
      out.push(...pending.map((dir) => `${dir}/`), entry);
      pending.length = 0;
    } else if (result.action === "hide" && isDir) {
      pending.push(path);
    }
  }
  return out;
}

const tree = ["a/", "a/x.log", "a/y.txt", "b/", "b/c/", "b/c/z.log", "top.log", "top.txt"];

describe("createContextFilter (fsutil's filtered walk)", () => {
  it("keeps everything without patterns", () => {
    const filter = createContextFilter({});
    expect(filter.keepsEverything).toBe(true);
    expect(sent(filter, tree)).toEqual(tree);
  });

  it("walks every excluded directory when an exception has a wildcard", () => {
    const filter = createContextFilter({ excludePatterns: ["*", "!**/*.log"] });
    expect(filter.check("a", true, undefined).action).toBe("hide");
    expect(sent(filter, tree)).toEqual(["a/", "a/x.log", "b/", "b/c/", "b/c/z.log", "top.log"]);
  });

  it("prunes an excluded directory that no plain exception starts with", () => {
    const filter = createContextFilter({ excludePatterns: ["a", "b", "!b/c/z.log"] });
    expect(filter.check("a", true, undefined).action).toBe("prune");
    expect(filter.check("b", true, undefined).action).toBe("hide");
    expect(sent(filter, tree)).toEqual(["b/", "b/c/", "b/c/z.log", "top.log", "top.txt"]);
    // A trailing /** or /* on the exception still counts as a plain prefix.
    expect(
      createContextFilter({ excludePatterns: ["b", "!b/c/**"] }).check("b", true, undefined),
    ).toMatchObject({ action: "hide" });
    expect(
      createContextFilter({ excludePatterns: ["b", "!bc/x"] }).check("b", true, undefined),
    ).toMatchObject({ action: "prune" });
  });

  it("prunes every excluded directory when there is no exception", () => {
    const filter = createContextFilter({ excludePatterns: ["b"] });
    expect(filter.check("b", true, undefined).action).toBe("prune");
    expect(filter.check("top.log", false, undefined).action).toBe("keep");
  });

  it("keeps only what the includes select, with the directories on the way", () => {
    const filter = createContextFilter({ includePatterns: ["b/c"] });
    expect(filter.check("a", true, undefined).action).toBe("prune");
    expect(sent(filter, tree)).toEqual(["b/", "b/c/", "b/c/z.log"]);
    // An include with a wildcard may match anywhere: nothing is pruned.
    const wild = createContextFilter({ includePatterns: ["**/*.log"] });
    expect(wild.check("a", true, undefined).action).toBe("hide");
    expect(sent(wild, tree)).toEqual(["a/", "a/x.log", "b/", "b/c/", "b/c/z.log", "top.log"]);
  });

  it("applies excludes to what the includes select", () => {
    const filter = createContextFilter({ includePatterns: ["b"], excludePatterns: ["**/*.log"] });
    expect(sent(filter, tree)).toEqual(["b/", "b/c/"]);
  });

  it("tells whether a walk would send one path", () => {
    const filter = createContextFilter({ excludePatterns: ["*", "!**/*.log", "!keep/Dockerfile"] });
    expect(filter.sends("Dockerfile")).toBe(false);
    expect(filter.sends("a/x.log")).toBe(true);
    expect(filter.sends("keep/Dockerfile")).toBe(true);
    expect(createContextFilter({ excludePatterns: ["sub"] }).sends("sub/Dockerfile")).toBe(false);
  });
});

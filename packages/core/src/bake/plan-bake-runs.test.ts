import { describe, expect, it } from "vitest";
import { BakeError } from "../errors.js";
import { imageNamesOf, planBakeRuns } from "./plan-bake-runs.js";
import type { BakeTarget } from "./bake-target.js";
import type { BakeConfig } from "./resolve-bake.js";

const config = (target: Record<string, BakeTarget>): BakeConfig => ({ group: {}, target });

describe("planBakeRuns", () => {
  it("puts targets of one context and Dockerfile in one run, a stage's tags together", () => {
    const runs = planBakeRuns(
      config({
        api: { context: "app", target: "api", tags: ["me/api"] },
        web: { context: "app", target: "web", tags: ["me/web"] },
        alias: { context: "app", target: "web", tags: ["me/web:alias"] },
        proxy: { context: "proxy" },
      }),
    );
    expect(runs.map((run) => [run.name, run.dockerfile, run.stages])).toEqual([
      ["api", "app/Dockerfile", ["api", "web"]],
      ["proxy", "proxy/Dockerfile", [undefined]],
    ]);
    expect(runs[0]?.targetsByStage).toEqual({ api: ["api"], web: ["web", "alias"] });
    expect(runs[0]?.tagsByStage.web).toEqual(["me/web", "me/web:alias"]);
  });

  it("pushes targets whose output is the registry, in a run apart from the others", () => {
    const runs = planBakeRuns(
      config({
        pushed: { target: "a", tags: ["r/a:1"], output: ["type=registry"] },
        image: { target: "b", tags: ["r/b:1"], output: ["type=image,push=true"] },
        kept: { target: "c", output: ["type=docker"] },
        plain: { target: "d", output: ["type=image"] },
      }),
    );
    expect(runs.map((run) => [run.stages, run.push])).toEqual([
      [["a", "b"], true],
      [["c", "d"], false],
    ]);
  });

  it("names and pushes by an output's name= when the target has no tags, as buildx", () => {
    const runs = planBakeRuns(
      config({
        image: { target: "a", output: ["type=image,name=127.0.0.1:5000/x:t,push=true"] },
        registry: { target: "b", output: ["type=registry,name=127.0.0.1:5000/y:1"] },
        several: {
          target: "c",
          output: ['type=image,"name=127.0.0.1:5000/m:1,127.0.0.1:5000/m:2",push=true'],
        },
        // Tags win: buildx fills the exporter's name from them.
        tagged: {
          target: "d",
          tags: ["127.0.0.1:5000/d:tag"],
          output: ["type=registry,name=127.0.0.1:5000/d:name"],
        },
        kept: { target: "e", output: ["type=docker,name=local/e:1"] },
      }),
    );
    expect(runs.map((run) => [run.push, run.tagsByStage])).toEqual([
      [
        true,
        {
          a: ["127.0.0.1:5000/x:t"],
          b: ["127.0.0.1:5000/y:1"],
          c: ["127.0.0.1:5000/m:1", "127.0.0.1:5000/m:2"],
          d: ["127.0.0.1:5000/d:tag"],
        },
      ],
      [false, { e: ["local/e:1"] }],
    ]);
    expect(
      imageNamesOf({ output: ["type=local,dest=out", "type=image,name=a:1,push=false"] }),
    ).toEqual(["a:1"]);
  });

  it("refuses a push with no name and a push together with a local export, naming the key", () => {
    const refused = (target: BakeTarget): unknown => {
      try {
        planBakeRuns(config({ app: target }));
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const unnamed = refused({ output: ["type=image,push=true"] });
    expect(unnamed).toBeInstanceOf(BakeError);
    expect(String(unnamed)).toContain("tag is needed when pushing to registry");
    expect((unnamed as BakeError).key).toBe('target "app".output');
    const both = refused({ output: ["type=registry,name=r/x:1", "type=local,dest=out"] });
    expect(both).toBeInstanceOf(BakeError);
    expect((both as BakeError).key).toBe('target "app".output');
  });

  it("reads a context another target makes, in a run of its own, the read target untagged", () => {
    const runs = planBakeRuns({
      group: {},
      target: {
        app: { contexts: { base: "target:base" }, tags: ["app"] },
        base: { dockerfile: "base.Dockerfile", tags: ["base:1"] },
        worker: { tags: ["worker"] },
      },
      linked: ["base"],
    });
    expect(runs.map((run) => [run.name, run.contextsFrom, run.tagsByStage])).toEqual([
      ["app", { base: "base" }, { "": ["app"] }],
      ["base", {}, { "": [] }],
      ["worker", {}, { "": ["worker"] }],
    ]);
    expect(runs[0]?.namedContexts).toEqual({});
  });

  it("builds a dockerfile-inline, its lines the bake file's when it is a heredoc there", () => {
    const file = {
      name: "docker-bake.hcl",
      text: 'target "app" {\n  dockerfile-inline = <<EOT\nFROM scratch\nCOPY a /\nEOT\n}\n',
    };
    const inline = "FROM scratch\nCOPY a /\n";
    const [run] = planBakeRuns(config({ app: { "dockerfile-inline": inline } }), [file]);
    expect(run?.dockerfile).toBe("docker-bake.hcl");
    // COPY is on line 4 of the bake file, and on line 4 of the text sent.
    expect(run?.dockerfileInline?.split("\n")[3]).toBe("COPY a /");
    expect(run?.dockerfileInline?.trim()).toBe(inline.trim());
    // Not found verbatim (a JSON string, an indented heredoc), or led by a directive: its own lines.
    for (const text of ["FROM scratch\nRUN x\n", "# syntax=docker/dockerfile:1\nFROM scratch\n"]) {
      const [own] = planBakeRuns(config({ app: { "dockerfile-inline": text } }), [
        { name: "docker-bake.hcl", text: `x = <<EOT\n${text}EOT\n` },
        { name: "docker-bake.json", text: JSON.stringify({ text }) },
      ]);
      const expected = text.startsWith("#") ? text : `\n${text}`;
      expect(own?.dockerfile).toBe(
        text.startsWith("#") ? 'target "app" dockerfile-inline' : "docker-bake.hcl",
      );
      expect(own?.dockerfileInline).toBe(expected);
    }
  });

  it("keeps named contexts (directories, docker-image://) and refuses the others by key", () => {
    const [run] = planBakeRuns(
      config({
        app: { contexts: { assets: "assets", base: "docker-image://busybox:1" } },
      }),
    );
    expect(run?.namedContexts).toEqual({ assets: "assets", base: "docker-image://busybox:1" });
    for (const value of ["https://example.invalid/x.tar"]) {
      let caught: unknown;
      try {
        planBakeRuns(config({ app: { contexts: { dep: value } } }));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BakeError);
      expect((caught as BakeError).key).toBe('target "app".contexts.dep');
    }
  });
});

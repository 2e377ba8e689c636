import { describe, expect, it } from "vitest";
import { BakeError } from "../errors.js";
import { formatBakePrint, resolveBake } from "./resolve-bake.js";

const hcl = (text: string, targets: string[] = [], extra: Parameters<typeof resolveBake>[1] = {}) =>
  resolveBake([{ name: "docker-bake.hcl", text }], { targets, ...extra });

function thrown(fn: () => unknown): BakeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BakeError) return error;
    throw error;
  }
  throw new Error("expected a BakeError");
}

describe("resolveBake", () => {
  it("resolves the default group, inherits and bake's defaults", () => {
    const config = hcl(`
group "default" {
  targets = ["app"]
}
target "base" {
  args = { A = "1" }
  cache-from = ["type=registry,ref=x/base"]
  tags = ["base"]
}
target "app" {
  inherits = ["base"]
  args = { B = "2" }
  cache-from = ["type=registry,ref=x/app"]
  tags = ["app"]
}
`);
    expect(config.group).toEqual({ default: { targets: ["app"] } });
    expect(config.target.app).toEqual({
      args: { A: "1", B: "2" },
      "cache-from": ["type=registry,ref=x/base", "type=registry,ref=x/app"],
      tags: ["app"],
      context: ".",
      dockerfile: "Dockerfile",
    });
  });

  it("evaluates variables with typed environment overrides, functions and expressions", () => {
    const text = `
variable "TAG" {
  default = "latest"
}
variable "N" {
  default = 3
}
variable "PUSH" {
  default = false
}
function "tag" {
  params = [name]
  result = ["repo/\${name}:\${TAG}"]
}
target "a" {
  tags = tag("a")
  args = {
    N1 = N + 1
    P = PUSH ? "yes" : "no"
    J = join(",", [for p in ["amd64", "arm64"] : "linux/\${p}"])
    U = upper(TAG)
  }
}
`;
    expect(hcl(text, ["a"]).target.a?.args).toEqual({
      N1: "4",
      P: "no",
      J: "linux/amd64,linux/arm64",
      U: "LATEST",
    });
    const env = { TAG: "v1", N: "10", PUSH: "true" };
    const config = hcl(text, ["a"], { env });
    expect(config.target.a?.tags).toEqual(["repo/a:v1"]);
    expect(config.target.a?.args).toMatchObject({ N1: "11", P: "yes" });
    expect(thrown(() => hcl(text, ["a"], { env: { N: "ten" } })).message).toBe(
      'docker-bake.hcl:5: variable "N": failed to parse N as number: "ten"',
    );
  });

  it("forks a matrix target into named targets and a group", () => {
    const config = hcl(
      `
target "m" {
  name = "m-\${v}-\${w}"
  matrix = { w = ["y", "x"], v = ["2", "1"] }
  args = { V = v }
}
`,
      ["m"],
    );
    expect(config.group.m?.targets).toEqual(["m-2-y", "m-1-y", "m-2-x", "m-1-x"]);
    expect(config.target["m-1-x"]?.args).toEqual({ V: "1" });
  });

  it("applies --set, with patterns, sub-keys and +=", () => {
    const config = hcl(
      `
target "a" {
  tags = ["a"]
}
target "b" {
  tags = ["b"]
}
`,
      ["a", "b"],
      {
        overrides: [
          "*.args.X=1",
          "a.tags=a2",
          "b.tags+=b2",
          "*.no-cache=true",
          "a.platform=linux/arm64",
        ],
      },
    );
    expect(config.target.a).toMatchObject({
      args: { X: "1" },
      tags: ["a2"],
      "no-cache": true,
      platforms: ["linux/arm64"],
    });
    expect(config.target.b).toMatchObject({ args: { X: "1" }, tags: ["b", "b2"] });
    expect(
      thrown(() => hcl(`target "a" {\n}\n`, ["a"], { overrides: ["a.bogus=1"] })).message,
    ).toContain("unknown key: bogus");
  });

  it("names the file, line and key of an inherits cycle", () => {
    const error = thrown(() =>
      hcl(`target "a" {\n  inherits = ["b"]\n}\n\ntarget "b" {\n  inherits = ["a"]\n}\n`, ["a"]),
    );
    expect(error.code).toBe("BAKE_CYCLE");
    expect(error.message).toBe(
      'docker-bake.hcl:2: target "a".inherits: inherits cycle: a -> b -> a',
    );
  });

  it("resolves a target read as a context, and names the file, line and key of a cycle", () => {
    const config = hcl(
      `target "base" {\n  output = ["type=docker"]\n}\ntarget "app" {\n  contexts = { base = "target:base" }\n}\n`,
      ["app"],
    );
    expect(Object.keys(config.target)).toEqual(["app", "base"]);
    expect(config.target.base?.output).toBeUndefined();
    expect(config.linked).toEqual(["base"]);
    expect(hcl(`target "base" {\n}\n`, ["base"]).linked).toBeUndefined();
    const error = thrown(() =>
      hcl(
        `target "a" {\n  contexts = { x = "target:b" }\n}\n\ntarget "b" {\n  contexts = { y = "target:a" }\n}\n`,
        ["a"],
      ),
    );
    expect(error.code).toBe("BAKE_CYCLE");
    expect(error.message).toBe(
      'docker-bake.hcl:6: target "b".contexts.y: infinite loop from b to a (a -> b -> a)',
    );
  });

  it("names the line of the contexts key that closes a cycle, also when it is inherited", () => {
    // The key on its own line, below `contexts = {`, and an inherited one in another block.
    const spread = thrown(() =>
      hcl(
        `target "a" {\n  tags = ["a"]\n  contexts = {\n    src = "."\n    x = "target:b"\n  }\n}\n` +
          `target "common" {\n  contexts = {\n    y = "target:a"\n  }\n}\n` +
          `target "b" {\n  inherits = ["common"]\n}\n`,
        ["a"],
      ),
    );
    expect(spread.code).toBe("BAKE_CYCLE");
    expect(spread.message).toBe(
      'docker-bake.hcl:10: target "b".contexts.y: infinite loop from b to a (a -> b -> a)',
    );
    const self = thrown(() => hcl(`target "a" {\n\n  contexts = { me = "target:a" }\n}\n`, ["a"]));
    expect(self.message).toBe(
      'docker-bake.hcl:3: target "a".contexts.me: target a cannot link to itself',
    );
    // A key no file writes (--set) is named at the target's `contexts`, else at its block.
    const set = (text: string) =>
      thrown(() => hcl(text, ["a"], { overrides: ["a.contexts.me=target:a"] })).message;
    expect(set(`\ntarget "a" {\n  contexts = { y = "." }\n}\n`)).toBe(
      'docker-bake.hcl:3: target "a".contexts.me: target a cannot link to itself',
    );
    expect(set(`\ntarget "a" {\n  tags = ["a"]\n}\n`)).toBe(
      'docker-bake.hcl:2: target "a".contexts.me: target a cannot link to itself',
    );
    const compose = thrown(() =>
      resolveBake(
        [
          {
            name: "compose.yaml",
            text: [
              "services:",
              "  a:",
              "    build:",
              "      context: .",
              "      additional_contexts:",
              "        x: target:b",
              "  b:",
              "    build:",
              "      context: .",
              "      additional_contexts:",
              "        - src=.",
              "        - y=target:a",
              "",
            ].join("\n"),
          },
        ],
        { targets: ["a"] },
      ),
    );
    expect(compose.message).toBe(
      'compose.yaml:12: target "b".contexts.y: infinite loop from b to a (a -> b -> a)',
    );
  });

  it("names an unknown target, an undefined variable and an unsupported function", () => {
    const unknown = thrown(() => hcl(`target "a" {\n}\n`, ["nope"]));
    expect(unknown.code).toBe("BAKE_UNKNOWN_TARGET");
    expect(unknown.hint).toContain("a");
    const undefinedVariable = thrown(() => hcl(`target "a" {\n  tags = [NOPE]\n}\n`, ["a"]));
    expect(undefinedVariable.message).toBe('docker-bake.hcl:2: variable "NOPE" does not exist');
    const unsupported = thrown(() =>
      hcl(`target "a" {\n  tags = [formatdate("YYYY", "x")]\n}\n`, ["a"]),
    );
    expect(unsupported.code).toBe("BAKE_UNSUPPORTED");
    expect(unsupported.message).toContain(
      'function "formatdate" is not supported by stagecraft yet',
    );
    const typo = thrown(() => hcl(`target "a" {\n  tagz = ["x"]\n}\n`, ["a"]));
    expect(typo.message).toBe('docker-bake.hcl:2: target "a": unsupported argument "tagz"');
  });

  it("reads JSON bake files, whose strings are templates", () => {
    const config = resolveBake(
      [
        {
          name: "docker-bake.json",
          text: JSON.stringify({
            variable: { TAG: { default: "1" } },
            target: { a: { tags: ["x:${TAG}"], "no-cache": true } },
          }),
        },
      ],
      { targets: ["a"] },
    );
    expect(config.target.a).toEqual({
      context: ".",
      dockerfile: "Dockerfile",
      tags: ["x:1"],
      "no-cache": true,
    });
  });

  it("reads compose build sections; a service without build is skipped, naming it is an error", () => {
    const compose = {
      name: "compose.yaml",
      text: `services:
  web:
    image: example/web
    build:
      context: .
      target: web
      args:
        - A=1
      cache_from:
        - type=local,src=/tmp/c
  db:
    image: postgres
`,
    };
    const config = resolveBake([compose]);
    expect(config.group.default?.targets).toEqual(["web"]);
    expect(config.target.web).toEqual({
      context: ".",
      dockerfile: "Dockerfile",
      args: { A: "1" },
      labels: {},
      tags: ["example/web"],
      "cache-from": ["type=local,src=/tmp/c"],
      target: "web",
    });
    const error = thrown(() => resolveBake([compose], { targets: ["db"] }));
    expect(error.message).toBe('compose.yaml:11: service "db" has no build section');
  });

  it("prints in bake's --print shape: groups and targets sorted, bake's key order", () => {
    const printed = formatBakePrint(
      hcl(`target "b" {\n  tags = ["t"]\n  args = { Z = "1", A = "2" }\n}\ntarget "a" {\n}\n`, [
        "b",
        "a",
      ]),
    );
    expect(printed).toBe(`{
  "group": {
    "default": {
      "targets": [
        "b",
        "a"
      ]
    }
  },
  "target": {
    "a": {
      "context": ".",
      "dockerfile": "Dockerfile"
    },
    "b": {
      "context": ".",
      "dockerfile": "Dockerfile",
      "args": {
        "A": "2",
        "Z": "1"
      },
      "tags": [
        "t"
      ]
    }
  }
}
`);
  });
});

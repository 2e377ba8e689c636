import { describe, expect, it } from "vitest";
import { BakeError } from "../errors.js";
import { evaluateHcl } from "./evaluate-hcl.js";
import { parseHcl, parseHclExpression } from "./parse-hcl.js";

const value = (text: string, vars: Record<string, string> = {}) =>
  evaluateHcl(parseHclExpression(text, "x.hcl"), { file: "x.hcl", lookup: (name) => vars[name] });

describe("parseHcl", () => {
  it("reads blocks, labels, attributes and comments with their lines", () => {
    const body = parseHcl(
      `# a comment
// another
/* and a
   block comment */
x = 1
target "app" {
  tags = ["a", # inside
    "b",
  ]
}
`,
      "f.hcl",
    );
    expect(body.attributes.map((a) => [a.name, a.line])).toEqual([["x", 5]]);
    expect(body.blocks.map((b) => [b.type, b.labels, b.line])).toEqual([["target", ["app"], 6]]);
    expect(body.blocks[0]?.body.attributes[0]?.line).toBe(7);
  });

  it("reports a syntax error with its file and line", () => {
    let error: unknown;
    try {
      parseHcl(`target "a" {\n  tags = ["a"\n}\n`, "f.hcl");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BakeError);
    expect((error as BakeError).message).toMatch(/^f\.hcl:3: /);
  });

  it("evaluates templates, heredocs, operators, conditionals, for and splat", () => {
    expect(value(`"a-\${X}-$\${lit}"`, { X: "1" })).toBe("a-1-${lit}");
    expect(value(`<<-EOT\n    one\n      two\n    EOT\n`)).toBe("one\n  two\n");
    expect(value(`1 + 2 * 3 == 7 && !false`)).toBe(true);
    expect(value(`X == "1" ? "yes" : "no"`, { X: "1" })).toBe("yes");
    expect(value(`{ for k, v in { a = 1, b = 2 } : k => v * 10 if v > 1 }`)).toEqual({ b: 20 });
    expect(value(`[{ n = "a" }, { n = "b" }][*].n`)).toEqual(["a", "b"]);
    expect(value(`[1, [2, 3]][1][0]`)).toBe(2);
    expect(value(`try(nope.x, "fallback")`)).toBe("fallback");
    expect(value(`format("%s-%03d", "v", 7)`)).toBe("v-007");
  });
});

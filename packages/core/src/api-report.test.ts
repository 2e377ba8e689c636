// Keeps packages/core/docs/api.md, the report of everything @stagecraft/core exports, in step with
// the entry points: each change to the public surface shows up in review as a change to that file.
// Run with UPDATE_API=1 to rewrite it after changing an export on purpose.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const entryPoints = {
  "@stagecraft/core": "index.ts",
  "@stagecraft/core/errors": "errors.ts",
  "@stagecraft/core/dockerfile": "dockerfile/index.ts",
  "@stagecraft/core/progress": "progress/index.ts",
  "@stagecraft/core/report": "report/index.ts",
  "@stagecraft/core/checks": "checks/index.ts",
  "@stagecraft/core/placement": "placement/index.ts",
  "@stagecraft/core/pool": "pool/index.ts",
  "@stagecraft/core/bake": "bake/index.ts",
  "@stagecraft/core/engine": "engine/index.ts",
  "@stagecraft/core/testing": "testing/index.ts",
} as const;
const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const reportFile = fileURLToPath(new URL("../docs/api.md", import.meta.url));

/** One line per export: its kind, its name and, for values, its type as the compiler prints it. */
function describeEntryPoints(): string {
  const files = Object.values(entryPoints).map(source);
  const program = ts.createProgram(files, {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  });
  const checker = program.getTypeChecker();
  const sections: string[] = [];
  for (const [name, path] of Object.entries(entryPoints)) {
    const file = program.getSourceFile(source(path));
    if (file === undefined) throw new Error(`${path} not found`);
    const module = checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`${path} is not a module`);
    const lines = checker
      .getExportsOfModule(module)
      .map((symbol) => describeExport(checker, symbol))
      .sort();
    const values = lines.filter((line) => !line.startsWith("- type ")).length;
    sections.push(
      `## \`${name}\`\n\n${lines.length} names (${values} values, ${lines.length - values} types)\n\n${lines.join("\n")}\n`,
    );
  }
  return [
    "# The public API of @stagecraft/core",
    "",
    "Generated from the entry points by `src/api-report.test.ts` (`UPDATE_API=1` rewrites it); a",
    "change here is a change to what embedders can use. The root is the common path; the subpaths",
    "hold the parts for tools that need more.",
    "",
    ...sections,
  ].join("\n");
}

function describeExport(checker: ts.TypeChecker, exported: ts.Symbol): string {
  const symbol =
    exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const name = exported.getName();
  const flags = symbol.flags;
  if (flags & ts.SymbolFlags.Class) return `- class \`${name}\``;
  if (flags & ts.SymbolFlags.Function || flags & ts.SymbolFlags.Variable) {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (declaration === undefined) return `- value \`${name}\``;
    const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
    const text = checker
      .typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation)
      .replace(/\s+/g, " ");
    return `- ${flags & ts.SymbolFlags.Function ? "function" : "const"} \`${name}\`: \`${text}\``;
  }
  return `- type \`${name}\`${describeType(checker, symbol)}`;
}

/** A type's shape, one level deep: an object's members, or an alias's expansion. */
function describeType(checker: ts.TypeChecker, symbol: ts.Symbol): string {
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  const flags: ts.TypeFormatFlags =
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias;
  // An array (or tuple) is described by its element type, not by Array's methods, whose symbol
  // names (`__@iterator@834`) change with every other edit.
  const listLike = checker.isArrayType(type) || checker.isTupleType(type);
  const members = type.isUnion() || listLike ? [] : checker.getPropertiesOfType(type);
  if (members.length === 0 || !(type.flags & ts.TypeFlags.Object)) {
    const text = checker.typeToString(type, undefined, flags).replace(/\s+/g, " ");
    return text === symbol.getName() ? "" : `: \`${text}\``;
  }
  const declaration = symbol.declarations?.[0];
  const lines = members.map((member) => {
    const optional = member.flags & ts.SymbolFlags.Optional ? "?" : "";
    const memberType =
      declaration === undefined
        ? undefined
        : checker.getTypeOfSymbolAtLocation(member, declaration);
    const text =
      memberType === undefined
        ? "unknown"
        : checker
            .typeToString(memberType, undefined, ts.TypeFormatFlags.NoTruncation)
            .replace(/\s+/g, " ");
    return `  - \`${member.getName()}${optional}: ${text}\``;
  });
  return `\n${lines.join("\n")}`;
}

describe("the API report", () => {
  // Type-checking the entry points takes seconds; once for both tests.
  let report = "";
  beforeAll(() => {
    report = describeEntryPoints();
  }, 60_000);

  it("matches the entry points", () => {
    if (process.env.UPDATE_API === "1") writeFileSync(reportFile, report);
    expect(readFileSync(reportFile, "utf8")).toBe(report);
  });

  it("calls a size in bytes one name everywhere: sizeBytes (…SizeBytes), never size or sizeMB", () => {
    // Every member that holds a number and is named after a size.
    const sizes = [...report.matchAll(/ {2}- `(\w+)\??: (number[^`]*)`/g)]
      .map((match) => match[1] ?? "")
      .filter((name) => /size/i.test(name));
    expect(sizes.filter((name) => !/SizeBytes$|^sizeBytes$/.test(name))).toEqual([]);
    expect(sizes).toContain("sizeBytes");
  });

  it("keeps the root to the common path: about 25 names", () => {
    const root = /## `@stagecraft\/core`\n\n(\d+) names/.exec(report);
    expect(Number(root?.[1])).toBeLessThanOrEqual(26);
  });
});

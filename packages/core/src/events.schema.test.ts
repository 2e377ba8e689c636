// Keeps packages/core/docs/build-event.schema.json in step with events.ts: the JSON Schema is made
// from the TypeScript types with the compiler API and compared with the committed file.
// Run with UPDATE_SCHEMA=1 to rewrite the file after changing events.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { BUILD_EVENT_SCHEMA_VERSION } from "./events.js";

const eventsFile = fileURLToPath(new URL("events.ts", import.meta.url));
const schemaFile = fileURLToPath(new URL("../docs/build-event.schema.json", import.meta.url));

type Schema = Record<string, unknown>;

function generateSchema(): Schema {
  const program = ts.createProgram([eventsFile], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(eventsFile);
  if (source === undefined) throw new Error("events.ts not found");
  const definitions: Record<string, Schema> = {};
  const docOf = (symbol: ts.Symbol): string | undefined => {
    const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    return text === "" ? undefined : text.replace(/\s+/g, " ");
  };

  const toSchema = (type: ts.Type): Schema => {
    if (type.isUnion()) {
      const members = type.types;
      if (members.every((member) => member.isStringLiteral())) {
        return { enum: members.map((member) => member.value) };
      }
      const booleans = members.filter((member) => member.flags & ts.TypeFlags.BooleanLiteral);
      const rest = members.filter((member) => !(member.flags & ts.TypeFlags.BooleanLiteral));
      const parts = [
        ...(booleans.length === 2 ? [{ type: "boolean" }] : booleans.map(toSchema)),
        ...rest.map(toSchema),
      ];
      return { anyOf: parts };
    }
    if (type.flags & ts.TypeFlags.String) return { type: "string" };
    if (type.flags & ts.TypeFlags.Number) return { type: "number" };
    if (type.flags & ts.TypeFlags.Boolean) return { type: "boolean" };
    if (type.flags & ts.TypeFlags.Null) return { type: "null" };
    if (type.isStringLiteral()) return { const: type.value };
    if (type.isNumberLiteral()) return { const: type.value };
    if (type.flags & ts.TypeFlags.BooleanLiteral)
      return { const: checker.typeToString(type) === "true" };
    if (checker.isArrayType(type)) {
      const [item] = checker.getTypeArguments(type as ts.TypeReference);
      if (item === undefined) throw new Error("array without item type");
      return { type: "array", items: toSchema(item) };
    }
    // A map (`Record<string, T>`): any key, every value a T.
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (index !== undefined && checker.getPropertiesOfType(type).length === 0) {
      return { type: "object", additionalProperties: toSchema(index.type) };
    }
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const name = symbol?.getName();
    if (name !== undefined && name !== "__type" && name !== "__object") {
      if (!(name in definitions)) {
        definitions[name] = {};
        definitions[name] = objectSchema(type, symbol);
      }
      return { $ref: `#/$defs/${name}` };
    }
    return objectSchema(type, symbol);
  };

  const objectSchema = (type: ts.Type, symbol: ts.Symbol | undefined): Schema => {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (declaration === undefined) continue;
      let propertyType = checker.getTypeOfSymbolAtLocation(property, declaration);
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional) propertyType = checker.getNonNullableType(propertyType);
      const schema = toSchema(propertyType);
      const description = docOf(property);
      properties[property.getName()] =
        description === undefined ? schema : { description, ...schema };
      if (!optional) required.push(property.getName());
    }
    const description = symbol === undefined ? undefined : docOf(symbol);
    return {
      ...(description === undefined ? {} : { description }),
      type: "object",
      properties,
      required,
      additionalProperties: false,
    };
  };

  const union = source.statements.find(
    (statement): statement is ts.TypeAliasDeclaration =>
      ts.isTypeAliasDeclaration(statement) && statement.name.text === "BuildEvent",
  );
  if (union === undefined) throw new Error("BuildEvent not found");
  const unionType = checker.getTypeAtLocation(union.name);
  if (!unionType.isUnion()) throw new Error("BuildEvent is not a union");
  const oneOf = unionType.types.map(toSchema);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `urn:stagecraft:build-event:v${BUILD_EVENT_SCHEMA_VERSION}`,
    title: "stagecraft BuildEvent",
    description:
      "One event of a stagecraft build run, as `onEvent` receives it and as `stagecraft build --progress json` prints it (one per line). Discriminated by `type`.",
    version: BUILD_EVENT_SCHEMA_VERSION,
    oneOf,
    $defs: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))),
  };
}

describe("the BuildEvent JSON Schema", () => {
  // Type-checking events.ts takes seconds, more on a loaded machine.
  it("matches events.ts", { timeout: 60_000 }, () => {
    const generated = `${JSON.stringify(generateSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaFile, generated);
    expect(readFileSync(schemaFile, "utf8")).toBe(generated);
  });

  it("describes every member of the union with its type tag", () => {
    const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as {
      oneOf: { $ref: string }[];
      $defs: Record<string, { properties: { type?: { const?: string } } }>;
    };
    const tags = schema.oneOf.map(
      (member) => schema.$defs[member.$ref.replace("#/$defs/", "")]?.properties.type?.const,
    );
    expect(tags).toContain("run-started");
    expect(tags).toContain("step-cached");
    expect(new Set(tags).size).toBe(26);
  });

  it("is the set of kinds docs/events.md lists, no more, no fewer", () => {
    const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as {
      oneOf: { $ref: string }[];
      $defs: Record<string, { properties: { type?: { const?: string } } }>;
    };
    const tags = schema.oneOf.map(
      (member) => schema.$defs[member.$ref.replace("#/$defs/", "")]?.properties.type?.const,
    );
    const doc = readFileSync(fileURLToPath(new URL("../docs/events.md", import.meta.url)), "utf8");
    const table = doc.slice(doc.indexOf("## The kinds"), doc.indexOf("## Order and attribution"));
    // The first cell of each row of the table: one kind, or several joined by " / ".
    const listed = table
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([a-z-]+)`/g)].map((m) => m[1]));
    expect([...listed].sort()).toEqual([...tags].sort());
  });
});

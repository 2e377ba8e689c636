import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "@stagecraft/core";
import { parseEngineFlag, parseRegistry, readPoolFlags } from "./read-pool-flags.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-pool-"));
  dirs.push(dir);
  return dir;
};

describe("parseEngineFlag", () => {
  it("reads NAME=ADDRESS with an optional capacity, addresses and context names", () => {
    expect(parseEngineFlag("pool1=unix:///run/p1.sock,capacity=2", "--engine")).toEqual({
      name: "pool1",
      address: "unix:///run/p1.sock",
      addressKind: "host",
      capacity: 2,
    });
    expect(parseEngineFlag("b=tcp://127.0.0.1:2375", "--engine")).toMatchObject({
      addressKind: "host",
      capacity: 1,
    });
    expect(parseEngineFlag("c=my-context", "--engine")).toMatchObject({
      address: "my-context",
      addressKind: "context",
    });
  });

  it("refuses bad syntax, naming the flag", () => {
    expect(() => parseEngineFlag("unix:///x.sock", "--engine")).toThrow(
      '--engine "unix:///x.sock" is not NAME=ADDRESS',
    );
    expect(() => parseEngineFlag("a=unix:///x,capacity=0", "--engine")).toThrow(
      "capacity must be a whole number of at least 1",
    );
    expect(() => parseEngineFlag("a=unix:///x,cpus=2", "--engine")).toThrow(
      'unknown option "cpus=2"',
    );
    expect(() => parseEngineFlag("a=foo://x", "--engine")).toThrow(
      "is neither an engine address nor a docker context name",
    );
    expect(() => parseEngineFlag("a b=unix:///x", "--engine")).toThrow("is not an engine name");
  });
});

describe("parseRegistry", () => {
  it("splits HOST[:PORT]/PREFIX", () => {
    expect(parseRegistry("127.0.0.1:5000/sc", "--registry")).toEqual({
      host: "127.0.0.1:5000",
      prefix: "sc",
      reference: "127.0.0.1:5000/sc",
    });
    expect(parseRegistry("localhost:5000/a/b/", "--registry").prefix).toBe("a/b");
  });
  it("refuses a registry without a prefix, or an upper-case prefix", () => {
    expect(() => parseRegistry("127.0.0.1:5000", "--registry")).toThrow(
      '--registry "127.0.0.1:5000" is not HOST[:PORT]/PREFIX',
    );
    expect(() => parseRegistry("127.0.0.1:5000/SC", "--registry")).toThrow(UsageError);
    expect(() => parseRegistry("sc/images", "--registry")).toThrow(UsageError);
  });
});

describe("readPoolFlags", () => {
  it("is undefined without a pool: the one default engine, no registry needed", () => {
    expect(readPoolFlags({}, {}, tempDir(), ".")).toBeUndefined();
  });

  it("takes --engine over STAGECRAFT_ENGINES over the file", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".stagecraft"));
    writeFileSync(
      join(dir, ".stagecraft", "engines.json"),
      JSON.stringify({ engines: [{ name: "f", address: "unix:///f.sock" }] }),
    );
    const env = { STAGECRAFT_ENGINES: "e1=unix:///1.sock; e2=ctx,capacity=3" };
    const flags = { engine: ["a=unix:///a.sock"], registry: "127.0.0.1:5000/sc" };
    expect(readPoolFlags(flags, env, dir, ".")?.engines.map((engine) => engine.name)).toEqual([
      "a",
    ]);
    const fromEnv = readPoolFlags({ registry: "127.0.0.1:5000/sc" }, env, dir, ".");
    expect(fromEnv?.source).toBe("STAGECRAFT_ENGINES");
    expect(fromEnv?.engines.map((engine) => [engine.name, engine.capacity])).toEqual([
      ["e1", 1],
      ["e2", 3],
    ]);
    const fromFile = readPoolFlags({}, {}, dir, ".");
    expect(fromFile?.engines).toEqual([
      { name: "f", address: "unix:///f.sock", addressKind: "host", capacity: 1 },
    ]);
    expect(fromFile?.registry).toBeUndefined();
  });

  it("reads --engines-file with its registry; STAGECRAFT_REGISTRY and --registry override it", () => {
    const dir = tempDir();
    const file = join(dir, "pool.json");
    writeFileSync(
      file,
      JSON.stringify({
        engines: [
          { name: "a", address: "unix:///a.sock", capacity: 2 },
          { name: "b", address: "unix:///b.sock" },
        ],
        registry: "127.0.0.1:5000/file",
      }),
    );
    expect(readPoolFlags({ "engines-file": file }, {}, dir, ".")?.registry?.prefix).toBe("file");
    expect(
      readPoolFlags(
        { "engines-file": file },
        { STAGECRAFT_REGISTRY: "127.0.0.1:5000/env" },
        dir,
        ".",
      )?.registry?.prefix,
    ).toBe("env");
  });

  it("refuses a name given twice, a pool of several without a registry, a bad file", () => {
    const dir = tempDir();
    expect(() =>
      readPoolFlags(
        { engine: ["a=unix:///1.sock", "a=unix:///2.sock"], registry: "127.0.0.1:5000/sc" },
        {},
        dir,
        ".",
      ),
    ).toThrow('--engine: engine "a" is named twice');
    expect(() =>
      readPoolFlags({ engine: ["a=unix:///1.sock", "b=unix:///2.sock"] }, {}, dir, "."),
    ).toThrow("a pool of 2 engines needs a registry");
    writeFileSync(join(dir, "bad.json"), "{");
    expect(() => readPoolFlags({ "engines-file": "bad.json" }, {}, dir, ".")).toThrow(
      "--engines-file bad.json: cannot read the pool",
    );
    writeFileSync(join(dir, "empty.json"), '{"engines":[]}');
    expect(() => readPoolFlags({ "engines-file": "empty.json" }, {}, dir, ".")).toThrow(
      '"engines" must be a list of at least one engine',
    );
    expect(() => readPoolFlags({ registry: "nope" }, {}, dir, ".")).toThrow(
      '--registry "nope" is not HOST[:PORT]/PREFIX',
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DockerEngine } from "@stagecraft/core";
import { BuildkitEngine } from "@stagecraft/core/engine";
import { createEngine, parseEngineAddress } from "./engine-address.js";
import { parseEngineFlag, readPoolFlags, readSingleEngine } from "./read-pool-flags.js";

const dir = mkdtempSync(join(tmpdir(), "stagecraft-engine-address-"));
writeFileSync(join(dir, "ca.pem"), "CA");
writeFileSync(join(dir, "cert.pem"), "CERT");
writeFileSync(join(dir, "key.pem"), "KEY");
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("parseEngineAddress", () => {
  it("reads a buildkitd's address with its TLS files, relative to the directory", () => {
    expect(
      parseEngineAddress(
        "buildkit+tcp://127.0.0.1:1234,cacert=ca.pem,cert=cert.pem,key=key.pem",
        "--engine",
        dir,
      ),
    ).toEqual({
      kind: "buildkit",
      address: "buildkit+tcp://127.0.0.1:1234",
      tls: { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") },
    });
    expect(parseEngineAddress("buildkit+unix:///run/buildkit/buildkitd.sock", "--engine")).toEqual({
      kind: "buildkit",
      address: "buildkit+unix:///run/buildkit/buildkitd.sock",
      tls: undefined,
    });
    expect(parseEngineAddress("unix:///var/run/docker.sock", "--engine")).toEqual({
      kind: "host",
      address: "unix:///var/run/docker.sock",
    });
  });

  it("refuses a bad scheme, a missing port and a missing TLS file, naming the flag", () => {
    expect(() => parseEngineAddress("buildkit+ssh://me@host", '--engine "x"')).toThrow(
      '--engine "x": "buildkit+ssh://me@host" is not a BuildKit address',
    );
    expect(() => parseEngineAddress("docker-container://bk", '--engine "x"')).toThrow(
      '--engine "x": "docker-container://bk" is not an engine address',
    );
    expect(() => parseEngineAddress("buildkit+tcp://127.0.0.1", '--engine "x"')).toThrow(
      '--engine "x": BuildKit address "buildkit+tcp://127.0.0.1" names no port',
    );
    expect(() =>
      parseEngineAddress("buildkit+tcp://127.0.0.1:1234,cacert=nope.pem", '--engine "x"', dir),
    ).toThrow(
      `--engine "x": cacert=nope.pem names no file (${join(dir, "nope.pem")} does not exist)`,
    );
    expect(() =>
      parseEngineAddress("buildkit+tcp://127.0.0.1:1234,cert=cert.pem", '--engine "x"', dir),
    ).toThrow('--engine "x": cert= needs key= too');
    expect(() =>
      parseEngineAddress("buildkit+unix:///x.sock,cacert=ca.pem", '--engine "x"', dir),
    ).toThrow('--engine "x": cacert= applies to buildkit+tcp:// addresses only');
    expect(() =>
      parseEngineAddress("tcp://127.0.0.1:2376,cacert=ca.pem", '--engine "x"', dir),
    ).toThrow("cacert= applies to buildkit+tcp:// addresses only");
    expect(() =>
      parseEngineAddress("buildkit+tcp://127.0.0.1:1234,servername=a", '--engine "x"'),
    ).toThrow('--engine "x": unknown option "servername=a"');
  });

  it("makes a BuildkitEngine for a buildkitd and a DockerEngine for DOCKER_HOST's addresses", () => {
    const buildkit = createEngine(parseEngineAddress("buildkit+unix:///x.sock", "--engine"), {});
    if (!(buildkit instanceof BuildkitEngine)) throw new Error("not a BuildkitEngine");
    expect(buildkit.buildPath).toBe("control");
    expect(buildkit.endpoint.description).toBe("buildkit+unix:///x.sock");
    expect(createEngine({ kind: "host", address: "unix:///x.sock" }, {})).toBeInstanceOf(
      DockerEngine,
    );
  });
});

describe("a buildkitd in a pool and as the one engine", () => {
  it("takes a pool member NAME=buildkit+tcp://… with capacity and TLS options", () => {
    expect(
      parseEngineFlag(
        "bk=buildkit+tcp://127.0.0.1:1234,capacity=2,cacert=ca.pem,cert=cert.pem,key=key.pem",
        "--engine",
        dir,
      ),
    ).toEqual({
      name: "bk",
      address: "buildkit+tcp://127.0.0.1:1234",
      addressKind: "buildkit",
      tls: { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") },
      capacity: 2,
    });
    expect(() => parseEngineFlag("bk=buildkit+tcp://127.0.0.1", "--engine")).toThrow(
      '--engine "bk=buildkit+tcp://127.0.0.1": BuildKit address "buildkit+tcp://127.0.0.1" names no port',
    );
    expect(() =>
      parseEngineFlag("bk=buildkit+tcp://127.0.0.1:1,key=missing.pem", "STAGECRAFT_ENGINES", dir),
    ).toThrow(
      'STAGECRAFT_ENGINES "bk=buildkit+tcp://127.0.0.1:1,key=missing.pem": key=missing.pem names no file',
    );
    expect(() => parseEngineFlag("a=unix:///x,cacert=ca.pem", "--engine", dir)).toThrow(
      "cacert= applies to buildkit+tcp:// addresses only",
    );
  });

  it("reads TLS files of the engines file relative to the file", () => {
    const file = join(dir, "engines.json");
    writeFileSync(
      file,
      JSON.stringify({
        engines: [{ name: "bk", address: "buildkit+tcp://127.0.0.1:1234", cacert: "ca.pem" }],
      }),
    );
    const pool = readPoolFlags({ "engines-file": file }, {}, "/", ".");
    expect(pool?.engines[0]).toMatchObject({
      addressKind: "buildkit",
      tls: { ca: join(dir, "ca.pem") },
    });
    writeFileSync(
      file,
      JSON.stringify({
        engines: [{ name: "bk", address: "buildkit+tcp://127.0.0.1:1234", cacert: "gone.pem" }],
      }),
    );
    expect(() => readPoolFlags({ "engines-file": file }, {}, "/", ".")).toThrow(
      `--engines-file ${file}: engines[0] cacert: cacert=gone.pem names no file`,
    );
  });

  it("reads a lone --engine ADDRESS or STAGECRAFT_ENGINES=ADDRESS as the one engine, not a pool", () => {
    const values = { engine: ["buildkit+unix:///run/bk.sock"] };
    expect(readSingleEngine(values, {}, dir)).toEqual({
      kind: "buildkit",
      address: "buildkit+unix:///run/bk.sock",
      tls: undefined,
    });
    expect(readPoolFlags(values, {}, dir, ".")).toBeUndefined();
    expect(
      readSingleEngine({}, { STAGECRAFT_ENGINES: "buildkit+tcp://127.0.0.1:1234" }, dir),
    ).toMatchObject({ kind: "buildkit" });
    expect(readSingleEngine({ engine: ["a=unix:///a.sock"] }, {}, dir)).toBeUndefined();
    expect(() =>
      readSingleEngine({ engine: ["buildkit+unix:///bk.sock", "a=unix:///a.sock"] }, {}, dir),
    ).toThrow('--engine: "buildkit+unix:///bk.sock" names one engine to build on');
  });
});

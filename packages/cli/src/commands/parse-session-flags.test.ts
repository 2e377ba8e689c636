import { describe, expect, it } from "vitest";
import { UsageError } from "@stagecraft/core";
import {
  parseOutputFlag,
  parseSecretFlag,
  parseSshFlag,
  resolveSecretSource,
} from "./parse-session-flags.js";

describe("parseSecretFlag", () => {
  it("reads id, src/source, env and type as buildx does", () => {
    expect(parseSecretFlag("id=token,src=./t.txt")).toEqual({ id: "token", file: "./t.txt" });
    expect(parseSecretFlag("ID=token,Source=t")).toEqual({ id: "token", file: "t" });
    expect(parseSecretFlag("id=token,env=TOKEN")).toEqual({ id: "token", env: "TOKEN" });
    expect(parseSecretFlag("type=env,id=token,src=TOKEN")).toEqual({ id: "token", env: "TOKEN" });
    expect(parseSecretFlag("type=file,id=token,src=t")).toEqual({ id: "token", file: "t" });
    expect(parseSecretFlag('id=token,"src=my, file"')).toEqual({ id: "token", file: "my, file" });
    expect(parseSecretFlag("id=token")).toEqual({ id: "token" });
  });

  it("rejects bad syntax with a usage error", () => {
    expect(() => parseSecretFlag("token")).toThrow(
      '--secret token: "token" is not a key=value pair',
    );
    expect(() => parseSecretFlag("id=t,type=vault")).toThrow('unsupported secret type "vault"');
    expect(() => parseSecretFlag("id=t,path=x")).toThrow('unexpected key "path"');
    expect(() => parseSecretFlag("src=x")).toThrow("the secret has no id");
    expect(() => parseSecretFlag('id=t,"src=x')).toThrow(UsageError);
  });
});

describe("resolveSecretSource", () => {
  it("prefers env, then src, then the env var named like the id, then the file named like it", () => {
    expect(resolveSecretSource({ id: "a", env: "E", file: "f" }, {})).toEqual({
      kind: "env",
      name: "E",
    });
    expect(resolveSecretSource({ id: "a", file: "f" }, { a: "1" })).toEqual({
      kind: "file",
      path: "f",
    });
    expect(resolveSecretSource({ id: "a" }, { a: "" })).toEqual({ kind: "env", name: "a" });
    expect(resolveSecretSource({ id: "a" }, {})).toEqual({ kind: "file", path: "a" });
  });
});

describe("parseSshFlag", () => {
  it("reads ID and ID=PATH[,PATH]", () => {
    expect(parseSshFlag("default")).toEqual({ id: "default", paths: [] });
    expect(parseSshFlag("deploy=/tmp/a.sock")).toEqual({ id: "deploy", paths: ["/tmp/a.sock"] });
    expect(parseSshFlag("k=/a,/b")).toEqual({ id: "k", paths: ["/a", "/b"] });
    expect(() => parseSshFlag("=/a")).toThrow(UsageError);
    expect(() => parseSshFlag("k=")).toThrow("an empty path");
  });
});

describe("parseOutputFlag", () => {
  it("reads type/dest and the bare forms", () => {
    expect(parseOutputFlag("type=tar,dest=out.tar")).toEqual({ type: "tar", dest: "out.tar" });
    expect(parseOutputFlag("-")).toEqual({ type: "tar", dest: "-" });
    expect(parseOutputFlag("./out")).toEqual({ type: "local", dest: "./out" });
    expect(() => parseOutputFlag("dest=x")).toThrow("the output has no type");
    expect(() => parseOutputFlag("type=tar,compression=gzip")).toThrow('the key "compression"');
  });
});

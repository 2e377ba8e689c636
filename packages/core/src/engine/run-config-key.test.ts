import { describe, expect, it } from "vitest";
import { runConfigKey } from "./run-config-key.js";

describe("runConfigKey", () => {
  it("reads inspect's Config and the config blob's config alike: empty fields are left out", () => {
    const inspected = {
      Hostname: "",
      User: "",
      Env: ["PATH=/bin"],
      Cmd: ["sh"],
      WorkingDir: "",
      Entrypoint: null,
      OnBuild: null,
      Labels: null,
      Volumes: {},
    };
    const blob = { Env: ["PATH=/bin"], Cmd: ["sh"] };
    expect(runConfigKey(inspected)).toBe(runConfigKey(blob));
  });

  it("tells apart what a build FROM the image would inherit", () => {
    const base = { Env: ["PATH=/bin"], Cmd: ["sh"] };
    expect(runConfigKey({ ...base, User: "app" })).not.toBe(runConfigKey(base));
    expect(runConfigKey({ ...base, OnBuild: ["RUN x"] })).not.toBe(runConfigKey(base));
    expect(runConfigKey({ ...base, Env: ["PATH=/usr/bin"] })).not.toBe(runConfigKey(base));
    expect(runConfigKey({ ...base, Labels: { b: "2", a: "1" } })).toBe(
      runConfigKey({ ...base, Labels: { a: "1", b: "2" } }),
    );
  });
});

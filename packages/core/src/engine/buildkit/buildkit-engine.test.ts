import { describe, expect, it } from "vitest";
import { parseBuildkitAddress } from "./buildkit-engine.js";
import { describeBuildkitAddress } from "./control-client.js";

describe("parseBuildkitAddress", () => {
  it("reads tcp and unix addresses", () => {
    expect(parseBuildkitAddress("tcp://127.0.0.1:1234")).toEqual({
      kind: "tcp",
      host: "127.0.0.1",
      port: 1234,
    });
    expect(parseBuildkitAddress("tcp://[::1]:99")).toMatchObject({ host: "::1", port: 99 });
    expect(parseBuildkitAddress("unix:///run/buildkit/buildkitd.sock")).toEqual({
      kind: "unix",
      socketPath: "/run/buildkit/buildkitd.sock",
    });
    expect(describeBuildkitAddress(parseBuildkitAddress("unix:///x.sock"))).toBe("unix:///x.sock");
  });

  it("refuses other schemes and a tcp address without a port", () => {
    expect(() => parseBuildkitAddress("tcp://127.0.0.1")).toThrow(/not a BuildKit address/);
    expect(() => parseBuildkitAddress("docker-container://buildkitd")).toThrow(
      /is not a BuildKit address/,
    );
    expect(() => parseBuildkitAddress("unix://")).toThrow(/names no socket/);
  });
});

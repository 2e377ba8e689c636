import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { buildQuery } from "./build-query.js";

const base = { context: () => Readable.from([]), dockerfile: "sub/Dockerfile", buildId: "b-1" };

describe("buildQuery", () => {
  it("asks for BuildKit and names the Dockerfile and the build id", () => {
    expect(buildQuery(base)).toEqual({
      version: "2",
      dockerfile: "sub/Dockerfile",
      buildid: "b-1",
    });
  });

  it("maps every option to moby's parameter, in the form moby reads it", () => {
    expect(
      buildQuery({
        ...base,
        target: "app",
        tags: ["a:1", "b:2"],
        buildArgs: { A: "1" },
        labels: { team: "x" },
        platform: "linux/amd64",
        noCache: true,
        pull: true,
        network: "none",
        extraHosts: ["db:127.0.0.1"],
        cacheFrom: [{ type: "registry", attrs: { ref: "me/app:cache" } }],
      }),
    ).toEqual({
      version: "2",
      dockerfile: "sub/Dockerfile",
      buildid: "b-1",
      target: "app",
      t: ["a:1", "b:2"],
      buildargs: { A: "1" },
      labels: { team: "x" },
      platform: "linux/amd64",
      nocache: "1",
      pull: "1",
      networkmode: "none",
      extrahosts: ["db:127.0.0.1"],
      cachefrom: '["me/app:cache"]',
    });
  });

  it("leaves out the defaults", () => {
    expect(
      buildQuery({ ...base, network: "default", tags: [], buildArgs: {}, noCache: false }),
    ).toEqual({
      version: "2",
      dockerfile: "sub/Dockerfile",
      buildid: "b-1",
    });
  });
});

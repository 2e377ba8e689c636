import { describe, expect, it } from "vitest";
import type { DockerConfig } from "../docker-config.js";
import { createLoginResolver } from "./create-login-resolver.js";

const config = (extra: Partial<DockerConfig>): DockerConfig => ({
  dir: "/x",
  currentContext: undefined,
  credentials: {},
  credsStore: undefined,
  credHelpers: {},
  ...extra,
});

describe("createLoginResolver", () => {
  it("answers from auths, a helper by host, and Docker Hub for the host BuildKit asks by", async () => {
    const asked: string[] = [];
    const resolve = createLoginResolver(
      () =>
        config({
          credentials: { "127.0.0.1:5001": { username: "u", secret: "p" } },
          credHelpers: { "ghcr.io": "gh", "docker.io": "hub" },
        }),
      (helper, host) => {
        asked.push(`${helper} ${host}`);
        return Promise.resolve(JSON.stringify({ Username: `${helper}-user`, Secret: "s" }));
      },
    );
    expect(await resolve("127.0.0.1:5001")).toEqual({ username: "u", secret: "p" });
    expect(await resolve("ghcr.io")).toEqual({ username: "gh-user", secret: "s" });
    expect(await resolve("registry-1.docker.io")).toEqual({ username: "hub-user", secret: "s" });
    expect(asked).toEqual(["gh ghcr.io", "hub https://index.docker.io/v1/"]);
    expect(await resolve("quay.io")).toBeUndefined();
  });

  it("sends an identity token as the secret with no user name, as buildx does", async () => {
    const resolve = createLoginResolver(
      () => config({ credsStore: "desktop" }),
      () => Promise.resolve(JSON.stringify({ Username: "<token>", Secret: "refresh-me" })),
    );
    expect(await resolve("myregistry.example")).toEqual({ username: "", secret: "refresh-me" });
  });

  it("reads the config only when the daemon first asks", async () => {
    let reads = 0;
    const resolve = createLoginResolver(() => {
      reads += 1;
      return config({});
    });
    expect(reads).toBe(0);
    await resolve("127.0.0.1:5000");
    expect(reads).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import type { DockerConfig } from "./docker-config.js";
import { encodeRegistryLogin, registryOfReference, resolveRegistryLogin } from "./registry-auth.js";

const config = (extra: Partial<DockerConfig>): DockerConfig => ({
  dir: "/x",
  currentContext: undefined,
  credentials: {},
  credsStore: undefined,
  credHelpers: {},
  ...extra,
});

describe("registryOfReference", () => {
  it("reads the host as docker does", () => {
    expect(registryOfReference("127.0.0.1:5000/a/b:1")).toBe("127.0.0.1:5000");
    expect(registryOfReference("ghcr.io/me/app")).toBe("ghcr.io");
    expect(registryOfReference("localhost/app")).toBe("localhost");
    expect(registryOfReference("me/app:1")).toBe("docker.io");
    expect(registryOfReference("app")).toBe("docker.io");
  });
});

describe("resolveRegistryLogin", () => {
  const auths = { "127.0.0.1:5001": { username: "u", secret: "file" } };

  it("asks the host's credHelper first, then credsStore, then auths", async () => {
    const asked: string[] = [];
    const helper = (name: string, host: string): Promise<string> => {
      asked.push(`${name} ${host}`);
      return Promise.resolve(JSON.stringify({ ServerURL: host, Username: "h", Secret: name }));
    };
    const viaHelper = await resolveRegistryLogin(
      "127.0.0.1:5001",
      config({ credentials: auths, credsStore: "store", credHelpers: { "127.0.0.1:5001": "one" } }),
      helper,
    );
    expect(viaHelper).toEqual({
      login: { username: "h", password: "one", serveraddress: "127.0.0.1:5001" },
      source: "helper:one",
    });
    const viaStore = await resolveRegistryLogin("ghcr.io", config({ credsStore: "store" }), helper);
    expect(viaStore.source).toBe("helper:store");
    expect(asked).toEqual(["one 127.0.0.1:5001", "store ghcr.io"]);
    const hub = await resolveRegistryLogin("docker.io", config({ credsStore: "store" }), helper);
    expect(hub.login.serveraddress).toBe("https://index.docker.io/v1/");
  });

  it("falls back to auths when the helper has nothing, then to anonymous", async () => {
    const missing = (): Promise<string> => Promise.reject(new Error("credentials not found"));
    expect(
      await resolveRegistryLogin(
        "127.0.0.1:5001",
        config({ credentials: auths, credsStore: "s" }),
        missing,
      ),
    ).toEqual({
      login: { username: "u", password: "file", serveraddress: "127.0.0.1:5001" },
      source: "auths",
    });
    expect(await resolveRegistryLogin("127.0.0.1:5000", config({}), missing)).toEqual({
      login: { serveraddress: "127.0.0.1:5000" },
      source: "none",
    });
  });

  it("turns a helper's <token> answer into an identity token", async () => {
    const token = (): Promise<string> =>
      Promise.resolve(JSON.stringify({ Username: "<token>", Secret: "t0k" }));
    const { login } = await resolveRegistryLogin("r.io", config({ credsStore: "s" }), token);
    expect(login).toEqual({ identitytoken: "t0k", serveraddress: "r.io" });
  });
});

describe("encodeRegistryLogin", () => {
  it("is JSON in URL-safe base64 with padding, as Go's base64.URLEncoding", () => {
    const encoded = encodeRegistryLogin({ username: "u", password: "p?>", serveraddress: "r" });
    expect(encoded).not.toMatch(/[+/]/);
    expect(encoded).toMatch(/=$/);
    expect(JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"))).toEqual({
      username: "u",
      password: "p?>",
      serveraddress: "r",
    });
  });
});

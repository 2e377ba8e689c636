import { afterEach, describe, expect, it } from "vitest";
import { FakeRegistry } from "./fake-registry.test-support.js";
import { readRegistryImage } from "./read-registry-image.js";

const LAYERS = [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`];
let registry: FakeRegistry | undefined;

afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

describe("readRegistryImage", () => {
  it("reads the tag's digest, its config digest and diff IDs", async () => {
    registry = await FakeRegistry.start();
    const stored = registry.putImage("stagecraft-bases/library/debian", "12", { diffIds: LAYERS });
    const image = await readRegistryImage(`${registry.host}/stagecraft-bases/library/debian:12`);
    expect(image).toEqual({
      digest: stored.manifestDigest,
      configDigest: stored.configDigest,
      diffIds: LAYERS,
      runConfig: "{}",
    });
  });

  it("keeps the index's digest and follows the entry for the platform", async () => {
    registry = await FakeRegistry.start();
    const stored = registry.putImage("bases/app", "1", {
      diffIds: LAYERS,
      platform: { os: "linux", architecture: "amd64" },
    });
    expect(stored.digest).not.toBe(stored.manifestDigest);
    const image = await readRegistryImage(`${registry.host}/bases/app:1`, {
      platform: { os: "linux", architecture: "amd64", variant: "" },
    });
    expect(image).toEqual({
      digest: stored.digest,
      configDigest: stored.configDigest,
      diffIds: LAYERS,
      runConfig: "{}",
    });
    // No entry for another platform: nothing to compare.
    expect(
      await readRegistryImage(`${registry.host}/bases/app:1`, {
        platform: { os: "linux", architecture: "arm64" },
      }),
    ).toBeUndefined();
  });

  it("is undefined for a tag the registry does not have", async () => {
    registry = await FakeRegistry.start();
    expect(await readRegistryImage(`${registry.host}/bases/none:1`)).toBeUndefined();
  });

  it("answers a Basic challenge with the login", async () => {
    registry = await FakeRegistry.start({ kind: "basic", username: "ci", password: "s3cret" });
    const stored = registry.putImage("bases/app", "1", { diffIds: LAYERS });
    const login = { username: "ci", password: "s3cret", serveraddress: registry.host };
    const image = await readRegistryImage(`${registry.host}/bases/app:1`, { login });
    expect(image?.configDigest).toBe(stored.configDigest);
    // The challenge is answered once; later requests send the login straight away.
    expect(registry.requests.map((request) => request.authorization !== undefined)).toEqual([
      false,
      true,
      true,
    ]);
    await expect(
      readRegistryImage(`${registry.host}/bases/app:1`, {
        login: { ...login, password: "wrong" },
      }),
    ).rejects.toThrow(/401/);
    await expect(readRegistryImage(`${registry.host}/bases/app:1`)).rejects.toThrow(/login/);
  });

  it("gets a Bearer token from the realm with the login", async () => {
    registry = await FakeRegistry.start({ kind: "bearer", username: "ci", password: "s3cret" });
    const stored = registry.putImage("bases/app", "1", { diffIds: LAYERS });
    const image = await readRegistryImage(`${registry.host}/bases/app:1`, {
      login: { username: "ci", password: "s3cret", serveraddress: registry.host },
    });
    expect(image?.digest).toBe(stored.digest);
    const token = registry.requests.find((request) => request.url.startsWith("/token"));
    expect(token?.url).toBe("/token?service=fake&scope=repository%3Abases%2Fapp%3Apull");
  });
});

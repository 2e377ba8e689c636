import { createServer, type AddressInfo, type Server as NetServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../logger.js";
import { createSessionServer, type SessionServerOptions } from "./create-session-server.js";

// The Auth service's messages as BuildKit's `session/auth/auth.proto` declares them, written and read
// by hand here so that a wrong field number in the session's own schema fails the test:
// CredentialsRequest { string Host = 1 }, CredentialsResponse { string Username = 1; string Secret = 2 },
// GetTokenAuthorityRequest { string Host = 1; bytes Salt = 2 }.

function stringField(field: number, value: string | Uint8Array): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  // Every value here is shorter than 128 bytes: its length is one varint byte.
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

function readStringFields(bytes: Buffer): Record<number, string> {
  const fields: Record<number, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const key = bytes[at] ?? 0;
    const length = bytes[at + 1] ?? 0;
    fields[key >> 3] = bytes.subarray(at + 2, at + 2 + length).toString("utf8");
    at += 2 + length;
  }
  return fields;
}

let listening: NetServer | undefined;
let client: grpc.Client | undefined;

afterEach(() => {
  client?.close();
  listening?.close();
});

/** Serves a session server's services on 127.0.0.1, one injected connection per client. */
async function serve(options: SessionServerOptions): Promise<grpc.Client> {
  const session = createSessionServer(options, silentLogger);
  listening = createServer((socket) => {
    session.serve(socket);
  });
  await new Promise<void>((resolve) => listening?.listen(0, "127.0.0.1", resolve));
  const { port } = listening.address() as AddressInfo;
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return client;
}

function call(on: grpc.Client, method: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    on.makeUnaryRequest(
      method,
      (value: Buffer) => value,
      (value: Buffer) => value,
      body,
      (error, answer) => {
        if (error !== null || answer === undefined) reject(error ?? new Error("no answer"));
        else resolve(answer);
      },
    );
  });
}

describe("the session's Auth service", () => {
  it("answers Credentials for the host BuildKit names, from the resolver before the fixed logins", async () => {
    const asked: string[] = [];
    const on = await serve({
      credentials: { "ghcr.io": { username: "fixed", secret: "f" } },
      resolveCredentials: (host) => {
        asked.push(host);
        return Promise.resolve(
          host === "127.0.0.1:5001" ? { username: "stagecraft", secret: "pw" } : undefined,
        );
      },
    });
    const answer = await call(
      on,
      "/moby.filesync.v1.Auth/Credentials",
      stringField(1, "127.0.0.1:5001"),
    );
    expect(readStringFields(answer)).toEqual({ 1: "stagecraft", 2: "pw" });
    // Nothing from the resolver: the fixed logins, then anonymous (empty fields, not an error).
    const fixed = await call(on, "/moby.filesync.v1.Auth/Credentials", stringField(1, "ghcr.io"));
    expect(readStringFields(fixed)).toEqual({ 1: "fixed", 2: "f" });
    const none = await call(on, "/moby.filesync.v1.Auth/Credentials", stringField(1, "quay.io"));
    expect(none.length).toBe(0);
    expect(asked).toEqual(["127.0.0.1:5001", "ghcr.io", "quay.io"]);
  });

  it("fails Credentials with UNAVAILABLE naming the host when the login cannot be read", async () => {
    const on = await serve({
      resolveCredentials: () => Promise.reject(new Error("docker-credential-pass get: no key")),
    });
    await expect(
      call(on, "/moby.filesync.v1.Auth/Credentials", stringField(1, "ghcr.io")),
    ).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: "cannot read the login for ghcr.io: Error: docker-credential-pass get: no key",
    });
  });

  it("answers GetTokenAuthority UNIMPLEMENTED, which BuildKit takes for no key of the client's", async () => {
    const on = await serve({ resolveCredentials: () => Promise.resolve(undefined) });
    await expect(
      call(
        on,
        "/moby.filesync.v1.Auth/GetTokenAuthority",
        Buffer.concat([stringField(1, "ghcr.io"), stringField(2, new Uint8Array(16))]),
      ),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });
});

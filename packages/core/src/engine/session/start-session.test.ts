import { Duplex, PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { EngineError } from "../../errors.js";
import { silentLogger } from "../../logger.js";
import { startSession } from "./start-session.js";

function fakeSocket(): Duplex {
  const inbound = new PassThrough();
  return Duplex.from({ readable: inbound, writable: new PassThrough() });
}

describe("startSession", () => {
  it("asks for h2c with the session headers and one method header per served method", async () => {
    let sent: Record<string, string | string[]> = {};
    const session = await startSession(
      (headers) => {
        sent = headers;
        return Promise.resolve(fakeSocket());
      },
      { secrets: { a: Buffer.from("x") }, ssh: [{ id: "default", socket: "/nowhere" }] },
      silentLogger,
    );
    expect(sent.Upgrade).toBe("h2c");
    expect(sent["X-Docker-Expose-Session-Uuid"]).toBe(session.id);
    expect(sent["X-Docker-Expose-Session-Name"]).toBe("stagecraft");
    expect(sent["X-Docker-Expose-Session-Grpc-Method"]).toEqual([
      "/grpc.health.v1.Health/Check",
      "/moby.buildkit.secrets.v1.Secrets/GetSecret",
      "/moby.sshforward.v1.SSH/CheckAgent",
      "/moby.sshforward.v1.SSH/ForwardAgent",
      "/moby.filesync.v1.Auth/Credentials",
    ]);
    expect(session.output).toBeUndefined();
    await session.close();
  });

  it("reports a socket that closes before close() as an EngineError, once, to every listener", async () => {
    const socket = fakeSocket();
    const session = await startSession(() => Promise.resolve(socket), {}, silentLogger);
    const seen: Error[] = [];
    session.onFailure((error) => seen.push(error));
    socket.destroy(new Error("connection reset"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(EngineError);
    expect(seen[0]?.message).toBe(
      "the BuildKit session ended before the build did (connection reset)",
    );
    expect(session.failure).toBe(seen[0]);
    const late: Error[] = [];
    session.onFailure((error) => late.push(error));
    expect(late).toEqual(seen);
  });

  it("does not report its own close() as a failure", async () => {
    const session = await startSession(() => Promise.resolve(fakeSocket()), {}, silentLogger);
    const seen: Error[] = [];
    session.onFailure((error) => seen.push(error));
    await session.close();
    await session.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
    expect(session.failure).toBeUndefined();
  });
});

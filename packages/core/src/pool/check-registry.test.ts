import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EngineError } from "../errors.js";
import { checkRegistry } from "./check-registry.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => {
    if (server === undefined) resolve();
    else
      server.close(() => {
        resolve();
      });
  });
  server = undefined;
});

async function serve(status: number): Promise<string> {
  server = createServer((_request, response) => {
    response.statusCode = status;
    response.end("{}");
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("checkRegistry", () => {
  it("accepts a registry that answers /v2/ with 200 or 401", async () => {
    await expect(checkRegistry(await serve(200))).resolves.toBeUndefined();
    await new Promise<void>((resolve) =>
      server?.close(() => {
        resolve();
      }),
    );
    await expect(checkRegistry(await serve(401))).resolves.toBeUndefined();
  });

  it("refuses one that does not answer, or answers something else", async () => {
    const host = await serve(404);
    await expect(checkRegistry(host)).rejects.toThrow(`the registry ${host} answered 404`);
    await new Promise<void>((resolve) =>
      server?.close(() => {
        resolve();
      }),
    );
    server = undefined;
    const error = await checkRegistry(host).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toBe(
      `the registry ${host} cannot be reached (http://${host}/v2/)`,
    );
  });
});

import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import {
  EngineHttpError,
  readJsonBody,
  statusError,
  type EngineCall,
  type EngineTransport,
} from "./http-transport.js";

/**
 * The part of docker-modem (dockerode's transport, `docker.modem`) stagecraft uses: an embedder that
 * already holds a dockerode client (testcontainers' does) hands it over instead of a second
 * connection setup. Typed here by shape, so the core does not depend on dockerode.
 */
export interface DockerModem {
  /** The engine's unix socket, when it is reached through one. */
  socketPath?: unknown;
  host?: unknown;
  protocol?: unknown;
  dial(options: ModemDialOptions, callback: (error: unknown, result: unknown) => void): void;
}

/** What `modem.dial` takes (docker-modem `lib/modem.js`). */
export interface ModemDialOptions {
  /** The path; a trailing `?` makes it append `options` as the query. */
  path: string;
  method: string;
  options?: Record<string, unknown>;
  headers?: Record<string, string | string[]>;
  /** A request body streamed as `application/tar`. */
  file?: Readable;
  isStream?: boolean;
  hijack?: boolean;
  /** The statuses that are not errors. */
  statusCodes?: Record<number, boolean | string>;
  abortSignal?: AbortSignal;
}

const SUCCESS = { 200: true, 201: true, 204: true };

/** The dial options of a call: only the keys that have a value (docker-modem reads them all). */
function dialOptionsOf(call: EngineCall, extra: Partial<ModemDialOptions>): ModemDialOptions {
  const options: ModemDialOptions = { path: `${call.path}?`, method: call.method, ...extra };
  if (call.query !== undefined) options.options = { ...call.query };
  // docker-modem sends `_body` as JSON and `_query` as the query of a POST.
  if (call.json !== undefined) options.options = { _query: { ...call.query }, _body: call.json };
  if (call.headers !== undefined) {
    options.headers = Object.fromEntries(
      Object.entries(call.headers).map(([name, value]) => [
        name,
        typeof value === "string" ? value : [...value],
      ]),
    );
  }
  if (call.body !== undefined) options.file = call.body;
  if (call.signal !== undefined) options.abortSignal = call.signal;
  return options;
}

/**
 * The three calls a build needs, through a docker-modem instance. A 2xx answer comes back as the
 * response; anything else rejects as `EngineHttpError` with the daemon's own message, as
 * `HttpTransport` does.
 */
export function createModemTransport(modem: DockerModem): EngineTransport {
  const dial = (options: ModemDialOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      modem.dial(options, (error, result) => {
        if (error === null || error === undefined) resolve(result);
        else reject(toHttpError(error));
      });
    });
  const stream = async (call: EngineCall): Promise<IncomingMessage> =>
    (await dial(dialOptionsOf(call, { isStream: true, statusCodes: SUCCESS }))) as IncomingMessage;
  return {
    stream,
    async json<T>(call: EngineCall): Promise<T> {
      const response = await stream(call);
      if ((response.statusCode ?? 0) >= 300) throw await statusError(response);
      return await readJsonBody<T>(response, call.path);
    },
    async upgrade(call: EngineCall): Promise<Duplex> {
      return (await dial(
        dialOptionsOf(call, { hijack: true, statusCodes: { 101: true, ...SUCCESS } }),
      )) as Duplex;
    },
  };
}

/** A docker-modem failure: `statusCode` and the daemon's `json.message`, or a socket error. */
function toHttpError(error: unknown): EngineHttpError {
  const failure = error as {
    statusCode?: unknown;
    json?: { message?: unknown } | null;
    reason?: unknown;
    message?: unknown;
    code?: unknown;
  };
  const statusCode = typeof failure.statusCode === "number" ? failure.statusCode : undefined;
  const said = failure.json?.message;
  const message =
    typeof said === "string"
      ? said
      : typeof failure.message === "string"
        ? failure.message
        : String(error);
  return new EngineHttpError(message, {
    statusCode,
    code: typeof failure.code === "string" ? failure.code : undefined,
    cause: error,
  });
}

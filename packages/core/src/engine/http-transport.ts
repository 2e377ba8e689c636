import type { ChildProcessWithoutNullStreams, spawn as spawnChild } from "node:child_process";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { request as httpsRequestFn } from "node:https";
import { Duplex, type Readable } from "node:stream";
import type { EndpointTransport } from "./resolve-endpoint.js";

/** A value of a `/build`-style query: strings as they are, arrays as repeated keys, objects as JSON. */
export type QueryValue = string | readonly string[] | Readonly<Record<string, string>>;

/** One HTTP call to the engine. */
export interface EngineCall {
  method: "GET" | "POST" | "DELETE";
  /** Path without the query, e.g. `/build`. */
  path: string;
  query?: Readonly<Record<string, QueryValue>>;
  headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Streamed as `application/x-tar` when present. */
  body?: Readable;
  /** Sent as an `application/json` body when present (and no `body`). */
  json?: unknown;
  signal?: AbortSignal;
}

/**
 * A failed call: no connection (`code` is the socket's, e.g. `ECONNREFUSED`) or an HTTP status the
 * caller did not expect (`statusCode`, with the daemon's `message` when its body said one).
 */
export class EngineHttpError extends Error {
  readonly statusCode: number | undefined;
  readonly code: string | undefined;

  constructor(
    message: string,
    options: { statusCode?: number | undefined; code?: string | undefined; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "EngineHttpError";
    this.statusCode = options.statusCode;
    this.code = options.code;
  }
}

/** The three kinds of call a build needs: JSON, a streamed response, and a connection upgrade. */
export interface EngineTransport {
  /** Sends the call and resolves with the response once its status is 2xx; the body is the caller's. */
  stream(call: EngineCall): Promise<IncomingMessage>;
  /** Sends the call and parses the 2xx answer as JSON (`undefined` for an empty body). */
  json<T>(call: EngineCall): Promise<T>;
  /** Sends the call with `Connection: Upgrade`; resolves with the raw connection once it switches. */
  upgrade(call: EngineCall): Promise<Duplex>;
}

/**
 * The engine's HTTP API over a unix socket, TCP (with or without TLS), or SSH the way the docker
 * CLI does it (`ssh HOST docker system dial-stdio`). Built on `node:http`: a build needs three kinds
 * of call (JSON, a streamed response, a connection upgrade), and a client library would cost more
 * start-up than the build's own requests take.
 */
export class HttpTransport implements EngineTransport {
  readonly #transport: EndpointTransport;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #modules: Promise<TransportModules> | undefined;

  constructor(transport: EndpointTransport, env: Readonly<Record<string, string | undefined>>) {
    this.#transport = transport;
    this.#env = env;
  }

  /** Sends the call and resolves with the response once its status is 2xx; the body is the caller's. */
  async stream(call: EngineCall): Promise<IncomingMessage> {
    const response = await this.#send(call);
    if (
      response.statusCode !== undefined &&
      response.statusCode >= 200 &&
      response.statusCode < 300
    ) {
      return response;
    }
    throw await statusError(response);
  }

  /** Sends the call and parses the 2xx answer as JSON (`undefined` for an empty body). */
  async json<T>(call: EngineCall): Promise<T> {
    return await readJsonBody<T>(await this.stream(call), call.path);
  }

  /**
   * Sends the call with `Connection: Upgrade` and resolves with the raw connection once the engine
   * switches protocols (`/session`); any other answer rejects.
   */
  async upgrade(call: EngineCall): Promise<Duplex> {
    const modules = await this.#loadModules();
    return await new Promise<Duplex>((resolve, reject) => {
      let request: ClientRequest;
      try {
        request = this.#request(modules, call, { Connection: "Upgrade" });
      } catch (error) {
        reject(connectionError(error as Error));
        return;
      }
      request.on("upgrade", (_response, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      request.on("response", (response) => {
        statusError(response).then(reject, reject);
      });
      request.on("error", (error) => {
        reject(connectionError(error));
      });
      request.end();
    });
  }

  async #send(call: EngineCall): Promise<IncomingMessage> {
    const modules = await this.#loadModules();
    return await new Promise<IncomingMessage>((resolve, reject) => {
      let request: ClientRequest;
      try {
        request = this.#request(
          modules,
          call,
          call.body !== undefined
            ? { "Content-Type": "application/x-tar" }
            : call.json !== undefined
              ? { "Content-Type": "application/json" }
              : {},
        );
      } catch (error) {
        reject(connectionError(error as Error));
        return;
      }
      request.on("response", resolve);
      request.on("error", (error) => {
        reject(call.signal?.aborted === true ? error : connectionError(error));
      });
      const body = call.body;
      if (body === undefined) {
        request.end(call.json === undefined ? undefined : JSON.stringify(call.json));
        return;
      }
      body.on("error", (error) => {
        request.destroy(error);
      });
      body.pipe(request);
    });
  }

  /** Loads, once, what only TLS (`node:https`) or SSH (`node:child_process`) needs. */
  #loadModules(): Promise<TransportModules> {
    this.#modules ??= (async (): Promise<TransportModules> => {
      const transport = this.#transport;
      if (transport.kind === "tcp" && transport.tls !== undefined) {
        return { httpsRequest: (await import("node:https")).request };
      }
      if (transport.kind === "ssh") return { spawn: (await import("node:child_process")).spawn };
      return {};
    })();
    return this.#modules;
  }

  #request(
    modules: TransportModules,
    call: EngineCall,
    extraHeaders: Record<string, string>,
  ): ClientRequest {
    const path = call.path + queryString(call.query);
    const transport = this.#transport;
    // A socket or an ssh pipe has no host name to send: the docker CLI sends `Host: docker`. Over
    // TCP the address's own (TLS checks the engine's certificate against that host, not "docker").
    const headers = {
      ...(transport.kind === "tcp" ? {} : { Host: "docker" }),
      ...call.headers,
      ...extraHeaders,
    } as Record<string, string | string[]>;
    const common = {
      method: call.method,
      path,
      headers,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    };
    // Plain HTTP has no server name; left unset, Node's agent works one out from the Host header
    // with its IPv6 pattern, whose first use costs ~4 ms of start-up.
    const plain = { ...common, servername: "" };
    switch (transport.kind) {
      case "unix":
        return httpRequest({ ...plain, socketPath: transport.socketPath });
      case "tcp":
        if (transport.tls === undefined) {
          return httpRequest({ ...plain, host: transport.host, port: transport.port });
        }
        return required(modules.httpsRequest)({
          ...common,
          host: transport.host,
          port: transport.port,
          ca: transport.tls.ca,
          cert: transport.tls.cert,
          key: transport.tls.key,
        });
      case "ssh":
        // One ssh process per call, as the docker CLI's connection helper does; the process ends
        // when the call's connection closes.
        return httpRequest({
          ...plain,
          createConnection: () => dialOverSsh(required(modules.spawn), transport, this.#env),
        });
    }
  }
}

/**
 * `ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio` as a duplex: the engine's socket on the
 * remote host, through the user's own ssh (keys, agent, `~/.ssh/config` and known hosts apply).
 */
function dialOverSsh(
  spawn: typeof spawnChild,
  transport: Extract<EndpointTransport, { kind: "ssh" }>,
  env: Readonly<Record<string, string | undefined>>,
): Duplex {
  const args = ["-o", "ConnectTimeout=30", "-T"];
  if (transport.user !== undefined) args.push("-l", transport.user);
  if (transport.port !== undefined) args.push("-p", String(transport.port));
  args.push("--", transport.host, "docker", "system", "dial-stdio");
  return new ChildConnection(
    spawn("ssh", args, { env: env, stdio: ["pipe", "pipe", "pipe"] }),
    transport.host,
  );
}

/**
 * A child process's stdin and stdout as one connection. Its end is decided when the process has
 * exited: a failing ssh is reported with its status and last words, not as a broken pipe.
 */
class ChildConnection extends Duplex {
  readonly #child: ChildProcessWithoutNullStreams;
  #stderr = "";

  constructor(child: ChildProcessWithoutNullStreams, host: string) {
    super();
    this.#child = child;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    // A write the process no longer reads (EPIPE) is explained by how it exited, below.
    child.stdin.on("error", () => undefined);
    child.on("error", (error) => {
      this.destroy(
        new EngineHttpError(
          `cannot run ssh to reach ${host}: ${error.message}${
            (error as NodeJS.ErrnoException).code === "ENOENT"
              ? " (ssh:// engines need the OpenSSH client on PATH)"
              : ""
          }`,
          {
            cause: error,
            code: (error as NodeJS.ErrnoException).code,
          },
        ),
      );
    });
    child.on("close", (status) => {
      if (status === 0 || status === null) {
        this.push(null);
        return;
      }
      const said = this.#stderr.trim().split("\n").slice(-3).join(" ");
      this.destroy(
        new EngineHttpError(
          `ssh to ${host} exited with status ${status}${said === "" ? "" : `: ${said}`}`,
          {},
        ),
      );
    });
  }

  override _read(): void {
    this.#child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.#child.stdin.write(chunk, () => {
      callback();
    });
  }

  override _final(callback: () => void): void {
    this.#child.stdin.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    // The connection is gone either way; docker's own connection helper kills the same way
    // (`docker system dial-stdio` ignores SIGTERM).
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill("SIGKILL");
    }
    callback(error);
  }
}

/** Node modules loaded only for the transports that use them. */
interface TransportModules {
  httpsRequest?: typeof httpsRequestFn;
  spawn?: typeof spawnChild;
}

function required<T>(module: T | undefined): T {
  if (module === undefined) throw new Error("a transport module was not loaded");
  return module;
}

/** `?a=1&t=x&t=y&buildargs={"A":"1"}`, encoded; empty when there is nothing to send. */
export function queryString(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (query === undefined) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    const values =
      typeof value === "string"
        ? [value]
        : Array.isArray(value)
          ? (value as readonly string[])
          : [JSON.stringify(value)];
    for (const item of values) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
    }
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/** The whole body of a response, as text. */
export async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding("utf8");
  let text = "";
  for await (const chunk of response) text += chunk as string;
  return text;
}

/** A 2xx answer's body parsed as JSON (`undefined` for an empty one); `path` names the call. */
export async function readJsonBody<T>(response: IncomingMessage, path: string): Promise<T> {
  const text = await readBody(response);
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new EngineHttpError(`the engine answered ${path} with invalid JSON`, {
      statusCode: response.statusCode,
      cause: error,
    });
  }
}

/** The daemon answers errors as `{"message": "…"}`; keep its words. */
export async function statusError(response: IncomingMessage): Promise<EngineHttpError> {
  let text = "";
  try {
    text = await readBody(response);
  } catch {
    // The status alone still says what happened.
  }
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // Not JSON: the text itself.
  }
  const statusCode = response.statusCode ?? 0;
  return new EngineHttpError(message === "" ? `HTTP ${statusCode}` : message, { statusCode });
}

function connectionError(error: Error): EngineHttpError {
  if (error instanceof EngineHttpError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new EngineHttpError(error.message, { cause: error, code });
}

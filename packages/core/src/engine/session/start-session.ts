import { createHash, randomUUID } from "node:crypto";
import { basename, resolve } from "node:path";
import type { Duplex } from "node:stream";
import { EngineError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { EngineSession, SessionOutput } from "../engine.js";
import { createSessionServer, type SessionServerOptions } from "./create-session-server.js";

/** Opens the hijacked `/session` connection with these headers; resolves with the upgraded socket. */
export type SessionDialer = (headers: Record<string, string | string[]>) => Promise<Duplex>;

/** Options of `startSession`. */
export interface StartSessionOptions extends SessionServerOptions {
  /** Groups the daemon's per-directory caches across sessions (FileSync); random by default. */
  sharedKey?: string | undefined;
}

/**
 * Opens a BuildKit session: `POST /session` upgraded to h2c (moby `api/server/router/session`), on
 * which the daemon is the gRPC client and this process serves the session's methods. The returned
 * handle reports the session's unexpected end to the builds that use it.
 */
export async function startSession(
  dial: SessionDialer,
  options: StartSessionOptions,
  log: Logger,
): Promise<EngineSession> {
  const id = randomUUID();
  const server = createSessionServer(options, log);
  const headers = {
    "X-Docker-Expose-Session-Uuid": id,
    "X-Docker-Expose-Session-Name": options.name ?? "stagecraft",
    // A stable key per context directory lets the daemon reuse its copy and ask only for changes.
    "X-Docker-Expose-Session-Sharedkey":
      options.sharedKey ??
      (options.context === undefined
        ? randomUUID()
        : createHash("sha256").update(resolve(options.context.dir)).digest("hex")),
    // Node sends an array as repeated header lines, which is how the daemon reads the method list.
    "X-Docker-Expose-Session-Grpc-Method": [...server.methods],
    Upgrade: "h2c",
  };
  const socket = await dial(headers);
  log.debug({ session: id, methods: server.methods }, "session open");
  const dockerfile =
    options.context === undefined ? undefined : basename(options.context.dockerfile);
  const session = new DaemonSession(id, options.output?.type, dockerfile, socket, server, log);
  server.serve(socket);
  return session;
}

class DaemonSession implements EngineSession {
  readonly id: string;
  readonly output: SessionOutput["type"] | undefined;
  readonly contextDockerfile: string | undefined;
  #failure: EngineError | undefined;
  #closing = false;
  readonly #listeners = new Set<(error: Error) => void>();
  readonly #socket: Duplex;
  readonly #server: ReturnType<typeof createSessionServer>;
  readonly #log: Logger;

  constructor(
    id: string,
    output: SessionOutput["type"] | undefined,
    contextDockerfile: string | undefined,
    socket: Duplex,
    server: ReturnType<typeof createSessionServer>,
    log: Logger,
  ) {
    this.id = id;
    this.output = output;
    this.contextDockerfile = contextDockerfile;
    this.#socket = socket;
    this.#server = server;
    this.#log = log;
    let socketError: Error | undefined;
    socket.on("error", (error) => {
      socketError = error;
    });
    socket.on("close", () => {
      this.#ended(socketError);
    });
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get outputFailure(): Error | undefined {
    return this.#server.outputFailure();
  }

  get contextFailure(): Error | undefined {
    return this.#server.contextFailure();
  }

  onFailure(listener: (error: Error) => void): () => void {
    if (this.#failure !== undefined) {
      listener(this.#failure);
      return () => undefined;
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      await this.#server.outputsWritten();
    } finally {
      // Node's HTTP/2 reads bytes buffered before it took the socket on the next tick, and throws
      // (uncaught) if the session is gone by then: a session closed right after it opened.
      await new Promise((resolve) => setImmediate(resolve));
      this.#server.shutdown();
      this.#socket.destroy();
      this.#log.debug({ session: this.id }, "session closed");
    }
  }

  #ended(cause: Error | undefined): void {
    if (this.#closing || this.#failure !== undefined) return;
    const reason = cause === undefined ? "the engine closed its connection" : cause.message;
    this.#failure = new EngineError(
      "ENGINE_STREAM_ENDED",
      `the BuildKit session ended before the build did (${reason})`,
      {
        cause,
        hint: "The engine may have restarted or dropped the connection; check that it is running (docker info) and retry.",
      },
    );
    this.#log.warn({ session: this.id, reason }, "session ended");
    for (const listener of this.#listeners) listener(this.#failure);
    this.#listeners.clear();
    this.#server.shutdown();
  }
}

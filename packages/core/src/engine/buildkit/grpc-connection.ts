import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  SecureClientSessionOptions,
} from "node:http2";
import { Duplex } from "node:stream";

// gRPC over HTTP/2, client side, as far as BuildKit's Control service needs it: unary calls,
// server streams and one bidirectional byte stream (the session). The wire rules are
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md: each message is a 5-byte prefix
// (compressed flag, big-endian length) and the bytes; the status comes in `grpc-status` trailers,
// or in the headers of a trailers-only answer.

// HTTP/2 error codes for RST_STREAM (RFC 9113 section 7), node:http2's NGHTTP2_CANCEL and
// NGHTTP2_PROTOCOL_ERROR, written here so that the module loads without node:http2.
const HTTP2_PROTOCOL_ERROR = 0x1;
const HTTP2_CANCEL = 0x8;

/** The gRPC status codes stagecraft names (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GRPC_OK = 0;
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_NOT_FOUND = 5;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_UNAVAILABLE = 14;

/** A call that ended with a status other than OK; `details` is the server's own message. */
export class GrpcError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string, options: { cause?: unknown } = {}) {
    super(`${details} (gRPC status ${code})`, options);
    this.name = "GrpcError";
    this.code = code;
    this.details = details;
  }
}

/** Metadata sent with a call: each value is one header line, an array repeats the key. */
export type GrpcMetadata = Readonly<Record<string, string | readonly string[]>>;

/** An HTTP/2 connection that carries gRPC calls to one server. */
export interface GrpcConnection {
  /** Sends one message and resolves with the one answer. */
  unary(path: string, message: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** Sends one message and calls `onMessage` for every answer until the server ends the call. */
  serverStream(
    path: string,
    message: Uint8Array,
    onMessage: (message: Uint8Array) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Opens a bidirectional call; messages are written and read through the returned stream. */
  bidi(path: string, metadata?: GrpcMetadata): GrpcBidiCall;
  /** Resolves when the connection has closed (either side). */
  readonly closed: Promise<void>;
  close(): void;
}

/** A bidirectional call: `send` a message, `onMessage` for each one received, `done` for the status. */
export interface GrpcBidiCall {
  send(message: Uint8Array): boolean;
  onMessage(listener: (message: Uint8Array) => void): void;
  /** Calls `listener` when the call's outgoing side may take more after `send` returned false. */
  onDrain(listener: () => void): void;
  /** Half-closes the outgoing side. */
  end(): void;
  /** Drops the call (RST_STREAM CANCEL). */
  cancel(): void;
  /** Resolves on an OK status, rejects with a `GrpcError` or the stream's error. */
  readonly done: Promise<void>;
}

/** How to open the connection: over a socket already connected (an upgraded `/grpc`), or by URL. */
export type GrpcDial =
  | { kind: "socket"; socket: Duplex }
  | { kind: "url"; url: string; tls?: SecureClientSessionOptions | undefined };

/** Opens an HTTP/2 connection for gRPC; resolves once the server's SETTINGS have arrived. */
export async function openGrpcConnection(dial: GrpcDial): Promise<GrpcConnection> {
  // Loaded here, not at the top: node:http2 (and the node:tls it needs) costs every command ~7 ms
  // of CPU at start-up, and only a build through the Control API talks HTTP/2.
  const { connect: connectHttp2 } = await import("node:http2");
  const session =
    dial.kind === "socket"
      ? connectHttp2("http://buildkit", { createConnection: () => dial.socket })
      : connectHttp2(dial.url, dial.tls ?? {});
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    session.once("error", onError);
    session.once("connect", () => {
      session.off("error", onError);
      resolve();
    });
  });
  return new Http2GrpcConnection(session);
}

class Http2GrpcConnection implements GrpcConnection {
  readonly #session: ClientHttp2Session;
  readonly closed: Promise<void>;
  #active = 0;

  constructor(session: ClientHttp2Session) {
    this.#session = session;
    // An idle connection must not keep the process alive; a call in flight must.
    session.unref();
    // Errors of the connection reach every open call through its stream; this keeps them from
    // being thrown as unhandled.
    session.on("error", () => undefined);
    this.closed = new Promise((resolve) => {
      session.once("close", resolve);
    });
  }

  async unary(path: string, message: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    let answer: Uint8Array | undefined;
    await this.serverStream(
      path,
      message,
      (received) => {
        answer = received;
      },
      signal,
    );
    if (answer === undefined) throw new GrpcError(GRPC_UNKNOWN, `${path} answered no message`);
    return answer;
  }

  async serverStream(
    path: string,
    message: Uint8Array,
    onMessage: (message: Uint8Array) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    signal?.throwIfAborted();
    const stream = this.#open(path, {});
    const onAbort = (): void => {
      stream.close(HTTP2_CANCEL);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      stream.end(frame(message));
      await readCall(stream, onMessage, () => {
        if (signal?.aborted !== true) return undefined;
        const reason: unknown = signal.reason;
        return reason instanceof Error ? reason : new Error(String(reason));
      });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  bidi(path: string, metadata: GrpcMetadata = {}): GrpcBidiCall {
    const stream = this.#open(path, metadata);
    const listeners: ((message: Uint8Array) => void)[] = [];
    const early: Uint8Array[] = [];
    const done = readCall(
      stream,
      (received) => {
        if (listeners.length === 0) early.push(received);
        for (const listener of listeners) listener(received);
      },
      () => undefined,
    );
    // The caller may never look at `done` (a session dropped on close).
    done.catch(() => undefined);
    return {
      send: (message) => stream.write(frame(message)),
      onMessage: (listener) => {
        listeners.push(listener);
        for (const received of early.splice(0)) listener(received);
      },
      onDrain: (listener) => {
        stream.once("drain", listener);
      },
      end: () => {
        if (!stream.writableEnded) stream.end();
      },
      cancel: () => {
        if (!stream.closed) stream.close(HTTP2_CANCEL);
      },
      done,
    };
  }

  close(): void {
    this.#session.close();
    // A server that holds streams open would keep the session; the caller is done with it.
    setTimeout(() => {
      if (!this.#session.destroyed) this.#session.destroy();
    }, 1000).unref();
  }

  #open(path: string, metadata: GrpcMetadata): ClientHttp2Stream {
    const headers: Record<string, string | string[]> = {
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    };
    for (const [key, value] of Object.entries(metadata)) {
      headers[key.toLowerCase()] = typeof value === "string" ? value : [...value];
    }
    const stream = this.#session.request(headers);
    if (this.#active++ === 0) this.#session.ref();
    stream.once("close", () => {
      if (--this.#active === 0 && !this.#session.destroyed) this.#session.unref();
    });
    return stream;
  }
}

/** A message with its 5-byte gRPC prefix (never compressed). */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Splits gRPC-framed bytes into messages across chunks. */
export function createMessageReader(onMessage: (message: Uint8Array) => void): {
  push(chunk: Buffer): void;
  /** Bytes of an incomplete message still held. */
  readonly pending: number;
} {
  let buffered: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5) {
        if (buffered[0] !== 0) throw new Error("compressed gRPC messages are not supported");
        const length = buffered.readUInt32BE(1);
        if (buffered.length < 5 + length) break;
        onMessage(buffered.subarray(5, 5 + length));
        buffered = buffered.subarray(5 + length);
      }
    },
    get pending() {
      return buffered.length;
    },
  };
}

/** Reads a call's answer: messages to `onMessage`, then the status; rejects on anything but OK. */
async function readCall(
  stream: ClientHttp2Stream,
  onMessage: (message: Uint8Array) => void,
  abortReason: () => Error | undefined,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let status: { code: number; message: string } | undefined;
    let failure: Error | undefined;
    const reader = createMessageReader(onMessage);
    const readStatus = (headers: IncomingHttpHeaders): void => {
      const code = headers["grpc-status"];
      if (typeof code === "string") {
        status = { code: Number(code), message: decodeGrpcMessage(headers["grpc-message"]) };
      }
    };
    stream.on("response", (headers) => {
      const httpStatus = headers[":status"];
      if (httpStatus !== 200) {
        failure ??= new GrpcError(
          GRPC_UNKNOWN,
          `the server answered HTTP ${String(httpStatus)} instead of gRPC`,
        );
      }
      readStatus(headers);
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        failure ??= error as Error;
        stream.close(HTTP2_PROTOCOL_ERROR);
      }
    });
    stream.on("error", (error) => {
      failure ??= error;
    });
    stream.on("close", () => {
      const reason = abortReason();
      if (reason !== undefined) reject(reason);
      else if (failure !== undefined) reject(failure);
      else if (status === undefined) {
        reject(
          new GrpcError(
            GRPC_UNAVAILABLE,
            `the call ended without a gRPC status (HTTP/2 code ${stream.rstCode})`,
          ),
        );
      } else if (status.code !== GRPC_OK) reject(new GrpcError(status.code, status.message));
      else resolve();
    });
  });
}

/** `grpc-message` is percent-encoded UTF-8. */
function decodeGrpcMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(", ") : (value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The bytes of a bidirectional call of `BytesMessage`s as a stream (BuildKit's `grpchijack`): what
 * is written goes out as messages, what arrives is read. The session's own HTTP/2 runs over it.
 */
export function bytesCallToDuplex(
  call: GrpcBidiCall,
  encode: (data: Uint8Array) => Uint8Array,
  decode: (message: Uint8Array) => Uint8Array,
): Duplex {
  const duplex = new Duplex({
    read() {
      // Messages are pushed as they arrive; HTTP/2 flow control bounds them.
    },
    write(chunk: Buffer, _encoding, callback) {
      if (call.send(encode(chunk))) callback();
      else
        call.onDrain(() => {
          callback();
        });
    },
    final(callback) {
      call.end();
      callback();
    },
    destroy(error, callback) {
      call.cancel();
      callback(error);
    },
  });
  call.onMessage((message) => {
    duplex.push(decode(message));
  });
  call.done.then(
    () => duplex.push(null),
    (error: unknown) => duplex.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return duplex;
}

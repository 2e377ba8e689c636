import { connect as connectNet } from "node:net";
import type { Duplex } from "node:stream";
import { decodeStatusResponse, type DecodedStatus } from "../../progress/decode-status.js";
import {
  decodeBytesMessage,
  decodeDiskUsageResponse,
  decodeInfoResponse,
  decodeListWorkersResponse,
  decodeReadContentResponse,
  decodeSolveResponse,
  encodeBytesMessage,
  encodeReadContentRequest,
  encodeSolveRequest,
  encodeStatusRequest,
  type SolveRequest,
  type UsageRecord,
  type WorkerRecord,
} from "./control-protos.js";
import {
  bytesCallToDuplex,
  openGrpcConnection,
  type GrpcConnection,
  type GrpcMetadata,
} from "./grpc-connection.js";

const SERVICE = "/moby.buildkit.v1.Control";
const EMPTY = new Uint8Array(0);

/**
 * Where a BuildKit Control API answers: a Docker Engine's `/grpc` upgrade (the caller opens the
 * upgraded socket), or a standalone buildkitd at `tcp://HOST:PORT` (h2c, or TLS with the CA and a
 * client certificate) or `unix:///path`.
 */
export type BuildkitAddress =
  | { kind: "upgrade"; description: string; open: () => Promise<Duplex> }
  | {
      kind: "tcp";
      host: string;
      port: number;
      tls?:
        | { ca?: Buffer | undefined; cert?: Buffer | undefined; key?: Buffer | undefined }
        | undefined;
    }
  | { kind: "unix"; socketPath: string };

/**
 * The address as the user would write it: `buildkit+tcp://` and `buildkit+unix://`, so a report
 * cannot take a standalone buildkitd for a Docker Engine at the same `DOCKER_HOST`-like address.
 */
export function describeBuildkitAddress(address: BuildkitAddress): string {
  switch (address.kind) {
    case "upgrade":
      return address.description;
    case "tcp": {
      const host = address.host.includes(":") ? `[${address.host}]` : address.host;
      return `buildkit+tcp://${host}:${address.port}${address.tls === undefined ? "" : " (TLS)"}`;
    }
    case "unix":
      return `buildkit+unix://${address.socketPath}`;
    default:
      return address satisfies never;
  }
}

/**
 * A client of BuildKit's `moby.buildkit.v1.Control` service on one HTTP/2 connection: `Solve`,
 * `Status`, `ListWorkers`, `DiskUsage`, `Info` and `Session`, and containerd's `Content.Read`.
 *
 * @example
 * const client = await ControlClient.connect({ kind: "tcp", host: "127.0.0.1", port: 1234 });
 * console.log(await client.listWorkers());
 * client.close();
 */
export class ControlClient {
  readonly #connection: GrpcConnection;

  constructor(connection: GrpcConnection) {
    this.#connection = connection;
  }

  /** Connects to the address; rejects with the socket's or TLS's error. */
  static async connect(address: BuildkitAddress): Promise<ControlClient> {
    switch (address.kind) {
      case "upgrade":
        return new ControlClient(
          await openGrpcConnection({ kind: "socket", socket: await address.open() }),
        );
      case "unix": {
        const socket = connectNet(address.socketPath);
        await new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", reject);
        });
        return new ControlClient(await openGrpcConnection({ kind: "socket", socket }));
      }
      case "tcp": {
        const tls = address.tls;
        if (tls === undefined) {
          return new ControlClient(
            await openGrpcConnection({
              kind: "url",
              url: `http://${address.host}:${address.port}`,
            }),
          );
        }
        return new ControlClient(
          await openGrpcConnection({
            kind: "url",
            url: `https://${address.host}:${address.port}`,
            tls: {
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              ...(tls.cert === undefined ? {} : { cert: tls.cert }),
              ...(tls.key === undefined ? {} : { key: tls.key }),
            },
          }),
        );
      }
      default:
        return address satisfies never;
    }
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    return this.#connection.closed;
  }

  /** BuildKit's version (`v0.0.0+unknown` inside a Docker Engine). */
  async info(signal?: AbortSignal): Promise<{ package: string; version: string }> {
    return decodeInfoResponse(await this.#connection.unary(`${SERVICE}/Info`, EMPTY, signal));
  }

  async listWorkers(signal?: AbortSignal): Promise<WorkerRecord[]> {
    return decodeListWorkersResponse(
      await this.#connection.unary(`${SERVICE}/ListWorkers`, EMPTY, signal),
    );
  }

  /** The build-cache records. */
  async diskUsage(signal?: AbortSignal): Promise<UsageRecord[]> {
    return decodeDiskUsageResponse(
      await this.#connection.unary(`${SERVICE}/DiskUsage`, EMPTY, signal),
    );
  }

  /** Runs a build; resolves with the exporter's response, rejects with a `GrpcError` on failure. */
  async solve(request: SolveRequest, signal?: AbortSignal): Promise<Record<string, string>> {
    return decodeSolveResponse(
      await this.#connection.unary(`${SERVICE}/Solve`, encodeSolveRequest(request), signal),
    );
  }

  /**
   * A blob of the content store BuildKit's exporters write to (containerd's `Content.Read`, served
   * read-only beside `Control`): a manifest or a config. Rejects with a `GrpcError` (`NOT_FOUND`
   * once the blob is gone), or when the blob is longer than `maxBytes`.
   */
  async readContent(digest: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let length = 0;
    const reading = new AbortController();
    const callSignal =
      signal === undefined ? reading.signal : AbortSignal.any([signal, reading.signal]);
    await this.#connection.serverStream(
      "/containerd.services.content.v1.Content/Read",
      encodeReadContentRequest(digest),
      (message) => {
        const { data } = decodeReadContentResponse(message);
        length += data.length;
        if (length > maxBytes) {
          reading.abort(new Error(`blob ${digest} is longer than ${maxBytes} bytes`));
          return;
        }
        chunks.push(data);
      },
      callSignal,
    );
    if (reading.signal.aborted) throw reading.signal.reason as Error;
    return Buffer.concat(chunks);
  }

  /** Streams the build's progress until it ends; each message is decoded as `/build`'s are. */
  async status(
    ref: string,
    onStatus: (status: DecodedStatus) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#connection.serverStream(
      `${SERVICE}/Status`,
      encodeStatusRequest(ref),
      (message) => {
        onStatus(decodeStatusResponse(message));
      },
      signal,
    );
  }

  /**
   * Opens `Control.Session` (BuildKit `session/grpchijack`): a byte stream on which the server is
   * the gRPC client of the session's services. `headers` are the session's `X-Docker-Expose-Session-*`
   * headers, sent as call metadata.
   */
  session(headers: GrpcMetadata): Duplex {
    const call = this.#connection.bidi(`${SERVICE}/Session`, headers);
    return bytesCallToDuplex(call, encodeBytesMessage, decodeBytesMessage);
  }

  close(): void {
    this.#connection.close();
  }
}

import { readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import { EngineError, UsageError } from "../../errors.js";
import { silentLogger, type Logger } from "../../logger.js";
import type {
  BuildRequest,
  BuildResponse,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
} from "../engine.js";
import type { StartSessionOptions } from "../session/start-session.js";
import { ControlClient, describeBuildkitAddress, type BuildkitAddress } from "./control-client.js";
import type { UsageRecord, WorkerRecord } from "./control-protos.js";
import { solveBuild, type ImageExporter } from "./solve-build.js";

/** A worker label only moby's BuildKit sets (moby `builder-next/worker`): its exporter is `moby`. */
const MOBY_WORKER_LABEL = "org.mobyproject.buildkit.worker.moby.host-gateway-ip";

/** TLS files for a `tcp://` BuildKit address, as buildx's `remote` driver takes them. */
export interface BuildkitTlsFiles {
  /** The CA that signed the server's certificate (PEM path). */
  ca?: string | undefined;
  /** The client certificate and key (PEM paths), when the server asks for one. */
  cert?: string | undefined;
  key?: string | undefined;
}

/** Options of `BuildkitEngine`. */
export interface BuildkitEngineOptions {
  /** `tcp://HOST:PORT` or `unix:///path`, or an address made by the caller. */
  address: string | BuildkitAddress;
  /** TLS for a `tcp://` address; without it the connection is plain h2c. */
  tls?: BuildkitTlsFiles | undefined;
  logger?: Logger | undefined;
}

/**
 * Parses `tcp://HOST:PORT` or `unix:///path` into an address; TLS files are read at once.
 * @throws UsageError for another scheme or a missing port.
 */
export function parseBuildkitAddress(text: string, tls?: BuildkitTlsFiles): BuildkitAddress {
  if (text.startsWith("unix://")) {
    const socketPath = text.slice("unix://".length);
    if (socketPath === "") throw new UsageError(`BuildKit address "${text}" names no socket`);
    return { kind: "unix", socketPath };
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(text);
  if (tcp?.[1] !== undefined && tcp[2] !== undefined) {
    const read = (path: string | undefined): Buffer | undefined =>
      path === undefined ? undefined : readFileSync(path);
    return {
      kind: "tcp",
      host: tcp[1].replace(/^\[|\]$/g, ""),
      port: Number(tcp[2]),
      ...(tls === undefined
        ? {}
        : { tls: { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) } }),
    };
  }
  throw new UsageError(`"${text}" is not a BuildKit address`, {
    hint: "Write tcp://HOST:PORT or unix:///path/to/buildkitd.sock.",
  });
}

/**
 * Builds through BuildKit's Control API: `Control.Solve` with the Dockerfile frontend, progress from
 * `Control.Status`, the session (build context, secrets, SSH agents, outputs) inside
 * `Control.Session`. Shared by `DockerEngine` (`builder: "control"`, over the Engine's `/grpc`) and
 * `BuildkitEngine` (a standalone buildkitd).
 */
export class ControlBuilder {
  readonly #address: BuildkitAddress;
  readonly #log: Logger;
  #client: Promise<ControlClient> | undefined;
  #exporter: Promise<ImageExporter> | undefined;
  readonly #running = new Map<string, AbortController>();

  constructor(address: BuildkitAddress, log: Logger) {
    this.#address = address;
    this.#log = log;
  }

  get description(): string {
    return describeBuildkitAddress(this.#address);
  }

  /** The connection, opened on first use and again after it closed. */
  async client(): Promise<ControlClient> {
    const current = this.#client;
    if (current !== undefined) return await current;
    const opening = ControlClient.connect(this.#address);
    this.#client = opening;
    opening.then(
      (client) => {
        void client.closed.then(() => {
          if (this.#client === opening) this.#client = undefined;
        });
      },
      () => {
        if (this.#client === opening) this.#client = undefined;
      },
    );
    try {
      return await opening;
    } catch (error) {
      throw new EngineError(
        "ENGINE_UNREACHABLE",
        `no BuildKit answers at ${this.description}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "Start buildkitd there, or check the address and its TLS files.",
        },
      );
    }
  }

  async listWorkers(signal?: AbortSignal): Promise<WorkerRecord[]> {
    return await (await this.client()).listWorkers(signal);
  }

  async diskUsage(signal?: AbortSignal): Promise<UsageRecord[]> {
    return await (await this.client()).diskUsage(signal);
  }

  async build(request: BuildRequest): Promise<BuildResponse> {
    const client = await this.client();
    const exporter = await this.#imageExporter(client);
    const cancel = new AbortController();
    this.#running.set(request.buildId, cancel);
    const signal =
      request.signal === undefined
        ? cancel.signal
        : AbortSignal.any([request.signal, cancel.signal]);
    try {
      return await solveBuild(client, { ...request, signal }, exporter, this.#log);
    } finally {
      this.#running.delete(request.buildId);
    }
  }

  /** Drops the build's `Solve` call: BuildKit cancels a build whose caller went away. */
  cancel(buildId: string): void {
    this.#running
      .get(buildId)
      ?.abort(new EngineError("ENGINE_STREAM_ENDED", `build ${buildId} was cancelled`));
  }

  /** A session inside `Control.Session` on the connection. */
  async openSession(options: StartSessionOptions): Promise<EngineSession> {
    const { startSession } = await import("../session/start-session.js");
    const client = await this.client();
    return await startSession(
      (headers) => {
        // Connection headers have no place in HTTP/2 (RFC 9113 §8.2.2); the rest is the metadata.
        const { Upgrade: _upgrade, ...metadata } = headers;
        return Promise.resolve<Duplex>(client.session(metadata));
      },
      options,
      this.#log,
    );
  }

  close(): void {
    void this.#client?.then(
      (client) => {
        client.close();
      },
      () => undefined,
    );
    this.#client = undefined;
  }

  async #imageExporter(client: ControlClient): Promise<ImageExporter> {
    this.#exporter ??= client.listWorkers().then(
      (workers) =>
        workers.some((worker) => worker.labels[MOBY_WORKER_LABEL] !== undefined) ? "moby" : "image",
      (error: unknown) => {
        this.#exporter = undefined;
        throw error;
      },
    );
    return await this.#exporter;
  }
}

/**
 * A standalone BuildKit daemon as an engine (the one behind buildx's `remote` and `kubernetes`
 * drivers): builds through the Control API, the session inside `Control.Session`. It has no image
 * store to inspect, so the report has no image sizes.
 *
 * @example
 * const engine = new BuildkitEngine({ address: "tcp://127.0.0.1:1234", tls: { ca: "ca.pem" } });
 * const outcome = await runBuild({ engine, analysis, context: { dir: ".", dockerfile: "Dockerfile" } });
 * engine.close();
 */
export class BuildkitEngine implements Engine {
  readonly local = false;
  readonly #builder: ControlBuilder;

  constructor(options: BuildkitEngineOptions) {
    const address =
      typeof options.address === "string"
        ? parseBuildkitAddress(options.address, options.tls)
        : options.address;
    this.#builder = new ControlBuilder(address, options.logger ?? silentLogger);
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    const client = await this.#builder.client();
    let version: { version: string };
    let workers: WorkerRecord[];
    try {
      [version, workers] = await Promise.all([client.info(signal), client.listWorkers(signal)]);
    } catch (error) {
      if (signal?.aborted === true) throw error;
      // A TLS server that refuses the client's certificate says so only after the handshake.
      throw new EngineError(
        "ENGINE_UNREACHABLE",
        `BuildKit at ${this.#builder.description} did not answer: ${(error as Error).message}`,
        {
          cause: error,
          hint: "Check the address and its TLS files (CA, client certificate and key).",
        },
      );
    }
    const platform = workers[0]?.platforms[0] ?? "linux/amd64";
    const [os = "linux", arch = "amd64"] = platform.split("/");
    return {
      endpoint: this.#builder.description,
      version: version.version,
      apiVersion: "buildkit",
      platform: `${os}/${arch}`,
      os,
      arch,
      buildkit: true,
    };
  }

  /** The daemon's workers (labels, platforms). */
  async listWorkers(signal?: AbortSignal): Promise<WorkerRecord[]> {
    return await this.#builder.listWorkers(signal);
  }

  /** The daemon's build-cache records. */
  async diskUsage(signal?: AbortSignal): Promise<UsageRecord[]> {
    return await this.#builder.diskUsage(signal);
  }

  async build(request: BuildRequest): Promise<BuildResponse> {
    return await this.#builder.build(request);
  }

  cancelBuild(buildId: string): Promise<void> {
    this.#builder.cancel(buildId);
    return Promise.resolve();
  }

  inspectImage(): Promise<ImageDetails | undefined> {
    return Promise.resolve(undefined);
  }

  async openSession(options: StartSessionOptions): Promise<EngineSession> {
    return await this.#builder.openSession(options);
  }

  /** Closes the connection (an idle one does not keep the process alive). */
  close(): void {
    this.#builder.close();
  }
}

import { readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import type { DecodedStatus } from "../../progress/decode-status.js";
import { BuildFailedError, EngineError, PushFailedError, UsageError } from "../../errors.js";
import { silentLogger, type Logger } from "../../logger.js";
import { readDockerConfig, type DockerConfig } from "../docker-config.js";
import type {
  BuildRequest,
  BuildResponse,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
  PushProgress,
  PushRequest,
  PushResponse,
} from "../engine.js";
import { registryOfReference, runCredentialHelper } from "../registry-auth.js";
import type { StartSessionOptions } from "../session/start-session.js";
import { ControlClient, describeBuildkitAddress, type BuildkitAddress } from "./control-client.js";
import type { UsageRecord, WorkerRecord } from "./control-protos.js";
import { createLoginResolver } from "./create-login-resolver.js";
import {
  MOBY_WORKER_LABEL,
  readPushRefusal,
  readWorkerStore,
  type WorkerStore,
} from "./read-worker-store.js";
import { solveBuild, type ImageExporter, type SolvePush } from "./solve-build.js";

/** TLS files for a `buildkit+tcp://` address, as buildx's `remote` driver takes them. */
export interface BuildkitTlsFiles {
  /** The CA that signed the server's certificate (PEM path). */
  ca?: string | undefined;
  /** The client certificate and key (PEM paths), when the server asks for one. */
  cert?: string | undefined;
  key?: string | undefined;
}

/** Options of `BuildkitEngine`. */
export interface BuildkitEngineOptions {
  /**
   * `buildkit+tcp://HOST:PORT` or `buildkit+unix:///path` (`tcp://` and `unix://`, as buildctl's
   * `--addr` takes them, are read the same), or an address made by the caller.
   */
  address: string | BuildkitAddress;
  /** TLS for a tcp address; without it the connection is plain h2c. */
  tls?: BuildkitTlsFiles | undefined;
  logger?: Logger | undefined;
  /**
   * Where the docker CLI's logins are found (`DOCKER_CONFIG`, `HOME`) and what credential helpers
   * run with; `process.env` by default.
   */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** What `BuildkitEngine.describe` tells of the daemon: `stagecraft engine` shows it. */
export interface BuildkitDescription {
  /** The address, as `buildkit+tcp://…` or `buildkit+unix://…`. */
  endpoint: string;
  /** BuildKit's version (`v0.0.0+unknown` inside a Docker Engine). */
  version: string;
  workers: WorkerRecord[];
  /** Where images go: the default worker's store. */
  store: WorkerStore;
  /** Platforms of the default worker. */
  platforms: string[];
  /**
   * Why the default worker cannot push an image (moby's worker on a graph-driver Engine has no
   * `image` exporter); undefined when it can.
   */
  pushRefusal: string | undefined;
  /**
   * The cache backends buildkitd registers (BuildKit `cmd/buildkitd/main.go`; the API does not list
   * them); undefined for moby's worker, whose backends are the Docker Engine's (`stagecraft engine`
   * on the Engine's socket says which).
   */
  cache: { exporters: string[]; importers: string[] } | undefined;
}

/** buildkitd's cache backends (moby/buildkit `cmd/buildkitd/main.go`, v0.12 to v0.20). */
const BUILDKITD_CACHE = {
  exporters: ["azblob", "gha", "inline", "local", "registry", "s3"],
  importers: ["azblob", "gha", "local", "registry", "s3"],
};

const SCHEME_HINT = "Write buildkit+tcp://HOST:PORT or buildkit+unix:///path/to/buildkitd.sock.";

/**
 * Parses `buildkit+tcp://HOST:PORT` or `buildkit+unix:///path` (or the same without `buildkit+`, as
 * buildctl's `--addr` takes them) into an address; TLS files are read at once.
 * @throws UsageError for another scheme, a missing port, TLS files on a unix socket, a client
 * certificate without its key (or the reverse), or a TLS file that cannot be read.
 */
export function parseBuildkitAddress(text: string, tls?: BuildkitTlsFiles): BuildkitAddress {
  const rest = text.startsWith("buildkit+") ? text.slice("buildkit+".length) : text;
  const hasTls =
    tls !== undefined && [tls.ca, tls.cert, tls.key].some((path) => path !== undefined);
  if (rest.startsWith("unix://")) {
    const socketPath = rest.slice("unix://".length);
    if (socketPath === "") {
      throw new UsageError(`BuildKit address "${text}" names no socket`, {
        hint: "Write buildkit+unix:///path/to/buildkitd.sock.",
      });
    }
    if (hasTls) {
      throw new UsageError(
        `BuildKit address "${text}" is a unix socket, which takes no TLS files`,
        {
          hint: "Leave out the TLS files, or give a buildkit+tcp://HOST:PORT address.",
        },
      );
    }
    return { kind: "unix", socketPath };
  }
  if (!rest.startsWith("tcp://")) {
    throw new UsageError(`"${text}" is not a BuildKit address`, { hint: SCHEME_HINT });
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d*))?\/?$/.exec(rest);
  if (tcp?.[1] === undefined) {
    throw new UsageError(`BuildKit address "${text}" is not tcp://HOST:PORT`, {
      hint: SCHEME_HINT,
    });
  }
  const port = Number(tcp[2] ?? "");
  if (tcp[2] === undefined || tcp[2] === "" || port < 1 || port > 65535) {
    throw new UsageError(`BuildKit address "${text}" names no port`, {
      hint: `buildkitd has no default port: write ${text.replace(/\/$/, "")}:PORT (1234 in BuildKit's examples).`,
    });
  }
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new UsageError(
      `BuildKit address "${text}": a client certificate needs its key, and a key its certificate`,
      { hint: "Give both the client certificate and its key, or neither." },
    );
  }
  return {
    kind: "tcp",
    host: tcp[1].replace(/^\[|\]$/g, ""),
    port,
    ...(tls === undefined || !hasTls
      ? {}
      : {
          tls: {
            ca: readTlsFile(tls.ca, "CA certificate"),
            cert: readTlsFile(tls.cert, "client certificate"),
            key: readTlsFile(tls.key, "client key"),
          },
        }),
  };
}

function readTlsFile(path: string | undefined, role: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read the ${role} ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: `Check the path of the ${role} (PEM).`,
    });
  }
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

  /** Runs a build; with `push`, its image goes to the registry through the `image` exporter. */
  async build(request: BuildRequest, push?: SolvePush): Promise<BuildResponse> {
    const client = await this.client();
    const exporter = await this.#imageExporter(client);
    const cancel = new AbortController();
    this.#running.set(request.buildId, cancel);
    const signal =
      request.signal === undefined
        ? cancel.signal
        : AbortSignal.any([request.signal, cancel.signal]);
    try {
      return await solveBuild(client, { ...request, signal }, exporter, this.#log, push);
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
 * store to inspect, so the report has no image sizes. Images go where its default worker keeps them
 * (`describe().store`): into the Docker Engine for moby's worker, into containerd for a containerd
 * worker; the OCI worker keeps none, so a tagged image there is reachable by nobody: export it
 * (an output) instead.
 *
 * @example
 * const engine = new BuildkitEngine({ address: "tcp://127.0.0.1:1234", tls: { ca: "ca.pem" } });
 * const outcome = await runBuild({ engine, analysis, context: { dir: ".", dockerfile: "Dockerfile" } });
 * engine.close();
 */
export class BuildkitEngine implements Engine {
  readonly local = false;
  readonly buildPath = "control";
  readonly #builder: ControlBuilder;
  readonly #log: Logger;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #dockerConfig: DockerConfig | undefined;
  /** What each session was opened with, by session id: a push opens its own session alike. */
  readonly #sessionOptions = new Map<string, StartSessionOptions>();
  /** The build that made each tag, so that a push can export the same result again. */
  readonly #built = new Map<
    string,
    { request: BuildRequest; session: StartSessionOptions; imageId: string }
  >();
  #pushes = 0;

  constructor(options: BuildkitEngineOptions) {
    const address =
      typeof options.address === "string"
        ? parseBuildkitAddress(options.address, options.tls)
        : options.address;
    this.#log = options.logger ?? silentLogger;
    this.#env = options.env ?? process.env;
    this.#builder = new ControlBuilder(address, this.#log);
  }

  /** Where the daemon is, as `buildkit+tcp://…` or `buildkit+unix://…`. */
  get endpoint(): { readonly description: string } {
    return { description: this.#builder.description };
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    return (await this.#read(signal)).info;
  }

  /** The daemon's version and workers (one `Info` and one `ListWorkers`), as info and describe use them. */
  async #read(signal?: AbortSignal): Promise<{ info: EngineInfo; workers: WorkerRecord[] }> {
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
      info: {
        endpoint: this.#builder.description,
        version: version.version,
        apiVersion: "buildkit",
        platform: `${os}/${arch}`,
        os,
        arch,
        buildkit: true,
      },
      workers,
    };
  }

  /** The daemon's version, workers, where its images go and its cache backends. */
  async describe(signal?: AbortSignal): Promise<BuildkitDescription> {
    const { info, workers } = await this.#read(signal);
    const store = readWorkerStore(workers);
    return {
      endpoint: info.endpoint,
      version: info.version,
      workers,
      store,
      platforms: workers[0]?.platforms ?? [],
      pushRefusal: readPushRefusal(workers, info.endpoint),
      cache:
        store.kind === "docker-engine"
          ? undefined
          : {
              exporters: [...BUILDKITD_CACHE.exporters],
              importers: [...BUILDKITD_CACHE.importers],
            },
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
    const response = await this.#builder.build(request);
    const session =
      request.session === undefined ? undefined : this.#sessionOptions.get(request.session.id);
    if (session !== undefined && request.session?.output === undefined) {
      // Solved again to push, it must find every step in the cache the build just filled: not
      // `--no-cache`, not `--pull` (a base pushed since would make another image), no cache export.
      const {
        session: _session,
        signal: _signal,
        onStatus: _onStatus,
        noCache: _noCache,
        pull: _pull,
        cacheTo: _cacheTo,
        ...rest
      } = request;
      for (const tag of request.tags ?? []) {
        this.#built.set(tag, { request: rest, session, imageId: response.imageId });
      }
    }
    return response;
  }

  /**
   * Pushes `request.ref`, a tag a build on this engine made: the build is solved again (every step
   * comes from the cache) with BuildKit's `image` exporter and `push=true`, in a session of its own
   * that answers the daemon's `Auth.Credentials` with the docker CLI's logins (`credHelpers`,
   * `credsStore`, `auths` of config.json). Progress comes from the export's status lines: BuildKit
   * reports the layers as one step (`pushing layers`) and then the manifest, with no byte counts.
   */
  async push(request: PushRequest): Promise<PushResponse> {
    const registry = registryOfReference(request.ref);
    const tag = withTag(request.ref);
    const built = this.#built.get(request.ref);
    if (built === undefined) {
      throw new EngineError(
        "ENGINE_UNSUPPORTED",
        `${request.ref} was not built by ${this.#builder.description} in this run: a buildkitd pushes an image from the build that makes it`,
        { hint: "Build and push in one run (push with runBuild, or stagecraft build --push)." },
      );
    }
    const refusal = readPushRefusal(
      await this.#builder.listWorkers(request.signal),
      this.#builder.description,
    );
    if (refusal !== undefined) {
      throw new EngineError("ENGINE_UNSUPPORTED", refusal, { hint: PUSH_REFUSAL_HINT });
    }
    this.#pushes += 1;
    // The same directories, secrets and SSH agents; its FileSync sends are no news of the run's.
    const { onContextSent: _sent, ...sessionOptions } = built.session;
    const session = await this.#builder.openSession({
      ...sessionOptions,
      resolveCredentials: createLoginResolver(
        () => (this.#dockerConfig ??= readDockerConfig(this.#env)),
        (helper, host) => runCredentialHelper(helper, host, this.#env),
      ),
    });
    const progress = createPushProgressReader(request.onProgress);
    this.#log.debug({ ref: request.ref, registry }, "Control.Solve with push=true");
    try {
      const response = await this.#builder.build(
        {
          ...built.request,
          buildId: `${built.request.buildId}-push-${this.#pushes}`,
          session,
          signal: request.signal,
          onStatus: progress.onStatus,
        },
        { names: [request.ref] },
      );
      progress.finish();
      if (response.imageId === "") {
        throw new PushFailedError({
          registry,
          tag,
          registryMessage: "BuildKit ended the push without a digest",
          denied: false,
        });
      }
      // Both exporters name the image by its manifest digest on a containerd store; another digest
      // means the second solve made another image (a context file changed in between).
      if (built.imageId !== "" && built.imageId !== response.imageId) {
        throw new PushFailedError(
          {
            registry,
            tag,
            registryMessage: `the image pushed (${response.imageId}) is not the one built (${built.imageId}): the build's context or base images changed between the build and its push`,
            denied: false,
          },
          { hint: "Build and push again, with the context left alone while the run lasts." },
        );
      }
      return { digest: response.imageId, sizeBytes: null };
    } catch (error) {
      if (!(error instanceof BuildFailedError)) throw error;
      throw new PushFailedError(
        {
          registry,
          tag,
          registryMessage: error.daemonMessage,
          denied: isDenied(error.daemonMessage),
        },
        { cause: error },
      );
    } finally {
      await session.close();
    }
  }

  cancelBuild(buildId: string): Promise<void> {
    this.#builder.cancel(buildId);
    return Promise.resolve();
  }

  inspectImage(): Promise<ImageDetails | undefined> {
    return Promise.resolve(undefined);
  }

  async openSession(options: StartSessionOptions): Promise<EngineSession> {
    const session = await this.#builder.openSession(options);
    this.#sessionOptions.set(session.id, options);
    return session;
  }

  /** Closes the connection (an idle one does not keep the process alive). */
  close(): void {
    this.#builder.close();
  }
}

const PUSH_REFUSAL_HINT =
  'Turn on the containerd image store there ("features": {"containerd-snapshotter": true} in daemon.json), or build with the Engine\'s own socket as the engine (it pushes with POST /images/push), or leave out push.';

/** `registry/name` → `registry/name:latest`, as the Engine path names a push. */
function withTag(ref: string): string {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash || ref.includes("@") ? ref : `${ref}:latest`;
}

/**
 * The registry refused the login, in BuildKit's words: containerd's resolver says `401
 * Unauthorized` or `403 Forbidden`, Distribution `unauthorized: authentication required` or
 * `denied: …`.
 */
function isDenied(message: string): boolean {
  return /unauthori[sz]ed|authentication required|forbidden|denied|\b40[13]\b/i.test(message);
}

/**
 * Turns the export's status lines into push progress: `pushing layers` (`pushing any remaining
 * layers` when pushed eagerly) and `pushing manifest for REF@DIGEST` (buildkit `util/push/push.go`),
 * each once when it starts and once when it ends; a byte count is passed on should the daemon send
 * one. BuildKit ends a step that failed as it ends one that succeeded (the error is the solve's), so
 * a step's end is said only once the next step starts, or at `finish()` after the solve succeeded.
 */
export function createPushProgressReader(
  onProgress: ((progress: PushProgress) => void) | undefined,
): { onStatus: (status: DecodedStatus) => void; finish: () => void } {
  const said = new Map<string, string>();
  let ended: PushProgress | undefined;
  const emit = (progress: PushProgress): void => {
    if (ended !== undefined && ended.layer !== progress.layer) {
      onProgress?.(ended);
      ended = undefined;
    }
    if (progress.status === "Pushed") ended = progress;
    else onProgress?.(progress);
  };
  return {
    onStatus: (status) => {
      for (const line of status.statuses) {
        if (!line.id.startsWith("pushing ")) continue;
        const layer = line.id.startsWith("pushing manifest")
          ? "manifest"
          : line.id.endsWith("layers")
            ? "layers"
            : line.id.slice("pushing ".length);
        const state = line.completed === null ? "Pushing" : "Pushed";
        const bytes = line.total > 0 ? { current: line.current, total: line.total } : undefined;
        const key = `${state} ${bytes?.current ?? ""}`;
        if (said.get(line.id) === key) continue;
        said.set(line.id, key);
        emit({
          layer,
          status: state,
          current: bytes?.current ?? null,
          total: bytes?.total ?? null,
        });
      }
    },
    finish: () => {
      if (ended !== undefined) onProgress?.(ended);
      ended = undefined;
    },
  };
}

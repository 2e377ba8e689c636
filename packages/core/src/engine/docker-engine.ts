import { access, constants } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { BuildFailedError, EngineError, PushFailedError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { createBuildStreamReader } from "../progress/read-build-stream.js";
import { buildQuery } from "./build-query.js";
import { EngineHttpError, HttpTransport, type EngineTransport } from "./http-transport.js";
import { deadlineSignal } from "./deadline-signal.js";
import { createModemTransport, type DockerModem } from "./modem-transport.js";
import type {
  BuildRequest,
  BuildResponse,
  DistributionAnswer,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
  ImageHistoryEntry,
  PushRequest,
  PushResponse,
} from "./engine.js";
import {
  readCapabilities,
  type BuildPath,
  type EngineCapabilities,
  type InfoAnswer,
} from "./engine-capabilities.js";
import { createPushStreamReader } from "./read-push-stream.js";
import {
  readRegistryImage,
  type RegistryImage,
  type RegistryPlatform,
} from "./read-registry-image.js";
import {
  encodeRegistryLogin,
  registryOfReference,
  resolveRegistryLogin,
  runCredentialHelper,
} from "./registry-auth.js";
import { readDockerConfig, type DockerConfig } from "./docker-config.js";
import { resolveEngineEndpoint, type EngineEndpoint } from "./resolve-endpoint.js";
import { describeSessionFailure } from "./session/describe-session-failure.js";
import { ControlBuilder } from "./buildkit/buildkit-engine.js";
import type { UsageRecord, WorkerRecord } from "./buildkit/control-protos.js";
import type { StartSessionOptions } from "./session/start-session.js";
import { runConfigKey } from "./run-config-key.js";
import {
  askSnapshotMounts,
  findContainerdSockets,
  layerDirsOfMounts,
} from "./read-snapshot-mounts.js";

/** The oldest API that has BuildKit builds through `/build?version=2` (Docker 18.09). */
const MIN_BUILDKIT_API = [1, 39] as const;

/** What `GET /version` answers, as far as stagecraft reads it. */
interface VersionAnswer {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
}

/** The part of `GET /distribution/{name}/json` read here (moby `registry.DistributionInspect`). */
interface DistributionInspectAnswer {
  Descriptor: { digest: string };
}

/** What `GET /images/{ref}/json` answers, as far as stagecraft reads it. */
interface ImageAnswer {
  Id: string;
  Size: number;
  RepoTags: string[] | null;
  Created: string;
  Os?: string;
  Architecture?: string;
  Variant?: string;
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null } | null;
  RootFS?: { Layers?: string[] | null } | null;
  Config: {
    Labels: Record<string, string> | null;
    User?: string;
    Env?: string[] | null;
    Shell?: string[] | null;
    [field: string]: unknown;
  };
}

/** One entry of what `GET /images/{ref}/history` answers. */
interface HistoryAnswer {
  Id: string;
  Created: number;
  CreatedBy: string;
  Size: number;
  Comment: string;
}

/** Options of `DockerEngine`. */
export interface DockerEngineOptions {
  /** Environment to read `DOCKER_HOST`, `DOCKER_CONTEXT`, … from (default: `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Connect here instead of resolving from the environment. */
  endpoint?: EngineEndpoint;
  /** Diagnostics (requests, cancels, stream ends); silent by default. */
  logger?: Logger;
  /**
   * How long a call that should answer at once (the version probe, an image inspect, a cancel) may
   * wait for the engine before it fails (default 30 s): an engine that accepts connections and
   * never answers must not hold a run for ever. Builds themselves have no such limit.
   */
  requestTimeoutMs?: number;
  /**
   * A dockerode client to talk through (its `modem`), for an embedder that already has one
   * (testcontainers' `getContainerRuntimeClient()` does): the engine it points at, reached its way.
   * Without it, stagecraft connects itself (`env`, `endpoint`), which starts faster than loading
   * dockerode (docs/decisions/dockerode.md).
   */
  dockerode?: { modem: DockerModem } | undefined;
  /**
   * How builds reach BuildKit: `build` (default) through `POST /build`; `control` through BuildKit's
   * Control API on the Engine's `/grpc` (`Control.Solve`), which also exports cache (`cacheTo`) and
   * reads named contexts, and always sends the context through the session
   * (docs/decisions/control-api.md).
   */
  builder?: "build" | "control" | undefined;
}

/**
 * The Docker Engine adapter: BuildKit builds through `POST /build?version=2`, driven directly (not
 * through dockerode's `buildImage`, whose auto-session dies after about a second and overwrites
 * `session=`). The only module that talks to the daemon (through `HttpTransport`, on `node:http`).
 *
 * @example
 * const engine = new DockerEngine();
 * const info = await engine.info();
 * const { imageId } = await engine.build({ context: () => tar, dockerfile: "Dockerfile", buildId: "b1" });
 */
export class DockerEngine implements Engine {
  readonly endpoint: EngineEndpoint;
  readonly local: boolean;
  get buildPath(): BuildPath {
    return this.#control === undefined ? "build" : "control";
  }
  readonly #http: EngineTransport;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #config: DockerConfig | undefined;
  #capabilities: Promise<EngineCapabilities> | undefined;
  /** `GET /info` `DockerRootDir`, once `capabilities` has asked. */
  #dataRoot: string | undefined;
  /** `GET /info` `Containerd`, once `capabilities` has asked (newer engines only). */
  #containerd: InfoAnswer["Containerd"];
  /** The containerd sockets this process may reach for the engine, found once (a walk of /proc). */
  #containerdSockets: Promise<string[]> | undefined;
  readonly #control: ControlBuilder | undefined;
  /** A Control API connection for `listWorkers`/`diskUsage` when builds go through `/build`. */
  #probe: ControlBuilder | undefined;

  constructor(options: DockerEngineOptions = {}) {
    const env = options.env ?? process.env;
    this.#env = env;
    const modem = options.dockerode?.modem;
    this.endpoint =
      modem === undefined
        ? (options.endpoint ?? resolveEngineEndpoint(env, undefined, () => this.#dockerConfig()))
        : endpointOfModem(modem);
    // The Control API has no tar upload: its context always travels through the session.
    this.local = this.endpoint.transport.kind === "unix" && options.builder !== "control";
    const http =
      modem === undefined
        ? new HttpTransport(this.endpoint.transport, env)
        : createModemTransport(modem);
    this.#http = http;
    this.#log = options.logger ?? silentLogger;
    this.#control =
      options.builder === "control"
        ? new ControlBuilder(
            {
              kind: "upgrade",
              description: `${this.endpoint.description} (/grpc)`,
              open: () =>
                http.upgrade({ method: "POST", path: "/grpc", headers: { Upgrade: "h2c" } }),
            },
            this.#log,
          )
        : undefined;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#log.debug(
      { endpoint: this.endpoint.description, source: this.endpoint.source },
      "engine endpoint",
    );
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    let version: VersionAnswer;
    const bounded = this.#bounded(signal);
    try {
      version = await this.#http.json<VersionAnswer>({
        method: "GET",
        path: "/version",
        signal: bounded,
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent("GET /version");
      throw this.#unreachable(error);
    }
    const [major = 0, minor = 0] = version.ApiVersion.split(".").map(Number);
    const buildkit =
      version.Os === "linux" &&
      (major > MIN_BUILDKIT_API[0] ||
        (major === MIN_BUILDKIT_API[0] && minor >= MIN_BUILDKIT_API[1]));
    return {
      endpoint: this.endpoint.description,
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
      platform: `${version.Os}/${version.Arch}`,
      buildkit,
    };
  }

  /**
   * What the engine can do, from `GET /version` and `GET /info` (image store: `DriverStatus`
   * `driver-type` is `io.containerd.snapshotter.v1` with the containerd store); asked once per
   * `DockerEngine`, later calls get the same answer.
   */
  capabilities(signal?: AbortSignal): Promise<EngineCapabilities> {
    const asked = (this.#capabilities ??= (async () => {
      // Both asked at once; /version's answer (or its error: the engine is unreachable) comes first.
      const bounded = this.#bounded(signal);
      const answer = this.#http
        .json<InfoAnswer>({ method: "GET", path: "/info", signal: bounded })
        .catch((error: unknown) => {
          if (signal?.aborted === true) throw abortReason(signal);
          if (bounded.aborted) throw this.#silent("GET /info");
          throw this.#requestError(error, "GET /info");
        });
      answer.catch(() => undefined);
      const info = await this.info(signal);
      const infoAnswer = await answer;
      this.#dataRoot = infoAnswer.DockerRootDir;
      this.#containerd = infoAnswer.Containerd;
      return readCapabilities(info, infoAnswer);
    })());
    // A failed probe is not kept: the next call asks again.
    asked.catch(() => {
      if (this.#capabilities === asked) this.#capabilities = undefined;
    });
    return asked;
  }

  /**
   * Pushes `request.ref` through `POST /images/{name}/push?tag=TAG` with the docker CLI's login for
   * its registry (`credHelpers`, `credsStore`, `auths` of config.json) in `X-Registry-Auth`.
   */
  async push(request: PushRequest): Promise<PushResponse> {
    const { name, tag } = splitTag(request.ref);
    const registry = registryOfReference(name);
    const { login, source } = await resolveRegistryLogin(
      registry,
      this.#dockerConfig(),
      (helper, host) => runCredentialHelper(helper, host, this.#env),
    );
    this.#log.debug({ ref: request.ref, registry, login: source }, "POST /images/{name}/push");
    let response: IncomingMessage;
    try {
      response = await this.#http.stream({
        method: "POST",
        path: `/images/${encodeURIComponent(name)}/push`,
        query: { tag },
        headers: { "X-Registry-Auth": encodeRegistryLogin(login) },
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
    } catch (error) {
      if (request.signal?.aborted === true) throw abortReason(request.signal);
      if (error instanceof EngineHttpError && error.statusCode !== undefined) {
        throw new PushFailedError({
          registry,
          tag: `${name}:${tag}`,
          registryMessage: error.message,
          denied: isDenied(error.message),
        });
      }
      throw this.#requestError(error, `pushing ${name}:${tag}`);
    }
    const reader = createPushStreamReader((progress) => request.onProgress?.(progress));
    try {
      for await (const chunk of response) reader.push(chunk as Buffer);
    } catch (error) {
      if (request.signal?.aborted === true) throw abortReason(request.signal);
      throw new EngineError(
        "ENGINE_STREAM_ENDED",
        `the connection to the engine broke while pushing ${name}:${tag} (${(error as Error).message})`,
        { cause: error },
      );
    }
    const result = reader.end();
    if (result.error !== undefined || result.digest === undefined) {
      const message = result.error ?? "the engine ended the push without a digest";
      throw new PushFailedError({
        registry,
        tag: `${name}:${tag}`,
        registryMessage: message,
        denied: isDenied(message),
      });
    }
    return { digest: result.digest, sizeBytes: result.sizeBytes ?? null };
  }

  /**
   * Pulls through `POST /images/create?fromImage=NAME&tag=TAG` with the docker CLI's login for the
   * image's registry in `X-Registry-Auth`, as `docker pull` does; the stream's error line rejects.
   */
  async pullImage(
    ref: string,
    options: { platform?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    const at = ref.indexOf("@");
    const { name, tag } =
      at === -1 ? splitTag(ref) : { name: ref.slice(0, at), tag: ref.slice(at + 1) };
    const registry = registryOfReference(name);
    const { login, source } = await resolveRegistryLogin(
      registry,
      this.#dockerConfig(),
      (helper, host) => runCredentialHelper(helper, host, this.#env),
    );
    this.#log.debug({ ref, registry, login: source }, "POST /images/create");
    const { signal } = options;
    const failed = (message: string, cause?: unknown): EngineError =>
      new EngineError("ENGINE_REQUEST", `the engine could not pull ${ref}: ${message}`, {
        cause,
        hint: isDenied(message)
          ? `Log in to ${registry} (docker login ${registry}), then build again.`
          : `Check that ${registry} holds ${ref} and that this machine reaches it (docker pull ${ref}).`,
      });
    let response: IncomingMessage;
    try {
      response = await this.#http.stream({
        method: "POST",
        path: "/images/create",
        query: {
          fromImage: name,
          tag,
          ...(options.platform === undefined ? {} : { platform: options.platform }),
        },
        headers: { "X-Registry-Auth": encodeRegistryLogin(login) },
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      if (error instanceof EngineHttpError && error.statusCode !== undefined) {
        throw failed(error.message, error);
      }
      throw this.#requestError(error, `pulling ${ref}`);
    }
    // A pull stream's lines are a push stream's: per-layer status, then an error line or none.
    const reader = createPushStreamReader(() => undefined);
    try {
      for await (const chunk of response) reader.push(chunk as Buffer);
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      throw failed(`the connection broke (${(error as Error).message})`, error);
    }
    const { error } = reader.end();
    if (error !== undefined) throw failed(error);
  }

  async build(request: BuildRequest): Promise<BuildResponse> {
    const signal = request.signal;
    signal?.throwIfAborted();
    if (this.#control !== undefined) return await this.#control.build(request);
    // A size-only build whose context is in a session goes through the Control API, whose
    // exporter can make no image (`BuildRequest.sizeOnly`); the same session serves it.
    if (request.sizeOnly === true && request.session?.contextDockerfile !== undefined) {
      return await this.#controlBuilder().build(request);
    }
    if (request.namedContexts !== undefined && Object.keys(request.namedContexts).length > 0) {
      throw new EngineError("ENGINE_UNSUPPORTED", "named contexts need BuildKit's Control API", {
        hint: 'POST /build cannot carry them; build with `builder: "control"`.',
      });
    }
    const session = request.session;
    if (session?.failure !== undefined) throw session.failure;
    const startedAt = Date.now();
    this.#log.debug(
      { buildId: request.buildId, target: request.target, tags: request.tags },
      "POST /build",
    );
    const response = await this.#dial(request);
    this.#log.debug(
      { buildId: request.buildId, ms: Date.now() - startedAt },
      "build stream opened",
    );
    return await new Promise<BuildResponse>((resolve, reject) => {
      const reader = createBuildStreamReader((status) => request.onStatus?.(status));
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        this.#log.debug(
          { buildId: request.buildId, ms: Date.now() - startedAt },
          "build stream ended",
        );
        signal?.removeEventListener("abort", onAbort);
        stopWatchingSession();
        outcome();
      };
      const onAbort = (): void => {
        response.destroy();
        settle(() => {
          reject(abortReason(signal));
        });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // A dead session would leave the daemon waiting 5 s and then failing the step with "no active
      // session"; say what happened instead.
      const stopWatchingSession =
        session?.onFailure((error) => {
          response.destroy();
          settle(() => {
            reject(error);
          });
        }) ?? (() => undefined);
      response.on("data", (chunk: Buffer) => {
        reader.push(chunk);
      });
      response.on("end", () => {
        const { imageId, error: daemonError } = reader.end();
        settle(() => {
          if (daemonError !== undefined) {
            const target = request.target ?? "(default)";
            reject(
              describeSessionFailure(target, daemonError, session) ??
                new BuildFailedError({ target, daemonMessage: daemonError }),
            );
          } else if (imageId !== undefined) {
            resolve({ imageId });
          } else if (session?.output !== undefined) {
            // Exported to the session (tar, local): the daemon made no image.
            resolve({ imageId: "" });
          } else {
            reject(
              new EngineError(
                "ENGINE_STREAM_ENDED",
                "the engine ended the build stream without an image id or an error",
                {
                  hint: "The engine may have stopped or crashed; check that it is running (docker info) and retry.",
                },
              ),
            );
          }
        });
      });
      const onBroken = (error?: Error): void => {
        settle(() => {
          if (signal?.aborted === true) {
            reject(abortReason(signal));
            return;
          }
          reject(
            new EngineError(
              "ENGINE_STREAM_ENDED",
              `the connection to the engine broke during the build${error === undefined ? "" : ` (${error.message})`}`,
              {
                cause: error,
                hint: "The engine may have stopped or crashed; check that it is running (docker info) and retry.",
              },
            ),
          );
        });
      };
      response.on("error", onBroken);
      response.on("aborted", () => {
        onBroken();
      });
      response.on("close", () => {
        if (!response.complete) onBroken();
      });
    });
  }

  async cancelBuild(buildId: string, signal?: AbortSignal): Promise<void> {
    if (this.#control !== undefined) {
      // `/build/cancel` knows only `/build`'s builds; a dropped `Solve` call cancels its build.
      this.#control.cancel(buildId);
      return;
    }
    // A size-only build may have gone through the Control API (`build`).
    this.#probe?.cancel(buildId);
    this.#log.debug({ buildId }, "POST /build/cancel");
    const bounded = this.#bounded(signal);
    try {
      await this.#http.json({
        method: "POST",
        path: "/build/cancel",
        query: { id: buildId },
        signal: bounded,
      });
    } catch (error) {
      if (bounded.aborted && signal?.aborted !== true) throw this.#silent("POST /build/cancel");
      throw this.#requestError(error, `cancelling build ${buildId}`);
    }
  }

  /**
   * Opens a BuildKit session (`POST /session`, upgraded to h2c) serving secrets, SSH agents, outputs
   * and registry credentials to the builds that carry it; close it when the run ends.
   */
  async openSession(options: StartSessionOptions, signal?: AbortSignal): Promise<EngineSession> {
    // Loaded on first use: gRPC costs ~80 ms of start-up that a build without a session never needs.
    const { startSession } = await import("./session/start-session.js");
    const withLogins =
      options.credentials === undefined
        ? { ...options, credentials: this.#dockerConfig().credentials }
        : options;
    const bounded = this.#bounded(signal);
    return await startSession(
      async (headers) => {
        try {
          return await this.#hijack("/session", headers, bounded);
        } catch (error) {
          if (signal?.aborted === true) throw abortReason(signal);
          if (bounded.aborted) throw this.#silent("POST /session");
          throw error;
        }
      },
      withLogins,
      this.#log,
    );
  }

  /** BuildKit's workers on this engine (`Control.ListWorkers` over `/grpc`). */
  async listWorkers(signal?: AbortSignal): Promise<WorkerRecord[]> {
    return await this.#controlBuilder().listWorkers(signal);
  }

  /** BuildKit's build-cache records on this engine (`Control.DiskUsage` over `/grpc`). */
  async diskUsage(signal?: AbortSignal): Promise<UsageRecord[]> {
    return await this.#controlBuilder().diskUsage(signal);
  }

  /** Closes the Control API connection, if one is open (an idle one does not hold the process). */
  close(): void {
    this.#control?.close();
    this.#probe?.close();
  }

  #controlBuilder(): ControlBuilder {
    if (this.#control !== undefined) return this.#control;
    const http = this.#http;
    this.#probe ??= new ControlBuilder(
      {
        kind: "upgrade",
        description: `${this.endpoint.description} (/grpc)`,
        open: () => http.upgrade({ method: "POST", path: "/grpc", headers: { Upgrade: "h2c" } }),
      },
      this.#log,
    );
    return this.#probe;
  }

  async inspectImage(ref: string, signal?: AbortSignal): Promise<ImageDetails | undefined> {
    let image: ImageAnswer;
    const bounded = this.#bounded(signal);
    try {
      image = await this.#http.json<ImageAnswer>({
        method: "GET",
        path: `/images/${encodeURI(ref)}/json`,
        signal: bounded,
      });
    } catch (error) {
      if (error instanceof EngineHttpError && error.statusCode === 404) return undefined;
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent(`GET /images/${ref}/json`);
      throw this.#requestError(error, `inspecting image ${ref}`);
    }
    // The engine sends `null` for an image without labels.
    const labels = image.Config.Labels;
    return {
      id: image.Id,
      sizeBytes: image.Size,
      tags: image.RepoTags ?? [],
      labels: labels ?? {},
      created: image.Created,
      user: image.Config.User ?? "",
      env: image.Config.Env ?? [],
      shell: image.Config.Shell ?? [],
      os: image.Os ?? "",
      architecture: image.Architecture ?? "",
      variant: image.Variant ?? "",
      ...layerDirsOf(image),
      ...(image.RootFS?.Layers == null ? {} : { diffIds: image.RootFS.Layers }),
      runConfig: runConfigKey(image.Config),
    };
  }

  /**
   * Reads the manifest and config under `ref` from its registry with the docker CLI's login for that
   * registry, the one `push` sends (`credHelpers`, `credsStore`, `auths` of config.json).
   */
  async readRegistryImage(
    ref: string,
    platform: RegistryPlatform,
    signal?: AbortSignal,
  ): Promise<RegistryImage | undefined> {
    const { login } = await resolveRegistryLogin(
      registryOfReference(ref),
      this.#dockerConfig(),
      (helper, host) => runCredentialHelper(helper, host, this.#env),
    );
    return await readRegistryImage(ref, { login, platform, signal });
  }

  /**
   * Asks the engine to fetch the manifest of `ref` from its registry (`GET /distribution/{ref}/json`)
   * with the docker CLI's login for that registry, as a pull would; never pulls.
   */
  async inspectDistribution(ref: string, signal?: AbortSignal): Promise<DistributionAnswer> {
    const { login } = await resolveRegistryLogin(
      registryOfReference(ref),
      this.#dockerConfig(),
      (helper, host) => runCredentialHelper(helper, host, this.#env),
    );
    const bounded = this.#bounded(signal);
    let answer: DistributionInspectAnswer;
    try {
      answer = await this.#http.json<DistributionInspectAnswer>({
        method: "GET",
        path: `/distribution/${encodeURI(ref)}/json`,
        headers: { "X-Registry-Auth": encodeRegistryLogin(login) },
        signal: bounded,
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent(`GET /distribution/${ref}/json`);
      if (!(error instanceof EngineHttpError) || error.statusCode === undefined) {
        throw this.#unreachable(error);
      }
      // Measured on Engine 26.1 (docker.io unreachable, loopback registries): no DNS answers HTTP 500
      // 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on …: no such
      // host' within 20 ms; a closed port HTTP 500 "connect: connection refused"; a missing tag HTTP
      // 404 "manifest unknown: manifest unknown"; htpasswd without a login HTTP 500 'Head "…": no
      // basic auth credentials', with a wrong one HTTP 401 "unauthorized: authentication required".
      const message = error.message;
      if (error.statusCode === 404) return { kind: "absent", message };
      if (error.statusCode === 401 || error.statusCode === 403 || isDenied(message)) {
        return { kind: "denied", message };
      }
      return { kind: "unreachable", message };
    }
    return { kind: "found", digest: answer.Descriptor.digest };
  }

  /**
   * The image as `docker save` writes it (`GET /images/{ref}/get`): a tar of its config, manifest
   * and layer tars. The caller reads the stream to its end or destroys it.
   */
  async exportImage(ref: string, signal?: AbortSignal): Promise<Readable> {
    try {
      return await this.#http.stream({
        method: "GET",
        path: `/images/${encodeURI(ref)}/get`,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      throw this.#requestError(error, `exporting image ${ref}`);
    }
  }

  /**
   * Where a containerd image store on this machine keeps its blobs: the containerd that dockerd
   * starts itself is rooted in `DATA-ROOT/containerd/daemon` (moby libcontainerd/supervisor
   * remote_daemon.go `Start`: `Root: filepath.Join(rootDir, "daemon")`, rootDir `DATA-ROOT/containerd`),
   * a system containerd in `/var/lib/containerd`. Empty for a graph driver or an engine elsewhere.
   */
  async contentStoreDirs(signal?: AbortSignal): Promise<string[]> {
    if (!this.local) return [];
    const capabilities = await this.capabilities(signal);
    if (capabilities.imageStore.kind !== "containerd") return [];
    const store = "io.containerd.content.v1.content/blobs";
    return [
      ...(this.#dataRoot === undefined ? [] : [`${this.#dataRoot}/containerd/daemon/${store}`]),
      `/var/lib/containerd/${store}`,
    ];
  }

  /**
   * The layer directories of an image on the containerd store's overlayfs snapshotter on this
   * machine: a container is created (never started, no network) from the image, so that its
   * snapshot is active, and the engine's containerd is asked for that snapshot's mounts
   * (`Snapshots.Mounts`, in the engine's namespace, `moby` unless `/info` says another); the
   * container is removed at once.
   * The image's own layers stay while the image does. Undefined when anything of it fails.
   */
  async findLayerDirs(
    ref: string,
    layers: number,
    signal?: AbortSignal,
  ): Promise<string[] | undefined> {
    if (!this.local) return undefined;
    const capabilities = await this.capabilities(signal);
    const store = capabilities.imageStore;
    if (store.kind !== "containerd" || store.driver !== "overlayfs") return undefined;
    this.#containerdSockets ??= (async () => {
      const named = this.#containerd?.Address;
      const found = [
        ...(named === undefined || named === "" ? [] : [named]),
        ...(await findContainerdSockets(this.#dataRoot, this.#env)),
      ];
      // Only sockets this process may open (they are root's): none, and no container is made.
      const open = await Promise.all(
        found.map((socket) =>
          access(socket, constants.R_OK | constants.W_OK).then(
            () => true,
            () => false,
          ),
        ),
      );
      return [...new Set(found.filter((_, index) => open[index]))];
    })();
    const sockets = await this.#containerdSockets;
    if (sockets.length === 0) return undefined;
    const namespace = this.#containerd?.Namespaces?.Containers ?? "moby";
    let created: { Id: string };
    try {
      created = await this.#http.json<{ Id: string }>({
        method: "POST",
        path: "/containers/create",
        json: {
          Image: ref,
          // Never run: a command is needed to create it, none to read its snapshot.
          Cmd: ["stagecraft-layer-scan"],
          NetworkDisabled: true,
          Labels: { "org.stagecraft.managed": "true", "org.stagecraft.layer-scan": "true" },
          HostConfig: { NetworkMode: "none" },
        },
        signal: this.#bounded(signal),
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      this.#log.debug({ ref, error: String(error) }, "no container for the layer scan");
      return undefined;
    }
    try {
      for (const socket of sockets) {
        try {
          const mounts = await askSnapshotMounts(
            socket,
            { namespace, snapshotter: store.driver, key: created.Id },
            signal,
          );
          const dirs = layerDirsOfMounts(mounts, layers);
          if (dirs !== undefined) return dirs;
        } catch (error) {
          if (signal?.aborted === true) throw abortReason(signal);
          // Not this containerd (no such snapshot), or none there.
          this.#log.debug({ socket, error: String(error) }, "Snapshots.Mounts");
        }
      }
      return undefined;
    } finally {
      await this.#http
        .json<unknown>({
          method: "DELETE",
          path: `/containers/${created.Id}`,
          query: { force: "true", v: "true" },
        })
        .catch(() => undefined);
    }
  }

  async imageHistory(ref: string, signal?: AbortSignal): Promise<ImageHistoryEntry[]> {
    const bounded = this.#bounded(signal);
    let entries: HistoryAnswer[];
    try {
      entries = await this.#http.json<HistoryAnswer[]>({
        method: "GET",
        path: `/images/${encodeURI(ref)}/history`,
        signal: bounded,
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent(`GET /images/${ref}/history`);
      throw this.#requestError(error, `reading the history of image ${ref}`);
    }
    return entries.map((entry) => ({
      id: entry.Id,
      createdBy: entry.CreatedBy,
      sizeBytes: entry.Size,
      comment: entry.Comment,
      created: entry.Created,
    }));
  }

  /** Names the image `source` `target` through `POST /images/{source}/tag?repo=&tag=`. */
  async tagImage(source: string, target: string, signal?: AbortSignal): Promise<void> {
    const { name, tag } = splitTag(target);
    const bounded = this.#bounded(signal);
    try {
      await this.#http.json<unknown>({
        method: "POST",
        path: `/images/${encodeURI(source)}/tag`,
        query: { repo: name, tag },
        signal: bounded,
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent(`POST /images/${source}/tag`);
      throw this.#requestError(error, `tagging image ${source} as ${target}`);
    }
  }

  async removeImage(ref: string, signal?: AbortSignal): Promise<void> {
    const bounded = this.#bounded(signal);
    try {
      await this.#http.json<unknown>({
        method: "DELETE",
        path: `/images/${encodeURI(ref)}`,
        signal: bounded,
      });
    } catch (error) {
      if (error instanceof EngineHttpError && error.statusCode === 404) return;
      if (signal?.aborted === true) throw abortReason(signal);
      if (bounded.aborted) throw this.#silent(`DELETE /images/${ref}`);
      throw this.#requestError(error, `removing image ${ref}`);
    }
  }

  async #hijack(
    path: string,
    headers: Record<string, string | string[]>,
    signal: AbortSignal,
  ): Promise<Duplex> {
    try {
      return await this.#http.upgrade({ method: "POST", path, headers, signal });
    } catch (error) {
      throw this.#requestError(error, `opening a session (${path})`);
    }
  }

  async #dial(request: BuildRequest): Promise<IncomingMessage> {
    try {
      return await this.#http.stream({
        method: "POST",
        path: "/build",
        query: buildQuery(request),
        // A session that serves the context (FileSync) replaces the tar upload.
        ...(request.session?.contextDockerfile === undefined ? { body: request.context() } : {}),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
    } catch (error) {
      if (request.signal?.aborted === true) throw abortReason(request.signal);
      throw this.#requestError(error, "starting the build");
    }
  }

  /** The Docker CLI's config (contexts, registry logins), read once and only when needed. */
  #dockerConfig(): DockerConfig {
    this.#config ??= readDockerConfig(this.#env);
    return this.#config;
  }

  /** The caller's signal, and the request time limit. */
  #bounded(signal: AbortSignal | undefined): AbortSignal {
    return deadlineSignal(this.#requestTimeoutMs, signal);
  }

  /** An engine that took the connection and did not answer in time. */
  #silent(call: string): EngineError {
    const seconds = Math.round(this.#requestTimeoutMs / 1000);
    return new EngineError(
      "ENGINE_UNRESPONSIVE",
      `the engine at ${this.endpoint.description} (from ${this.endpoint.source}) took the connection but did not answer ${call} within ${seconds} s`,
      {
        hint: "The engine may be frozen or overloaded; check it with `docker info` (or restart it) and retry.",
      },
    );
  }

  #unreachable(error: unknown): EngineError {
    // The message names the code and what it was about ("connect ECONNREFUSED 127.0.0.1:2375",
    // "cannot run ssh to reach host: spawn ssh ENOENT"); the code alone does not.
    const reason = (error as Error).message;
    return new EngineError(
      "ENGINE_UNREACHABLE",
      `no Docker Engine answers at ${this.endpoint.description} (from ${this.endpoint.source}): ${reason}`,
      {
        cause: error,
        hint:
          "Start Docker, or point stagecraft at an engine with DOCKER_HOST (unix://…, tcp://HOST:PORT, ssh://USER@HOST) " +
          "or DOCKER_CONTEXT.",
      },
    );
  }

  #requestError(error: unknown, doing: string): EngineError {
    if (!(error instanceof EngineHttpError) || error.statusCode === undefined) {
      return this.#unreachable(error);
    }
    const message = error.message;
    return new EngineError(
      "ENGINE_REQUEST",
      `the engine refused ${doing} (HTTP ${error.statusCode}): ${message}`,
      {
        cause: error,
        statusCode: error.statusCode,
      },
    );
  }
}

/** Where a dockerode client points, as an endpoint (for messages and the local-socket choice). */
function endpointOfModem(modem: DockerModem): EngineEndpoint {
  if (typeof modem.socketPath === "string") {
    return {
      description: `unix://${modem.socketPath}`,
      source: "the dockerode client",
      transport: { kind: "unix", socketPath: modem.socketPath },
    };
  }
  const protocol = typeof modem.protocol === "string" ? modem.protocol : "tcp";
  const host = typeof modem.host === "string" ? modem.host : "unknown";
  return {
    description: `${protocol}://${host}`,
    source: "the dockerode client",
    // Not on this machine's socket: the context goes through a session.
    transport: { kind: "tcp", host, port: 0 },
  };
}

/** `reg:5000/app:1` → name `reg:5000/app`, tag `1`; no tag is `latest` (as `docker build -t` tags). */
function splitTag(ref: string): { name: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: "latest" };
}

/**
 * The registry refused the login: Distribution says `unauthorized: authentication required` or
 * `denied: …`, the engine `no basic auth credentials` (both through the push stream).
 */
function isDenied(message: string): boolean {
  return /unauthori[sz]ed|authentication required|no basic auth credentials|denied|\b40[13]\b/i.test(
    message,
  );
}

/** The error an aborted signal carries, as an Error whatever the caller passed to `abort()`. */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException("The build was aborted", "AbortError");
}

/**
 * overlay2's layer directories, oldest first: `LowerDir` lists the layers below the top one, the
 * nearest first (moby daemon/graphdriver/overlay2/overlay.go `GetMetadata`), `UpperDir` is the top.
 */
function layerDirsOf(image: ImageAnswer): { layerDirs?: string[] } {
  const driver = image.GraphDriver;
  if (driver?.Name !== "overlay2" || driver.Data === undefined || driver.Data === null) return {};
  const upper = driver.Data.UpperDir;
  if (upper === undefined || upper === "") return {};
  const lower = (driver.Data.LowerDir ?? "").split(":").filter((dir) => dir !== "");
  return { layerDirs: [...lower.reverse(), upper] };
}

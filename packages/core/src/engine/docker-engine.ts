import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { BuildFailedError, EngineError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { buildQuery } from "./build-query.js";
import { EngineHttpError, HttpTransport } from "./http-transport.js";
import type {
  BuildRequest,
  BuildResponse,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
} from "./engine.js";
import { resolveEngineEndpoint, type EngineEndpoint } from "./resolve-endpoint.js";
import { describeSessionFailure } from "./session/describe-session-failure.js";
import type { StartSessionOptions } from "./session/start-session.js";

/** The oldest API that has BuildKit builds through `/build?version=2` (Docker 18.09). */
const MIN_BUILDKIT_API = [1, 39] as const;

interface DaemonLine {
  id?: string;
  aux?: unknown;
  errorDetail?: { message?: string };
  error?: string;
  message?: string;
}

/** What `GET /version` answers, as far as stagecraft reads it. */
interface VersionAnswer {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
}

/** What `GET /images/{ref}/json` answers, as far as stagecraft reads it. */
interface ImageAnswer {
  Id: string;
  Size: number;
  RepoTags: string[] | null;
  Created: string;
  Config: { Labels: Record<string, string> | null };
}

/** Options of `DockerEngine`. */
export interface DockerEngineOptions {
  /** Environment to read `DOCKER_HOST`, `DOCKER_CONTEXT`, … from (default: `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Connect here instead of resolving from the environment. */
  endpoint?: EngineEndpoint;
  /** Diagnostics (requests, cancels, stream ends); silent by default. */
  logger?: Logger;
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
  readonly #http: HttpTransport;
  readonly #log: Logger;

  constructor(options: DockerEngineOptions = {}) {
    const env = options.env ?? process.env;
    this.endpoint = options.endpoint ?? resolveEngineEndpoint(env);
    this.#http = new HttpTransport(this.endpoint.transport, env);
    this.#log = options.logger ?? silentLogger;
    this.#log.debug(
      { endpoint: this.endpoint.description, source: this.endpoint.source },
      "engine endpoint",
    );
  }

  async info(): Promise<EngineInfo> {
    let version: VersionAnswer;
    try {
      version = await this.#http.json<VersionAnswer>({ method: "GET", path: "/version" });
    } catch (error) {
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

  async build(request: BuildRequest): Promise<BuildResponse> {
    const signal = request.signal;
    signal?.throwIfAborted();
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
      let pending = "";
      let imageId: string | undefined;
      let daemonError: string | undefined;
      let settled = false;
      const decoder = new TextDecoder();
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        this.#log.debug(
          { buildId: request.buildId, imageId, daemonError, ms: Date.now() - startedAt },
          "build stream ended",
        );
        signal?.removeEventListener("abort", onAbort);
        stopWatchingSession();
        outcome();
      };
      const handleLine = (raw: string): void => {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (line === "") return;
        request.onLine?.(line);
        let parsed: DaemonLine;
        try {
          parsed = JSON.parse(line) as DaemonLine;
        } catch {
          return;
        }
        if (parsed.errorDetail !== undefined || parsed.error !== undefined) {
          // The first error is the one that ended the build; later lines cannot undo it.
          daemonError ??= parsed.errorDetail?.message ?? parsed.error ?? "unknown error";
        } else if (parsed.id === "moby.image.id") {
          const aux = parsed.aux as { ID?: unknown } | undefined;
          if (typeof aux?.ID === "string") imageId = aux.ID;
        }
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
        pending += decoder.decode(chunk, { stream: true });
        let newline = pending.indexOf("\n");
        while (newline !== -1) {
          handleLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          newline = pending.indexOf("\n");
        }
      });
      response.on("end", () => {
        pending += decoder.decode();
        if (pending !== "") handleLine(pending);
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

  async cancelBuild(buildId: string): Promise<void> {
    this.#log.debug({ buildId }, "POST /build/cancel");
    try {
      await this.#http.json({ method: "POST", path: "/build/cancel", query: { id: buildId } });
    } catch (error) {
      throw this.#requestError(error, `cancelling build ${buildId}`);
    }
  }

  /**
   * Opens a BuildKit session (`POST /session`, upgraded to h2c) serving secrets, SSH agents, outputs
   * and registry credentials to the builds that carry it; close it when the run ends.
   */
  async openSession(options: StartSessionOptions): Promise<EngineSession> {
    // Loaded on first use: gRPC costs ~80 ms of start-up that a build without a session never needs.
    const { startSession } = await import("./session/start-session.js");
    return await startSession((headers) => this.#hijack("/session", headers), options, this.#log);
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    let image: ImageAnswer;
    try {
      image = await this.#http.json<ImageAnswer>({
        method: "GET",
        path: `/images/${encodeURI(ref)}/json`,
      });
    } catch (error) {
      if (error instanceof EngineHttpError && error.statusCode === 404) return undefined;
      throw this.#requestError(error, `inspecting image ${ref}`);
    }
    // The engine sends `null` for an image without labels.
    const labels = image.Config.Labels;
    return {
      id: image.Id,
      size: image.Size,
      tags: image.RepoTags ?? [],
      labels: labels ?? {},
      created: image.Created,
    };
  }

  async #hijack(path: string, headers: Record<string, string | string[]>): Promise<Duplex> {
    try {
      return await this.#http.upgrade({ method: "POST", path, headers });
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
          "or DOCKER_CONTEXT; on Debian as root, `bash docker/ensure-engine.sh` installs and starts one.",
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

/** The error an aborted signal carries, as an Error whatever the caller passed to `abort()`. */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException("The build was aborted", "AbortError");
}

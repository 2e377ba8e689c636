import type { Readable } from "node:stream";

/** What an engine says about itself before anything is built. */
export interface EngineInfo {
  /** Where the engine was reached, e.g. `unix:///var/run/docker.sock`. */
  endpoint: string;
  /** The engine's version, e.g. `26.1.5`. */
  version: string;
  /** The API version it speaks, e.g. `1.45`. */
  apiVersion: string;
  /** The engine's platform, e.g. `linux/amd64`: the default build and target platform. */
  platform: string;
  os: string;
  arch: string;
  /** True when `/build?version=2` (BuildKit) is available. */
  buildkit: boolean;
}

/** Network mode of `RUN` steps, as `docker build --network`. */
export type NetworkMode = "default" | "host" | "none";

/** One `/build` request: one target of one Dockerfile. */
export interface BuildRequest {
  /** Makes a fresh tar stream of the build context (called once per request). */
  context: () => Readable;
  /** The Dockerfile's path inside the context tar. */
  dockerfile: string;
  /** The stage to build; undefined builds the Dockerfile's last stage. */
  target?: string | undefined;
  tags?: readonly string[] | undefined;
  buildArgs?: Readonly<Record<string, string>> | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  platform?: string | undefined;
  noCache?: boolean | undefined;
  pull?: boolean | undefined;
  network?: NetworkMode | undefined;
  /** `HOST:IP` entries for /etc/hosts inside `RUN` steps. */
  extraHosts?: readonly string[] | undefined;
  cacheFrom?: readonly string[] | undefined;
  /** An id the engine can cancel the build by (`cancelBuild`). */
  buildId: string;
  /** Aborting drops the request; the daemon stops the build. */
  signal?: AbortSignal | undefined;
  /** Every line of the daemon's response stream, as received (NDJSON, `\r` removed). */
  onLine?: ((line: string) => void) | undefined;
}

/** What a successful build returns. */
export interface BuildResponse {
  /** The built image's id (`sha256:…`). */
  imageId: string;
}

/** An image as the engine stores it: enough for the report's sizes. */
export interface ImageDetails {
  id: string;
  /** Bytes, as `docker image inspect` reports `Size`. */
  size: number;
  tags: readonly string[];
  labels: Readonly<Record<string, string>>;
  created: string;
}

/**
 * A place that builds images. The scheduler talks to this port only; `DockerEngine` is the adapter for
 * the Docker Engine API, and `@stagecraft/core/testing` has a scripted fake.
 */
export interface Engine {
  /** Probes the engine; rejects with an `EngineError` when it cannot be reached or cannot build. */
  info(): Promise<EngineInfo>;
  /**
   * Runs one BuildKit build; resolves with the image id, rejects with a `BuildFailedError` (the
   * daemon's message), an `EngineError` (HTTP error, dropped stream), or the signal's reason.
   */
  build(request: BuildRequest): Promise<BuildResponse>;
  /** Asks the engine to stop a running build; resolves once the engine accepted the request. */
  cancelBuild(buildId: string): Promise<void>;
  /** Looks an image up by id or tag; undefined when it does not exist. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
}

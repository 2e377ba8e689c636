import type { Readable, Writable } from "node:stream";
import type { DecodedStatus } from "../progress/decode-status.js";
import type { BuildPath, EngineCapabilities } from "./engine-capabilities.js";
import type { RegistryImage, RegistryPlatform } from "./read-registry-image.js";

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

/**
 * One cache source or destination in docker's terms (`--cache-from`/`--cache-to`): `type` is
 * `registry`, `local`, `inline`, `gha`, …; `attrs` its options (`ref`, `mode`, `src`, `dest`, …).
 */
export interface CacheEntry {
  type: string;
  attrs: Record<string, string>;
}

/** Network mode of `RUN` steps, as `docker build --network`. */
export type NetworkMode = "default" | "host" | "none";

/** How every target of a run is built: the options of `docker build` that are not about one target. */
export interface BuildSettings {
  buildArgs?: Readonly<Record<string, string>> | undefined;
  /** Labels on every built image (stagecraft adds its own: see `IMAGE_LABELS`). */
  labels?: Readonly<Record<string, string>> | undefined;
  /** The target platform, e.g. `linux/arm64`; the engine's own by default. */
  platform?: string | undefined;
  /** Build every step again, as `--no-cache`. */
  noCache?: boolean | undefined;
  /** Look for newer base images in their registry, as `--pull`. */
  pull?: boolean | undefined;
  network?: NetworkMode | undefined;
  /** `HOST:IP` entries for /etc/hosts inside `RUN` steps. */
  extraHosts?: readonly string[] | undefined;
  /**
   * Where the build may find cache: `registry` entries (`attrs.ref`) go to `/build` as `cachefrom`
   * (any image store); other types need BuildKit's Control API.
   */
  cacheFrom?: CacheEntry[] | undefined;
  /**
   * Where the build exports its cache: `inline` goes to `/build` as `BUILDKIT_INLINE_CACHE=1`;
   * `registry`, `local` and `gha` need BuildKit's Control API on a containerd-store engine.
   */
  cacheTo?: CacheEntry[] | undefined;
  /**
   * Named contexts (`--build-context NAME=VALUE`): a directory on this machine, or
   * `docker-image://REF`; a `FROM NAME` or `COPY --from=NAME` then reads it (Control API only).
   */
  namedContexts?: Readonly<Record<string, string>> | undefined;
}

/** One build request: one target of one Dockerfile. */
export interface BuildRequest extends BuildSettings {
  /** Makes a fresh tar stream of the build context (called once per request). */
  context: () => Readable;
  /** The Dockerfile's path inside the context tar. */
  dockerfile: string;
  /** The stage to build; undefined builds the Dockerfile's last stage. */
  target?: string | undefined;
  tags?: readonly string[] | undefined;
  /** An id the engine can cancel the build by (`cancelBuild`). */
  buildId: string;
  /** Aborting drops the request; the daemon stops the build. */
  signal?: AbortSignal | undefined;
  /** Every BuildKit status message of the build, decoded, in the order received. */
  onStatus?: ((status: DecodedStatus) => void) | undefined;
  /**
   * The session (from `Engine.openSession`) that serves this build's secrets, SSH agents and outputs;
   * the build fails with an `EngineError` if the session ends before it does.
   */
  session?: EngineSession | undefined;
  /**
   * Only the image's size is wanted (a stage-size probe): where the engine can, the image's content
   * is exported without naming or unpacking it, so no image is made that must be removed, and
   * `BuildResponse.sizeBytes` says what `docker image inspect` would count for it. An engine that
   * cannot makes the image as usual and answers its `imageId`.
   */
  sizeOnly?: boolean | undefined;
}

/** Where a build's result goes besides the image store: a tar stream or a directory on this machine. */
export type SessionOutput =
  | {
      type: "tar";
      /** Opens the stream the tar is written to; it is ended when the tar is complete. */
      open: () => Writable;
    }
  | {
      type: "local";
      /** The directory the result's files are written into (created when missing). */
      dir: string;
    };

/** An SSH agent the build's `RUN --mount=type=ssh,id=ID` steps may use, forwarded from this machine. */
export interface SessionSshAgent {
  /** The id the Dockerfile names (`default` when it names none). */
  id: string;
  /** The agent's Unix socket, e.g. `$SSH_AUTH_SOCK`. */
  socket: string;
}

/** Registry credentials the daemon may ask for, per registry host (`docker.io`, `ghcr.io`, …). */
export type SessionCredentials = Readonly<
  Record<string, { username: string; secret: string } | undefined>
>;

/** What a BuildKit session offers the builds that use it. */
export interface SessionOptions {
  /** Secret values by id, for `RUN --mount=type=secret,id=ID`; never sent anywhere else. */
  secrets?: Readonly<Record<string, Uint8Array>> | undefined;
  /** SSH agents by id, for `RUN --mount=type=ssh`. */
  ssh?: readonly SessionSshAgent[] | undefined;
  /** Where each build's result is exported to; builds using the session then export there instead of to the image store. */
  output?: SessionOutput | undefined;
  /** Registry credentials (the daemon asks when it pulls); none answers anonymously. */
  credentials?: SessionCredentials | undefined;
  /**
   * Serve the build context from this directory through FileSync (`remote=client-session`) instead of
   * a tar upload: the daemon keeps a copy per context directory and asks only for changed files.
   */
  context?:
    | {
        dir: string;
        dockerfile: string;
        /** More directories served by name, for named contexts (`context:NAME` = `local:NAME`). */
        named?: Readonly<Record<string, string>> | undefined;
      }
    | undefined;
  /** Told what each FileSync transfer sent (`dir` is `context` or `dockerfile`). */
  onContextSent?: ((sent: { dir: string; files: number; bytes: number }) => void) | undefined;
  /** Names the session in the daemon's records (default `stagecraft`). */
  name?: string | undefined;
}

/**
 * A BuildKit session held open by the engine for a run: builds that carry it (`BuildRequest.session`)
 * read its secrets, use its SSH agents and send it their outputs. One session serves many builds.
 */
export interface EngineSession {
  /** The session id the daemon knows it by (`session=` on `/build`). */
  readonly id: string;
  /** The exporter builds using this session must name (`outputs=`), when the session receives outputs. */
  readonly output: SessionOutput["type"] | undefined;
  /** The Dockerfile's name in its directory when the session serves the build context, else undefined. */
  readonly contextDockerfile: string | undefined;
  /** The error the session ended with, once it has ended unexpectedly; undefined while it is alive. */
  readonly failure: Error | undefined;
  /** The error writing the session's output failed with (a full disk), once it has; else undefined. */
  readonly outputFailure?: Error | undefined;
  /** The error reading the build context for the daemon failed with (an unreadable file), once it has. */
  readonly contextFailure?: Error | undefined;
  /** Calls `listener` once if the session ends before `close()`; returns an unsubscribe function. */
  onFailure(listener: (error: Error) => void): () => void;
  /** Waits for outputs still being written, then ends the session; safe to call twice. */
  close(): Promise<void>;
}

/** What a successful build returns. */
export interface BuildResponse {
  /**
   * The built image's id (`sha256:…`); empty when the build exported to its session's output
   * instead, or made no image for a `sizeOnly` request.
   */
  imageId: string;
  /**
   * For a `sizeOnly` request that made no image: the image's size as `docker image inspect` counts
   * it on the containerd store (the manifest, its config and its layer blobs); undefined when it
   * could not be read.
   */
  sizeBytes?: number | undefined;
}

/** Byte progress of one layer of a push, as the engine reports it. */
export interface PushProgress {
  /** The layer's short id, e.g. `a1b2c3d4e5f6`. */
  layer: string;
  /** `Preparing`, `Waiting`, `Pushing`, `Pushed`, `Layer already exists`, … */
  status: string;
  /** Bytes sent so far and the layer's size, while `Pushing`; null otherwise. */
  current: number | null;
  total: number | null;
}

/** One push: an image name with its tag, already in the engine's store. */
export interface PushRequest {
  /** `registry/name:tag` (no tag: `latest`). */
  ref: string;
  /** Per-layer byte progress, in the order received. */
  onProgress?: ((progress: PushProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** What a finished push stored. */
export interface PushResponse {
  /** The manifest digest in the registry (`sha256:…`): pull by `name@digest`. */
  digest: string;
  /** The manifest's size in bytes, when the engine said. */
  sizeBytes: number | null;
}

/** An image as the engine stores it: enough for the report's sizes. */
export interface ImageDetails {
  id: string;
  /** Bytes, as `docker image inspect` reports `Size`. */
  sizeBytes: number;
  tags: readonly string[];
  labels: Readonly<Record<string, string>>;
  created: string;
  /** `Config.User` (empty: root); undefined when the adapter does not report it. */
  user?: string | undefined;
  /** `Config.Env` as `KEY=value` strings; undefined when the adapter does not report it. */
  env?: readonly string[] | undefined;
  /** `Config.Shell`, empty when the image sets none; undefined when the adapter does not report it. */
  shell?: readonly string[] | undefined;
  /** The image's `Os`, e.g. `linux`; undefined when the adapter does not report it. */
  os?: string | undefined;
  /** The image's `Architecture`, e.g. `amd64`; undefined when the adapter does not report it. */
  architecture?: string | undefined;
  /** The image's `Variant`, e.g. `v8`, empty when it has none; undefined when not reported. */
  variant?: string | undefined;
  /**
   * Each layer's files as a directory on the engine's machine, oldest first (overlay2's `diff`
   * directories); undefined for other image stores.
   */
  layerDirs?: readonly string[] | undefined;
  /** `RootFS.Layers`: each layer's uncompressed digest, oldest first; undefined when not reported. */
  diffIds?: readonly string[] | undefined;
  /** What a build `FROM` the image inherits of its config (`runConfigKey`); undefined when not reported. */
  runConfig?: string | undefined;
}

/** One entry of an image's history (`docker history`), newest first: a layer or a config-only step. */
export interface ImageHistoryEntry {
  /** The image id of this entry, or `<missing>` for a layer that has no image of its own. */
  id: string;
  /** The instruction as the builder recorded it, e.g. `RUN /bin/sh -c make # buildkit`. */
  createdBy: string;
  /** Uncompressed size of the layer this entry added (0 for a config-only step). */
  sizeBytes: number;
  /** `buildkit.dockerfile.v0` for BuildKit-built steps. */
  comment: string;
  /** Epoch seconds. */
  created: number;
}

/**
 * What an image's registry said, through the engine, when asked for the image's manifest
 * (`GET /distribution/{name}/json`): the engine contacts the registry as a pull would, with its
 * mirrors, proxies and the caller's login.
 */
export type DistributionAnswer =
  /** The registry has it: a pull would succeed. */
  | { readonly kind: "found"; readonly digest: string }
  /** The registry answered and has no such name or tag (HTTP 404, "manifest unknown"). */
  | { readonly kind: "absent"; readonly message: string }
  /** The registry wants a login, or refused the one sent (HTTP 401/403, "no basic auth credentials"). */
  | { readonly kind: "denied"; readonly message: string }
  /** The engine could not reach the registry (DNS, connection, TLS), in the daemon's words. */
  | { readonly kind: "unreachable"; readonly message: string };

/**
 * A place that builds images. The scheduler talks to this port only; `DockerEngine` is the adapter for
 * the Docker Engine API, and `@stagecraft/core/testing` has a scripted fake.
 */
export interface Engine {
  /** Whether the engine runs on this machine (a small context then goes as one tar per build). */
  readonly local: boolean;
  /**
   * How builds reach BuildKit: `build` through the Engine's `POST /build` (inline cache export only),
   * `control` through BuildKit's Control API (cache export where the image store allows it, named
   * contexts). Undefined means `build`.
   */
  readonly buildPath?: BuildPath | undefined;
  /**
   * Probes the engine; rejects with an `EngineError` when it cannot be reached or does not answer,
   * or with the signal's reason once it aborts.
   */
  info(signal?: AbortSignal): Promise<EngineInfo>;
  /**
   * Runs one BuildKit build; resolves with the image id, rejects with a `BuildFailedError` (the
   * daemon's message), an `EngineError` (HTTP error, dropped stream), or the signal's reason.
   */
  build(request: BuildRequest): Promise<BuildResponse>;
  /**
   * Asks the engine to stop a running build; resolves once the engine accepted the request. The
   * signal gives up on the request (an engine that does not answer must not hold the run).
   */
  cancelBuild(buildId: string, signal?: AbortSignal): Promise<void>;
  /** Looks an image up by id or tag; undefined when it does not exist. */
  inspectImage(ref: string, signal?: AbortSignal): Promise<ImageDetails | undefined>;
  /**
   * Asks the engine whether it could pull `ref` (`GET /distribution/{ref}/json`, which makes the
   * engine contact the registry), never pulling it; rejects with an `EngineError` when the engine
   * itself does not answer, or with the signal's reason once it aborts. Engines without it leave it out.
   */
  inspectDistribution?(ref: string, signal?: AbortSignal): Promise<DistributionAnswer>;
  /** The image's history, newest first (`GET /images/{ref}/history`); engines without it leave it out. */
  imageHistory?(ref: string, signal?: AbortSignal): Promise<ImageHistoryEntry[]>;
  /**
   * Gives the image `source` (an id or name) the name `target` (`registry/name:tag`), as
   * `docker tag`; rejects with an `EngineError` when there is no such image. Engines without it leave
   * it out.
   */
  tagImage?(source: string, target: string, signal?: AbortSignal): Promise<void>;
  /**
   * The image as `docker save` writes it: a tar holding its manifest and one tar per layer. Engines
   * without it leave it out.
   */
  exportImage?(ref: string, signal?: AbortSignal): Promise<Readable>;
  /**
   * The directories on this machine that may hold the engine's image blobs by digest (a containerd
   * content store's `blobs`, holding `sha256/HEX`), so that layers can be read in place; empty when
   * the engine keeps none here. Engines without it leave it out.
   */
  contentStoreDirs?(signal?: AbortSignal): Promise<string[]>;
  /**
   * Each of the `layers` layers of an image as a directory on this machine, oldest first, where
   * `inspectImage` names none (containerd's overlayfs snapshotter); undefined when they cannot be
   * found. Engines without it leave it out.
   */
  findLayerDirs?(ref: string, layers: number, signal?: AbortSignal): Promise<string[] | undefined>;
  /**
   * Removes an image by id (never forced: an image a container uses or that is tagged elsewhere stays);
   * resolves once it is gone or was already gone. Engines without it leave it out.
   */
  removeImage?(ref: string, signal?: AbortSignal): Promise<void>;
  /**
   * Opens a BuildKit session for secrets, SSH agents and outputs; rejects with an `EngineError` when
   * the engine refuses it. Engines without sessions leave it out.
   */
  openSession?(options: SessionOptions, signal?: AbortSignal): Promise<EngineSession>;
  /**
   * What the engine can do (image store, cache backends, session transport), asked once; engines
   * that cannot tell leave it out.
   */
  capabilities?(signal?: AbortSignal): Promise<EngineCapabilities>;
  /**
   * Pushes a tagged image to its registry with the engine's logins; rejects with a
   * `PushFailedError` (the registry's words) or an `EngineError`. Engines that cannot push leave it out.
   */
  push?(request: PushRequest): Promise<PushResponse>;
  /**
   * Pulls `ref` (`name:tag` or `name@digest`) from its registry into the engine's store with the
   * engine's logins, for `platform` when given, as `docker pull`; rejects with an `EngineError`
   * naming the image and the registry's words. Engines that cannot pull leave it out.
   */
  pullImage?(ref: string, options?: { platform?: string; signal?: AbortSignal }): Promise<void>;
  /**
   * Reads what a registry holds under `ref` (`registry/name:tag`) through the registry API, with the
   * login a push there would use; undefined when it has no such tag; rejects when the registry
   * cannot be asked or refuses. Engines without it leave it out.
   */
  readRegistryImage?(
    ref: string,
    platform: RegistryPlatform,
    signal?: AbortSignal,
  ): Promise<RegistryImage | undefined>;
}

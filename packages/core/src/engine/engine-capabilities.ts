import { UsageError } from "../errors.js";
import type { BuildSettings, EngineInfo } from "./engine.js";

/** Where an engine keeps its images: containerd's snapshotters, or a classic graph driver. */
export type ImageStoreKind = "containerd" | "graph-driver";

/** How a build reaches BuildKit: `POST /build`, or BuildKit's Control API (`/grpc`, native gRPC). */
export type BuildPath = "build" | "control";

/** What an engine can do, known before anything is built (`stagecraft engine` shows it). */
export interface EngineCapabilities extends EngineInfo {
  imageStore: {
    kind: ImageStoreKind;
    /** `GET /info` `Driver`: `overlay2` (graph driver), `overlayfs` (a containerd snapshotter), … */
    driver: string;
  };
  /** The engine's BuildKit version when the engine tells it; `null` when it cannot be known from `/version`. */
  buildkitVersion: string | null;
  /** Cache backends BuildKit registers on this engine, per direction, through the Control API. */
  cache: {
    exporters: string[];
    importers: string[];
  };
  /** What `POST /build` itself can carry, whatever the store: inline export, registry import. */
  buildEndpointCache: { exporters: string[]; importers: string[] };
  /** Platforms the engine builds natively (emulated ones are not reported by the API). */
  platforms: string[];
  /**
   * How a BuildKit session reaches the engine: `session-endpoint` (`POST /session`, upgraded to
   * h2c; Docker < 29.2) or `grpc` (`Control.Session` over gRPC on the socket; API ≥ 1.53).
   */
  sessionTransport: "session-endpoint" | "grpc";
}

/** What `GET /info` answers, as far as capabilities read it. */
export interface InfoAnswer {
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  /** The engine's data root, e.g. `/var/lib/docker`. */
  DockerRootDir?: string;
  /** Its containerd's socket and namespace (newer engines; absent from 26.1's, API 1.45). */
  Containerd?: { Address?: string; Namespaces?: { Containers?: string } | null } | null;
}

/**
 * Moby registers these cache backends (builder-next/controller.go at v26.1.5, the same maps to
 * 29.x): with the containerd snapshotter gha, inline, local, registry (export) and gha, local,
 * registry (import); with a graph driver inline (export) and local, registry (import).
 */
const CACHE_BY_STORE: Readonly<Record<ImageStoreKind, EngineCapabilities["cache"]>> = {
  containerd: {
    exporters: ["gha", "inline", "local", "registry"],
    importers: ["gha", "local", "registry"],
  },
  "graph-driver": { exporters: ["inline"], importers: ["local", "registry"] },
};

/** The API version from which `/session` is deprecated and sessions go over gRPC (Docker 29.2). */
const GRPC_SESSION_API = [1, 53] as const;

/**
 * Whether `POST /build` can read a context uploaded as a tar. With the containerd image store it
 * cannot before Docker 28: the daemon hands BuildKit a made-up URL for the upload
 * (`http://build-context-…`) that only the graph-driver worker knows how to answer, so the build
 * fails with "failed to read downloaded context: … no such host" (moby/moby#47717, fixed by
 * moby/moby#49178 in Docker 28; seen here on 26.1.5). A session (FileSync) works everywhere.
 */
export function readsTarContext(capabilities: EngineCapabilities): boolean {
  if (capabilities.imageStore.kind !== "containerd") return true;
  const major = Number(capabilities.version.split(".")[0]);
  return Number.isFinite(major) && major >= 28;
}

/** Reads the capabilities from what `GET /version` (as `EngineInfo`) and `GET /info` answered. */
export function readCapabilities(info: EngineInfo, answer: InfoAnswer): EngineCapabilities {
  const driverType = (answer.DriverStatus ?? []).find(([key]) => key === "driver-type")?.[1];
  const kind: ImageStoreKind =
    driverType === "io.containerd.snapshotter.v1" ? "containerd" : "graph-driver";
  const [major = 0, minor = 0] = info.apiVersion.split(".").map(Number);
  const grpc =
    major > GRPC_SESSION_API[0] || (major === GRPC_SESSION_API[0] && minor >= GRPC_SESSION_API[1]);
  const cache = CACHE_BY_STORE[kind];
  return {
    ...info,
    imageStore: { kind, driver: answer.Driver ?? "unknown" },
    buildkitVersion: null,
    cache: { exporters: [...cache.exporters], importers: [...cache.importers] },
    buildEndpointCache: { exporters: ["inline"], importers: ["registry"] },
    platforms: [info.platform],
    sessionTransport: grpc ? "grpc" : "session-endpoint",
  };
}

/**
 * Refuses, before anything is sent, every cache setting the engine cannot honour on this build
 * path, with what to change: `/build` exports `inline` only and imports `registry` refs only; the
 * Control API has what the engine's image store registers (`EngineCapabilities.cache`).
 *
 * @throws UsageError naming the cache setting, the engine's store and the way out.
 */
export function checkCacheSupport(
  settings: Pick<BuildSettings, "cacheFrom" | "cacheTo">,
  capabilities: EngineCapabilities,
  path: BuildPath,
): void {
  const store = capabilities.imageStore;
  const storeText =
    store.kind === "containerd" ? "the containerd image store" : `the ${store.driver} graph driver`;
  for (const entry of settings.cacheTo ?? []) {
    const flag = `--cache-to type=${entry.type}`;
    if (entry.type === "inline") continue;
    if (!CACHE_BY_STORE.containerd.exporters.includes(entry.type)) {
      throw new UsageError(
        `${flag}: no Docker Engine has the ${entry.type} cache exporter (only a standalone buildkitd registers it)`,
        { hint: "Use --cache-to type=registry,ref=REF or type=local,dest=DIR, or type=inline." },
      );
    }
    if (!capabilities.cache.exporters.includes(entry.type)) {
      throw new UsageError(
        `${flag}: this engine keeps images in ${storeText}, which exports inline cache only; enable the containerd image store (features.containerd-snapshotter in daemon.json) or use --cache-to type=inline`,
        { hint: "Run `stagecraft engine` to see what this engine can export." },
      );
    }
    if (path === "build") {
      throw new UsageError(
        `${flag}: this build goes through the engine's POST /build, which exports inline cache only (the engine's image store could export ${entry.type} cache through BuildKit's Control API)`,
        { hint: "Use --cache-to type=inline, or a build path through BuildKit's Control API." },
      );
    }
  }
  for (const entry of settings.cacheFrom ?? []) {
    const flag = `--cache-from type=${entry.type}`;
    if (!CACHE_BY_STORE.containerd.importers.includes(entry.type)) {
      throw new UsageError(
        `${flag}: no Docker Engine has the ${entry.type} cache importer (only a standalone buildkitd registers it)`,
        { hint: "Use --cache-from REF (a registry cache or an image with inline cache)." },
      );
    }
    if (!capabilities.cache.importers.includes(entry.type)) {
      throw new UsageError(
        `${flag}: this engine keeps images in ${storeText}, which imports ${capabilities.cache.importers.join(" and ")} cache only`,
        { hint: "Use --cache-from REF (a registry cache or an image with inline cache)." },
      );
    }
    if (path === "build" && !capabilities.buildEndpointCache.importers.includes(entry.type)) {
      throw new UsageError(
        `${flag}: this build goes through the engine's POST /build, whose cachefrom takes image refs only`,
        {
          hint: "Use --cache-from REF (a registry cache or an image with inline cache), or a build path through BuildKit's Control API.",
        },
      );
    }
  }
}

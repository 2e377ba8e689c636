import { BuildFailedError, EngineError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { BuildRequest, BuildResponse } from "../engine.js";
import { describeSessionFailure } from "../session/describe-session-failure.js";
import type { ControlClient } from "./control-client.js";
import type { CacheOptionsEntry, SolveRequest } from "./control-protos.js";
import { GRPC_CANCELLED, GRPC_UNAVAILABLE, GrpcError } from "./grpc-connection.js";

/** After the solve ends, how long the status stream may take to deliver its last messages. */
const STATUS_GRACE_MS = 3000;

/** How a build's image is exported: `moby` inside a Docker Engine, `image` on a standalone buildkitd. */
export type ImageExporter = "moby" | "image";

/**
 * A build's image exported to its registry as well: BuildKit's `image` exporter with `push=true`
 * under these names (`exporter/containerimage`), the one export the moby worker of a graph-driver
 * Engine lacks.
 */
export interface SolvePush {
  /** `registry/name:tag` references, pushed in this order. */
  names: readonly string[];
}

/**
 * The `Control.Solve` request of a build: the Dockerfile frontend (`dockerfile.v0`) with the
 * attributes the docker CLI and buildx send (moby/buildkit `frontend/dockerfile/builder`,
 * `frontend/dockerui/config.go`), the exporter, and cache imports and exports.
 */
export function toSolveRequest(
  request: BuildRequest,
  exporter: ImageExporter,
  push?: SolvePush,
): SolveRequest {
  const session = request.session;
  if (session?.contextDockerfile === undefined) {
    throw new EngineError(
      "ENGINE_UNSUPPORTED",
      "a build through BuildKit's Control API needs its context served by a session (FileSync)",
      {
        hint: "Let the context travel through the session (context transfer `auto` or `session`).",
      },
    );
  }
  const attrs: Record<string, string> = { filename: session.contextDockerfile };
  if (request.target !== undefined) attrs.target = request.target;
  for (const [key, value] of Object.entries(request.buildArgs ?? {})) {
    attrs[`build-arg:${key}`] = value;
  }
  for (const [key, value] of Object.entries(request.labels ?? {})) attrs[`label:${key}`] = value;
  if (request.platform !== undefined) attrs.platform = request.platform;
  // An empty value means every stage (`--no-cache`); a list would name stages.
  if (request.noCache === true) attrs["no-cache"] = "";
  if (request.pull === true) attrs["image-resolve-mode"] = "pull";
  if (request.network !== undefined && request.network !== "default") {
    attrs["force-network-mode"] = request.network;
  }
  if (request.extraHosts !== undefined && request.extraHosts.length > 0) {
    attrs["add-hosts"] = request.extraHosts.join(",");
  }
  for (const [name, value] of Object.entries(request.namedContexts ?? {})) {
    // A directory travels as a FileSync dir of its own, named after the context.
    attrs[`context:${name}`] = isContextUrl(value) ? value : `local:${name}`;
  }
  const imports: CacheOptionsEntry[] = (request.cacheFrom ?? []).map((entry) => ({
    type: entry.type,
    attrs: entry.attrs,
  }));
  if (imports.length > 0) {
    // The frontend reads the imports too, to resolve inline cache of base images (client/solve.go);
    // Go's encoding/json names the fields after the struct.
    attrs["cache-imports"] = JSON.stringify(
      imports.map((entry) => ({ Type: entry.type, Attrs: entry.attrs })),
    );
  }
  const output = session.output;
  const tags = request.tags ?? [];
  return {
    ref: request.buildId,
    session: session.id,
    frontend: "dockerfile.v0",
    frontendAttrs: attrs,
    exporter:
      push !== undefined
        ? { type: "image", attrs: { name: push.names.join(","), push: "true" } }
        : output === undefined
          ? { type: exporter, attrs: imageExporterAttrs(tags, request.sizeOnly === true) }
          : { type: output, attrs: {} },
    cacheImports: imports,
    cacheExports: (request.cacheTo ?? []).map((entry) => ({
      type: entry.type,
      attrs: entry.attrs,
    })),
  };
}

/**
 * The image exporter's attributes. A size-only build gets no name and an empty
 * `dangling-name-prefix`: moby's wrapper of the containerd image exporter names an unnamed image
 * `moby-dangling@…` only when that attribute is absent (builder-next/exporter/wrapper.go), and
 * BuildKit creates (and unpacks) an image only when it has a name (exporter/containerimage), so the
 * manifest, config and layer blobs are written to the content store and nothing else. The graph
 * driver's exporter ignores the attribute and makes its image as before.
 */
function imageExporterAttrs(tags: readonly string[], sizeOnly: boolean): Record<string, string> {
  if (tags.length > 0) return { name: tags.join(",") };
  return sizeOnly ? { "dangling-name-prefix": "" } : {};
}

/** The media types of a single-platform image manifest (OCI's and Docker's schema 2). */
const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

/** The media types of an image index (OCI's and Docker's manifest list). */
const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** The descriptor of the manifest or index an exporter wrote to the content store (`containerimage.descriptor`). */
interface ExportedDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * The manifest or index the exporter wrote to a content store, from `containerimage.descriptor`
 * (base64 JSON); undefined when it names none (the graph driver's exporter keeps its image in its
 * own store and answers no such descriptor).
 */
function exportedDescriptor(response: Record<string, string>): ExportedDescriptor | undefined {
  const encoded = response["containerimage.descriptor"];
  if (encoded === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as Partial<
      Record<keyof ExportedDescriptor, unknown>
    >;
    const { mediaType, digest, size } = parsed;
    if (typeof mediaType !== "string" || typeof digest !== "string" || typeof size !== "number") {
      return undefined;
    }
    if (!MANIFEST_TYPES.has(mediaType) && !INDEX_TYPES.has(mediaType)) return undefined;
    return { mediaType, digest, size };
  } catch {
    return undefined;
  }
}

/** A manifest longer than this is not read (BuildKit's are a few KB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * What `docker image inspect` counts as Size on the containerd store for the exported image: the
 * manifest, its config and every layer blob as stored (moby daemon/containerd/image.go `size`: the
 * sizes of the descriptors it walks; measured on Docker 26.1.5: stagecraft/debian's 121,714,141 =
 * manifest 403 + config 1,098 + layer 121,712,640). Undefined for an index (several platforms or
 * attestations: inspect's choice of platform is not repeated here) or when the manifest is gone.
 */
async function exportedImageSize(
  client: Pick<ControlClient, "readContent">,
  descriptor: ExportedDescriptor,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  if (!MANIFEST_TYPES.has(descriptor.mediaType)) return undefined;
  const bytes = await client.readContent(descriptor.digest, MAX_MANIFEST_BYTES, signal);
  const manifest = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
    config?: { size?: unknown };
    layers?: { size?: unknown }[];
  };
  const sizes = [manifest.config?.size, ...(manifest.layers ?? []).map((layer) => layer.size)];
  if (manifest.config === undefined || sizes.some((size) => typeof size !== "number")) {
    return undefined;
  }
  return descriptor.size + (sizes as number[]).reduce((sum, size) => sum + size, 0);
}

/** Whether a named context's value is a source BuildKit reads itself (`docker-image://…`, …). */
export function isContextUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//.test(value) || value.startsWith("target:");
}

/**
 * Runs one build through `Control.Solve`, following its `Control.Status` stream into
 * `request.onStatus`; resolves with the image id once both have ended.
 */
export async function solveBuild(
  client: ControlClient,
  request: BuildRequest,
  exporter: ImageExporter,
  log: Logger,
  push?: SolvePush,
): Promise<BuildResponse> {
  const signal = request.signal;
  signal?.throwIfAborted();
  const session = request.session;
  if (session?.failure !== undefined) throw session.failure;
  const solveRequest = toSolveRequest(request, exporter, push);
  const target = request.target ?? "(default)";
  const calls = new AbortController();
  const callSignal = signal === undefined ? calls.signal : AbortSignal.any([signal, calls.signal]);
  const stopWatchingSession =
    session?.onFailure((error) => {
      calls.abort(error);
    }) ?? (() => undefined);
  const startedAt = Date.now();
  log.debug({ buildId: request.buildId, target: request.target }, "Control.Solve");
  const status = client.status(
    request.buildId,
    (decoded) => request.onStatus?.(decoded),
    callSignal,
  );
  // The status stream fails with the solve; the solve's error is the one to report.
  status.catch(() => undefined);
  try {
    const response = await client.solve(solveRequest, callSignal);
    await settleStatus(status);
    log.debug({ buildId: request.buildId, ms: Date.now() - startedAt }, "Control.Solve done");
    const descriptor = exportedDescriptor(response);
    if (
      request.sizeOnly === true &&
      response["image.name"] === undefined &&
      descriptor !== undefined
    ) {
      // No image was made (no name): its size is read from the manifest the exporter wrote. The
      // blobs are held by no lease now; a garbage collection between the two would take them.
      const sizeBytes = await exportedImageSize(client, descriptor, signal).catch(
        (error: unknown) => {
          log.debug({ buildId: request.buildId, error: String(error) }, "exported size unread");
          return undefined;
        },
      );
      return { imageId: "", sizeBytes };
    }
    // Both stores name the image by this digest: the config digest on the graph driver, the
    // manifest digest on the containerd store (what `docker image inspect` calls its Id).
    return { imageId: response["containerimage.digest"] ?? "" };
  } catch (error) {
    if (signal?.aborted === true) throw abortReason(signal);
    if (calls.signal.aborted) throw calls.signal.reason as Error;
    // A status from the server is the build's answer; no status (UNAVAILABLE) is a lost connection.
    if (
      error instanceof GrpcError &&
      error.code !== GRPC_CANCELLED &&
      error.code !== GRPC_UNAVAILABLE
    ) {
      await settleStatus(status);
      throw (
        describeSessionFailure(target, error.details, session) ??
        new BuildFailedError({ target, daemonMessage: error.details })
      );
    }
    throw new EngineError(
      "ENGINE_STREAM_ENDED",
      `the connection to BuildKit broke during the build (${(error as Error).message})`,
      {
        cause: error,
        hint: "The engine may have stopped or crashed; check that it is running and retry.",
      },
    );
  } finally {
    stopWatchingSession();
  }
}

/** Waits for the status stream to end, but no longer than BuildKit's own client does. */
async function settleStatus(status: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    status.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STATUS_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException("The build was aborted", "AbortError");
}

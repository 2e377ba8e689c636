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
          ? { type: exporter, attrs: tags.length > 0 ? { name: tags.join(",") } : {} }
          : { type: output, attrs: {} },
    cacheImports: imports,
    cacheExports: (request.cacheTo ?? []).map((entry) => ({
      type: entry.type,
      attrs: entry.attrs,
    })),
  };
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

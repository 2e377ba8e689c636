import type { WorkerRecord } from "./control-protos.js";

/** A worker label only moby's BuildKit sets (moby `builder-next/worker`): its exporter is `moby`. */
export const MOBY_WORKER_LABEL = "org.mobyproject.buildkit.worker.moby.host-gateway-ip";
/** BuildKit `worker/label`: `oci` or `containerd`. */
const EXECUTOR_LABEL = "org.mobyproject.buildkit.worker.executor";
/** BuildKit `worker/label`: the containerd namespace of a containerd worker. */
const NAMESPACE_LABEL = "org.mobyproject.buildkit.worker.containerd.namespace";

/**
 * Where a BuildKit daemon's images go, read from its default (first) worker: `docker-engine` for
 * moby's worker (BuildKit inside a Docker Engine: images land in the Engine's store, under their
 * tags), `containerd` for a containerd worker (images land in containerd's store, in `namespace`),
 * `none` for the OCI worker (no image store anyone runs from: a result stays in the build cache
 * unless it is exported or pushed).
 */
export type WorkerStore =
  | { readonly kind: "docker-engine" }
  | { readonly kind: "containerd"; readonly namespace: string }
  | { readonly kind: "none"; readonly executor: string };

/** Reads the image store of the daemon's default worker from its labels. */
export function readWorkerStore(workers: readonly WorkerRecord[]): WorkerStore {
  const labels = workers[0]?.labels ?? {};
  if (labels[MOBY_WORKER_LABEL] !== undefined) return { kind: "docker-engine" };
  const executor = labels[EXECUTOR_LABEL] ?? "unknown";
  if (executor === "containerd") {
    // buildkitd's default namespace for its containerd worker (`--containerd-worker-namespace`).
    return { kind: "containerd", namespace: labels[NAMESPACE_LABEL] ?? "buildkit" };
  }
  return { kind: "none", executor };
}

/**
 * Why the daemon's default worker cannot push, or undefined when it can: moby's worker on a
 * graph-driver Engine (the moby label with no executor label) exports `moby`, `local` and `tar` only
 * (moby `builder-next/worker/worker.go`); asked for `image` with `push=true`, Docker 26.1.5 answers
 * `exporter "image" could not be found`, and its `moby` exporter ignores `push=true`.
 */
export function readPushRefusal(
  workers: readonly WorkerRecord[],
  endpoint: string,
): string | undefined {
  const labels = workers[0]?.labels ?? {};
  if (labels[MOBY_WORKER_LABEL] === undefined || labels[EXECUTOR_LABEL] !== undefined) {
    return undefined;
  }
  return `the BuildKit at ${endpoint} cannot push images: it is a Docker Engine's, which keeps images in a graph driver, and answers an image export with push=true with 'exporter "image" could not be found'`;
}

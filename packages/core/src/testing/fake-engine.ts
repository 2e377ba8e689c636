import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { BuildFailedError, EngineError, PushFailedError } from "../errors.js";
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
  SessionOptions,
} from "../engine/engine.js";
import type { BuildPath } from "../engine/engine-capabilities.js";
import { createBuildStreamReader } from "../progress/read-build-stream.js";

/** What the fake engine does for one target's build. */
export interface FakeBuildScript {
  /** Milliseconds the build takes before it succeeds or fails. */
  durationMs?: number;
  /** `/build` response lines (NDJSON) to stream when the build starts: their statuses reach `onStatus`. */
  lines?: readonly string[];
  /** Fail with this daemon message instead of succeeding. */
  failWith?: string;
  /** End the stream without a result, as a crashed engine would. */
  dropStream?: boolean;
  /** Image size reported by `inspectImage`. */
  sizeBytes?: number;
  /** The image's history reported by `imageHistory`, newest first (default: none). */
  history?: readonly ImageHistoryEntry[];
  /** The image's layer directories on this machine, oldest first, as `inspectImage` reports them. */
  layerDirs?: readonly string[];
  /** What `exportImage` streams for the image (a `docker save` tar); default: no export. */
  exportTar?: () => Readable;
  /**
   * How a `sizeOnly` request is answered: `size` makes no image and answers `sizeBytes` (the
   * containerd store through the Control API), `unread` makes none and answers no size (its
   * manifest was gone); default: an image, as an engine that cannot.
   */
  sizeOnly?: "size" | "unread";
}

/** A record of one request the fake engine received. */
export interface FakeBuildCall {
  request: BuildRequest;
  startedAt: number;
  endedAt?: number;
  outcome?: "succeeded" | "failed" | "cancelled" | "aborted" | "dropped";
}

/**
 * A scripted engine for unit tests: each target's build waits, emits lines, and succeeds or fails as
 * scripted; honours `cancelBuild` and the request's AbortSignal like the real daemon does.
 *
 * @example
 * const engine = new FakeEngine({ app: { durationMs: 20 }, test: { failWith: "exit code: 1" } });
 */
export class FakeEngine implements Engine {
  readonly local = true;
  /** Where it says it was reached, as `DockerEngine.endpoint` does. */
  readonly endpoint = { description: "fake://" } as const;
  readonly calls: FakeBuildCall[] = [];
  readonly cancelled: string[] = [];
  readonly #scripts: Readonly<Record<string, FakeBuildScript>>;
  readonly #images = new Map<string, ImageDetails>();
  readonly #histories = new Map<string, readonly ImageHistoryEntry[]>();
  readonly #exports = new Map<string, () => Readable>();
  /** The ids `removeImage` removed, in order. */
  readonly removed: string[] = [];
  readonly #cancellers = new Map<string, () => void>();
  #counter = 0;
  readonly #pushMs: number;
  /** Every push, in order: the name pushed, when it ended and the digest it got. */
  readonly pushes: { ref: string; endedAt: number; digest: string }[] = [];

  /** `control` pretends to build through BuildKit's Control API (named contexts, pinned bases). */
  readonly buildPath: BuildPath | undefined;

  /** `pushMs`: how long each push takes (default 0). */
  constructor(
    scripts: Readonly<Record<string, FakeBuildScript>> = {},
    options: { buildPath?: BuildPath; pushMs?: number } = {},
  ) {
    this.#scripts = scripts;
    this.buildPath = options.buildPath;
    this.#pushMs = options.pushMs ?? 0;
  }

  info(): Promise<EngineInfo> {
    return Promise.resolve({
      endpoint: "fake://",
      version: "26.1.5",
      apiVersion: "1.45",
      platform: "linux/amd64",
      os: "linux",
      arch: "amd64",
      buildkit: true,
    });
  }

  /** How many builds were running at the same time, at most. */
  get maxConcurrent(): number {
    let max = 0;
    for (const call of this.calls) {
      const overlapping = this.calls.filter(
        (other) =>
          other.startedAt <= call.startedAt && (other.endedAt ?? Infinity) > call.startedAt,
      ).length;
      max = Math.max(max, overlapping);
    }
    return max;
  }

  build(request: BuildRequest): Promise<BuildResponse> {
    const script = this.#scripts[request.target ?? "(default)"] ?? {};
    const call: FakeBuildCall = { request, startedAt: performance.now() };
    this.calls.push(call);
    return new Promise<BuildResponse>((resolve, reject) => {
      const finish = (outcome: NonNullable<FakeBuildCall["outcome"]>, settle: () => void): void => {
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
        this.#cancellers.delete(request.buildId);
        call.endedAt = performance.now();
        call.outcome = outcome;
        settle();
      };
      const onAbort = (): void => {
        const reason: unknown = request.signal?.reason;
        finish("aborted", () => {
          reject(reason instanceof Error ? reason : new Error("aborted"));
        });
      };
      if (request.signal?.aborted === true) {
        onAbort();
        return;
      }
      request.signal?.addEventListener("abort", onAbort, { once: true });
      this.#cancellers.set(request.buildId, () => {
        finish("cancelled", () => {
          reject(
            new BuildFailedError({
              target: request.target ?? "(default)",
              daemonMessage: "context canceled",
            }),
          );
        });
      });
      const reader = createBuildStreamReader((status) => request.onStatus?.(status));
      for (const line of script.lines ?? []) reader.push(`${line}\n`);
      reader.end();
      const timer = setTimeout(() => {
        if (script.dropStream === true) {
          finish("dropped", () => {
            reject(
              new EngineError(
                "ENGINE_STREAM_ENDED",
                "the connection to the engine broke during the build",
              ),
            );
          });
        } else if (script.failWith !== undefined) {
          const message = script.failWith;
          finish("failed", () => {
            reject(
              new BuildFailedError({
                target: request.target ?? "(default)",
                daemonMessage: message,
              }),
            );
          });
        } else if (request.sizeOnly === true && script.sizeOnly !== undefined) {
          const answer = script.sizeOnly;
          finish("succeeded", () => {
            resolve(
              answer === "size"
                ? { imageId: "", sizeBytes: script.sizeBytes ?? 1_000_000 }
                : { imageId: "" },
            );
          });
        } else {
          this.#counter += 1;
          const imageId = `sha256:${this.#counter.toString(16).padStart(64, "0")}`;
          const details: ImageDetails = {
            id: imageId,
            sizeBytes: script.sizeBytes ?? 1_000_000,
            tags: request.tags ?? [],
            labels: request.labels ?? {},
            created: new Date().toISOString(),
            ...(script.layerDirs === undefined ? {} : { layerDirs: script.layerDirs }),
          };
          this.#images.set(imageId, details);
          if (script.exportTar !== undefined) this.#exports.set(imageId, script.exportTar);
          this.#histories.set(imageId, script.history ?? []);
          for (const tag of request.tags ?? []) this.#images.set(tag, details);
          finish("succeeded", () => {
            resolve({ imageId });
          });
        }
      }, script.durationMs ?? 0);
    });
  }

  cancelBuild(buildId: string): Promise<void> {
    this.cancelled.push(buildId);
    this.#cancellers.get(buildId)?.();
    return Promise.resolve();
  }

  /** The options of every session opened, in order. */
  readonly sessions: SessionOptions[] = [];

  /** Opens a session that serves nothing (the fake daemon never asks), recording its options. */
  openSession(options: SessionOptions): Promise<EngineSession> {
    this.sessions.push(options);
    const count = this.sessions.length;
    return Promise.resolve({
      id: `fake-session-${count}`,
      output: options.output?.type,
      contextDockerfile: options.context === undefined ? undefined : "Dockerfile",
      failure: undefined,
      onFailure: () => () => undefined,
      close: () => Promise.resolve(),
    });
  }

  /**
   * Puts an image in the fake's store under each of `refs` (tags or `name@digest`), as a pull or
   * `docker load` would; `inspectImage` then finds it. Its id is derived from the first reference,
   * so the same reference gives the same id in every fake.
   */
  addImage(refs: string | readonly string[], details: Partial<ImageDetails> = {}): ImageDetails {
    const list = typeof refs === "string" ? [refs] : refs;
    const image: ImageDetails = {
      id: `sha256:${createHash("sha256")
        .update(list[0] ?? "")
        .digest("hex")}`,
      sizeBytes: 1_000_000,
      tags: list.filter((ref) => !ref.includes("@")),
      labels: {},
      created: new Date(0).toISOString(),
      ...details,
    };
    this.#images.set(image.id, image);
    for (const ref of list) this.#images.set(ref, image);
    return image;
  }

  /** Every reference `inspectImage` was asked for, in order. */
  readonly inspected: string[] = [];

  /** Every `tagImage` call, in order. */
  readonly tagged: { source: string; target: string }[] = [];

  tagImage(source: string, target: string): Promise<void> {
    const image = this.#images.get(source);
    if (image === undefined) {
      return Promise.reject(
        new EngineError("ENGINE_REQUEST", `No such image: ${source}`, { statusCode: 404 }),
      );
    }
    this.tagged.push({ source, target });
    this.#images.set(target, image);
    return Promise.resolve();
  }

  /** Every ref pushed, in order. */
  readonly pushed: string[] = [];

  /**
   * Pushes a ref the fake store has; its digest is the sha256 of the image id, so one image has one
   * digest wherever it is pushed, as in a registry. A ref not in the store fails as the daemon does.
   */
  push(request: PushRequest): Promise<PushResponse> {
    const image = this.#images.get(request.ref);
    if (image === undefined) {
      return Promise.reject(
        new PushFailedError({
          registry: request.ref.split("/")[0] ?? "",
          tag: request.ref,
          registryMessage: `An image does not exist locally with the tag: ${request.ref}`,
          denied: false,
        }),
      );
    }
    this.pushed.push(request.ref);
    const digest = `sha256:${createHash("sha256").update(image.id).digest("hex")}`;
    const layer = image.id.slice(7, 19);
    return new Promise((resolve) => {
      setTimeout(() => {
        request.onProgress?.({
          layer,
          status: "Pushing",
          current: image.sizeBytes,
          total: image.sizeBytes,
        });
        request.onProgress?.({ layer, status: "Pushed", current: null, total: null });
        this.pushes.push({ ref: request.ref, endedAt: performance.now(), digest });
        resolve({ digest, sizeBytes: 400 });
      }, this.#pushMs);
    });
  }

  inspectImage(ref: string): Promise<ImageDetails | undefined> {
    this.inspected.push(ref);
    return Promise.resolve(this.#images.get(ref));
  }

  readonly #registry = new Map<string, DistributionAnswer | "silent">();

  /** Every reference `inspectDistribution` was asked for, in order. */
  readonly distributionAsked: string[] = [];

  /**
   * What the image's registry answers `inspectDistribution` for `ref`; `silent` never answers (until
   * the caller's signal aborts). Unscripted references are found, with a digest made from the name.
   */
  setRegistryAnswer(ref: string, answer: DistributionAnswer | "silent"): void {
    this.#registry.set(ref, answer);
  }

  inspectDistribution(ref: string, signal?: AbortSignal): Promise<DistributionAnswer> {
    this.distributionAsked.push(ref);
    const answer = this.#registry.get(ref) ?? {
      kind: "found",
      digest: `sha256:${createHash("sha256").update(ref).digest("hex")}`,
    };
    if (answer !== "silent") return Promise.resolve(answer);
    return new Promise((_, reject) => {
      const abort = (): void => {
        reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      if (signal?.aborted === true) abort();
      else signal?.addEventListener("abort", abort, { once: true });
    });
  }

  imageHistory(ref: string): Promise<ImageHistoryEntry[]> {
    const id = this.#images.get(ref)?.id;
    return Promise.resolve([...(id === undefined ? [] : (this.#histories.get(id) ?? []))]);
  }

  /** The scripted `exportTar` of the image; rejects for an image without one. */
  exportImage(ref: string): Promise<Readable> {
    const id = this.#images.get(ref)?.id;
    const make = id === undefined ? undefined : this.#exports.get(id);
    if (make === undefined) return Promise.reject(new Error(`no export of ${ref} is scripted`));
    return Promise.resolve(make());
  }

  removeImage(ref: string): Promise<void> {
    const details = this.#images.get(ref);
    const names = [...this.#images].filter(
      ([key, value]) => value === details && key !== details.id,
    );
    // As the daemon does: removing one of several names of an image only takes that name away.
    if (details !== undefined && ref !== details.id && names.length > 1) {
      this.#images.delete(ref);
      return Promise.resolve();
    }
    if (details !== undefined) {
      this.removed.push(details.id);
      for (const [key, value] of this.#images) if (value === details) this.#images.delete(key);
    }
    return Promise.resolve();
  }
}

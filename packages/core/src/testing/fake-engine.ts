import { BuildFailedError, EngineError } from "../errors.js";
import type {
  BuildRequest,
  BuildResponse,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
  ImageHistoryEntry,
  PushRequest,
  PushResponse,
  SessionOptions,
} from "../engine/engine.js";
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
  readonly calls: FakeBuildCall[] = [];
  readonly cancelled: string[] = [];
  readonly #scripts: Readonly<Record<string, FakeBuildScript>>;
  readonly #images = new Map<string, ImageDetails>();
  readonly #histories = new Map<string, readonly ImageHistoryEntry[]>();
  /** The ids `removeImage` removed, in order. */
  readonly removed: string[] = [];
  readonly #cancellers = new Map<string, () => void>();
  #counter = 0;
  readonly #pushMs: number;
  /** Every push, in order: the name pushed, when it ended and the digest it got. */
  readonly pushes: { ref: string; endedAt: number; digest: string }[] = [];

  /** `pushMs`: how long each push takes (default 0). */
  constructor(
    scripts: Readonly<Record<string, FakeBuildScript>> = {},
    options: { pushMs?: number } = {},
  ) {
    this.#scripts = scripts;
    this.#pushMs = options.pushMs ?? 0;
  }

  /**
   * Pushes an image the fake built (one layer of its size); rejects with an `EngineError` for a
   * name it does not hold, as the daemon answers 404.
   */
  push(request: PushRequest): Promise<PushResponse> {
    const details = this.#images.get(request.ref);
    if (details === undefined) {
      return Promise.reject(
        new EngineError(
          "ENGINE_REQUEST",
          `An image does not exist locally with the tag: ${request.ref}`,
          { statusCode: 404 },
        ),
      );
    }
    return new Promise((resolve) => {
      setTimeout(() => {
        const digest = `sha256:${details.id.slice(-16).padStart(64, "d")}`;
        const layer = details.id.slice(-12);
        request.onProgress?.({
          layer,
          status: "Pushing",
          current: details.sizeBytes,
          total: details.sizeBytes,
        });
        request.onProgress?.({ layer, status: "Pushed", current: null, total: null });
        this.pushes.push({ ref: request.ref, endedAt: performance.now(), digest });
        resolve({ digest, sizeBytes: 1234 });
      }, this.#pushMs);
    });
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
        } else {
          this.#counter += 1;
          const imageId = `sha256:${this.#counter.toString(16).padStart(64, "0")}`;
          const details: ImageDetails = {
            id: imageId,
            sizeBytes: script.sizeBytes ?? 1_000_000,
            tags: request.tags ?? [],
            labels: request.labels ?? {},
            created: new Date().toISOString(),
          };
          this.#images.set(imageId, details);
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

  inspectImage(ref: string): Promise<ImageDetails | undefined> {
    return Promise.resolve(this.#images.get(ref));
  }

  imageHistory(ref: string): Promise<ImageHistoryEntry[]> {
    const id = this.#images.get(ref)?.id;
    return Promise.resolve([...(id === undefined ? [] : (this.#histories.get(id) ?? []))]);
  }

  removeImage(ref: string): Promise<void> {
    const details = this.#images.get(ref);
    if (details !== undefined) {
      this.removed.push(details.id);
      for (const [key, value] of this.#images) if (value === details) this.#images.delete(key);
    }
    return Promise.resolve();
  }
}

import { createLineSplitter } from "../progress/decode-status.js";
import type { PushProgress } from "./engine.js";

/** What a `POST /images/{name}/push` stream said, once it ended. */
export interface PushStreamResult {
  /** The manifest digest the registry stored (`aux.Digest`), when the push got that far. */
  digest: string | undefined;
  /** The manifest's size in bytes (`aux.Size`). */
  sizeBytes: number | undefined;
  /** The first error (`errorDetail.message`, else `error`): the one that ended the push. */
  error: string | undefined;
}

/** `1: digest: sha256:… size: 400`, the last status line of a push. */
const DIGEST_LINE = /^\S+: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/;

interface PushLine {
  status?: unknown;
  id?: unknown;
  progressDetail?: { current?: unknown; total?: unknown } | null;
  aux?: { Digest?: unknown; Size?: unknown } | null;
  error?: unknown;
  errorDetail?: { message?: unknown } | null;
}

/**
 * Reads a push stream (NDJSON, as `docker push` prints it): per-layer progress (`id` is the layer's
 * short id; `Pushing` carries `current`/`total` bytes, then `Pushed` or `Layer already exists`), the
 * digest at the end (`aux`, or the status line that names it when there is no `aux`), or an error line.
 */
export function createPushStreamReader(onProgress: (progress: PushProgress) => void): {
  push(chunk: Uint8Array | string): void;
  end(): PushStreamResult;
} {
  const splitter = createLineSplitter();
  const result: PushStreamResult = { digest: undefined, sizeBytes: undefined, error: undefined };
  const read = (lines: readonly string[]): void => {
    for (const text of lines) {
      if (text.trim() === "") continue;
      let line: PushLine;
      try {
        line = JSON.parse(text) as PushLine;
      } catch {
        continue;
      }
      const message =
        typeof line.errorDetail?.message === "string"
          ? line.errorDetail.message
          : typeof line.error === "string"
            ? line.error
            : undefined;
      if (message !== undefined) {
        result.error ??= message;
        continue;
      }
      if (typeof line.aux?.Digest === "string") {
        result.digest = line.aux.Digest;
        if (typeof line.aux.Size === "number") result.sizeBytes = line.aux.Size;
        continue;
      }
      // The containerd image store (Docker 26.1) sends no aux line: the digest is only in the
      // status line `TAG: digest: sha256:… size: N` (daemon/containerd/image_push.go).
      const summary =
        typeof line.status === "string" && line.id === undefined
          ? DIGEST_LINE.exec(line.status)
          : null;
      if (summary !== null) {
        result.digest ??= summary[1];
        result.sizeBytes ??= Number(summary[2]);
        continue;
      }
      // Lines without an id ("The push refers to repository …", "latest: digest: …") are not a layer's.
      if (typeof line.id !== "string" || typeof line.status !== "string") continue;
      const current = line.progressDetail?.current;
      const total = line.progressDetail?.total;
      onProgress({
        layer: line.id,
        status: line.status,
        current: typeof current === "number" ? current : null,
        total: typeof total === "number" ? total : null,
      });
    }
  };
  return {
    push(chunk) {
      read(splitter.push(chunk));
    },
    end() {
      read(splitter.end());
      return result;
    },
  };
}

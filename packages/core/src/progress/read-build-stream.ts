import { createLineSplitter, parseDaemonLine, type DecodedStatus } from "./decode-status.js";

/** What a `/build` response stream said about its build, once it ended. */
export interface BuildStreamResult {
  /** The built image (`moby.image.id`), when the stream named one. */
  imageId: string | undefined;
  /** The first error the stream carried (`errorDetail`): the one that ended the build. */
  error: string | undefined;
}

/** Reads one `/build` response stream; see `createBuildStreamReader`. */
export interface BuildStreamReader {
  /** Feeds a chunk of the response body, as received. */
  push(chunk: Uint8Array | string): void;
  /** The body ended: reads what is left and says how the build ended. */
  end(): BuildStreamResult;
}

/**
 * The one reader of a `POST /build?version=2` response: splits the NDJSON into lines (across chunks
 * and UTF-8 characters), parses each line once, hands every BuildKit status to `onStatus` and keeps
 * the image id and the error for the end.
 *
 * @example
 * const reader = createBuildStreamReader((status) => tracker.push("app", status));
 * response.on("data", (chunk) => reader.push(chunk));
 * response.on("end", () => console.log(reader.end()));
 */
export function createBuildStreamReader(
  onStatus: (status: DecodedStatus) => void,
): BuildStreamReader {
  const splitter = createLineSplitter();
  const result: BuildStreamResult = { imageId: undefined, error: undefined };
  const read = (lines: readonly string[]): void => {
    for (const line of lines) {
      const parsed = parseDaemonLine(line);
      switch (parsed?.kind) {
        case "trace":
          onStatus(parsed.status);
          break;
        case "image-id":
          result.imageId = parsed.imageId;
          break;
        case "error":
          // The first error is the one that ended the build; later lines cannot undo it.
          result.error ??= parsed.message;
          break;
        case "stream":
        case "unknown":
        case undefined:
          break;
        default:
          parsed satisfies never;
      }
    }
  };
  return {
    push(chunk) {
      read(splitter.push(chunk));
    },
    end() {
      read(splitter.end());
      return { ...result };
    },
  };
}

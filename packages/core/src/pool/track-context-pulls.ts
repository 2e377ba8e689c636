import type { BuildEvent } from "../events.js";
import { unionMs } from "./union-ms.js";

/** An engine that read a shared stage: the time its builds spent fetching it, and the bytes. */
export interface SharedStageReader {
  readonly engine: string;
  /**
   * From the first step that resolved the reference (`[context STAGE] load metadata for REF`) to
   * the last layer it fetched (`[context STAGE] REF` and its statuses), in BuildKit's timestamps;
   * overlapping builds of one engine counted once.
   */
  readonly pullMs: number;
  /** Bytes of the layers, manifest and config BuildKit fetched (0 when it had them all). */
  readonly bytes: number;
}

/** What {@link trackContextPulls} returns: feed it every event, then ask per reference. */
export interface ContextPulls {
  readonly observe: (event: BuildEvent, engine: string) => void;
  /** The engines that read `reference` as a named context, in the order they first did. */
  readonly readersOf: (reference: string) => SharedStageReader[];
}

// The vertices BuildKit's Dockerfile frontend names for a `docker-image://REF` named context
// (frontend/dockerui/namedcontext.go): the config resolution, then the image source itself.
const CONTEXT_STEP = /^\[context [^\]]+\] (?:load metadata for )?(\S+)$/;

interface Pull {
  readonly engine: string;
  readonly intervals: [number, number][];
  /** Each fetched blob's status id and its size. */
  readonly blobs: Map<string, number>;
  /** When each of its steps started. */
  readonly starts: Map<string, number>;
}

/**
 * Follows how the engines of a pool fetch the images their builds read as named contexts (a
 * shared stage's `docker-image://REG/STAGE@sha256:…`), from the steps' and transfers' own
 * timestamps in the events of every build.
 *
 * @example
 * const pulls = trackContextPulls();
 * // runPool's onEvent: pulls.observe(event, engine)
 * pulls.readersOf("127.0.0.1:5000/ci/deps@sha256:…"); // [{ engine: "b", pullMs: 310, bytes: 4_000_000 }]
 */
export function trackContextPulls(): ContextPulls {
  // reference → engine → its pull.
  const pulls = new Map<string, Map<string, Pull>>();
  // engine → step digest → the pull it belongs to.
  const steps = new Map<string, Map<string, Pull>>();

  const pullOf = (reference: string, engine: string, digest: string): Pull => {
    const byEngine = pulls.get(reference) ?? new Map<string, Pull>();
    pulls.set(reference, byEngine);
    let pull = byEngine.get(engine);
    if (pull === undefined) {
      pull = { engine, intervals: [], blobs: new Map(), starts: new Map() };
      byEngine.set(engine, pull);
    }
    const digests = steps.get(engine) ?? new Map<string, Pull>();
    steps.set(engine, digests);
    digests.set(digest, pull);
    return pull;
  };

  const observe = (event: BuildEvent, engine: string): void => {
    switch (event.type) {
      case "step-started":
      case "step-finished":
      case "step-cached":
      case "step-failed": {
        const reference = CONTEXT_STEP.exec(event.step.name)?.[1];
        if (reference === undefined) return;
        const pull = pullOf(reference, engine, event.step.digest);
        const ms =
          event.type === "step-started" || event.type === "step-cached" ? 0 : event.durationMs;
        const from = pull.starts.get(event.step.digest) ?? event.time - ms;
        pull.starts.set(event.step.digest, from);
        if (event.type !== "step-started") pull.intervals.push([from, event.time]);
        return;
      }
      case "transfer": {
        const pull = steps.get(engine)?.get(event.step);
        if (pull === undefined || !event.completed) return;
        // A blob's status is named by its digest; `resolve …` and `extracting …` carry no bytes.
        if (event.id.startsWith("sha256:") && event.total > 0) {
          pull.blobs.set(event.id, Math.max(pull.blobs.get(event.id) ?? 0, event.total));
        }
        // BuildKit fetches the layers after the source step reports done: the pull ends with them.
        const start = pull.starts.get(event.step) ?? event.time;
        pull.intervals.push([Math.min(start, event.time), event.time]);
        return;
      }
      default:
        return;
    }
  };

  const readersOf = (reference: string): SharedStageReader[] =>
    [...(pulls.get(reference)?.values() ?? [])].map((pull) => ({
      engine: pull.engine,
      pullMs: Math.round(unionMs(pull.intervals)),
      bytes: [...pull.blobs.values()].reduce((sum, bytes) => sum + bytes, 0),
    }));

  return { observe, readersOf };
}

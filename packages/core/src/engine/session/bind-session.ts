import { EngineError } from "../../errors.js";
import type { Engine, EngineSession, SessionOptions } from "../engine.js";

/** An engine whose every build carries `session` (`BuildRequest.session`). */
export function bindSession(engine: Engine, session: EngineSession): Engine {
  return {
    local: engine.local,
    info: (signal) => engine.info(signal),
    build: (request) => engine.build({ ...request, session }),
    cancelBuild: (buildId, signal) => engine.cancelBuild(buildId, signal),
    inspectImage: (ref, signal) => engine.inspectImage(ref, signal),
    ...(engine.inspectDistribution === undefined
      ? {}
      : { inspectDistribution: engine.inspectDistribution.bind(engine) }),
    ...(engine.imageHistory === undefined
      ? {}
      : { imageHistory: engine.imageHistory.bind(engine) }),
    ...(engine.removeImage === undefined ? {} : { removeImage: engine.removeImage.bind(engine) }),
  };
}

/** Opens a session on the engine; rejects with `ENGINE_UNSUPPORTED` when the engine has no sessions. */
export async function openEngineSession(
  engine: Engine,
  options: SessionOptions,
  signal?: AbortSignal,
): Promise<EngineSession> {
  if (engine.openSession === undefined) {
    throw new EngineError(
      "ENGINE_UNSUPPORTED",
      "this engine cannot open BuildKit sessions (needed for secrets, SSH agents and outputs)",
    );
  }
  return await engine.openSession(options, signal);
}

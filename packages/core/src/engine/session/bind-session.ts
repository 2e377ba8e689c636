import { EngineError } from "../../errors.js";
import type { Engine, EngineSession, SessionOptions } from "../engine.js";

/** An engine whose every build carries `session` (`BuildRequest.session`). */
export function bindSession(engine: Engine, session: EngineSession): Engine {
  return withBuild(engine, (request) => engine.build({ ...request, session }));
}

/** The engine with another `build`; the rest is the engine's own. */
function withBuild(engine: Engine, build: Engine["build"]): Engine {
  return {
    local: engine.local,
    info: (signal) => engine.info(signal),
    build,
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

/**
 * An engine whose every build opens a session of its own with `open` and closes it when the build
 * has ended (`bindSession` shares one). The sessions are independent: a build's files, secrets and
 * SSH agents are served to it alone.
 */
export function bindSessionPerBuild(
  engine: Engine,
  open: (signal?: AbortSignal) => Promise<EngineSession>,
): Engine {
  return withBuild(engine, async (request) => {
    const session = await open(request.signal);
    try {
      return await engine.build({ ...request, session });
    } finally {
      await session.close();
    }
  });
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

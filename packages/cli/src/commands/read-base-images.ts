import { DockerEngine } from "@stagecraft/core";
import { EngineError } from "@stagecraft/core/errors";
import type { BaseImageConfig } from "@stagecraft/core/checks";
import { inspectBaseImages } from "@stagecraft/core/engine";
import type { Io } from "../io.js";

/**
 * Asks the engine (found as the docker CLI finds it) for the configs of the base images; when no
 * engine answers, `unavailable` says where it was looked for and why. A module of its own, which
 * `check` imports only when it asks an engine: the engine's code loads Node's network modules.
 */
export async function readBaseImages(
  io: Io,
  references: readonly string[],
): Promise<{
  baseImages?: Map<string, BaseImageConfig | undefined>;
  unavailable?: string;
}> {
  const engine = new DockerEngine({ env: io.env });
  try {
    return { baseImages: await inspectBaseImages(engine, references) };
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    return {
      unavailable: `no engine answered at ${engine.endpoint.description}: ${error.message}`,
    };
  }
}

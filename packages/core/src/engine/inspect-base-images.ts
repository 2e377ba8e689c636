import type { BaseImageConfig } from "../checks/check-types.js";
import type { Engine } from "./engine.js";

/**
 * Looks the base images up on the engine (`docker image inspect`, never a pull) and returns what
 * `checkDockerfile` needs of each: its config's user, environment and shell, or `undefined` for
 * an image the engine does not have.
 *
 * @example
 * const baseImages = await inspectBaseImages(new DockerEngine(), ["node:22", "debian:12"]);
 * checkDockerfile(text, { baseImages });
 * @throws EngineError when the engine cannot be reached or answers with an error.
 */
export async function inspectBaseImages(
  engine: Pick<Engine, "inspectImage">,
  references: readonly string[],
): Promise<Map<string, BaseImageConfig | undefined>> {
  const unique = [...new Set(references)];
  const details = await Promise.all(unique.map((reference) => engine.inspectImage(reference)));
  const configs = new Map<string, BaseImageConfig | undefined>();
  for (const [index, reference] of unique.entries()) {
    const image = details[index];
    configs.set(
      reference,
      image === undefined
        ? undefined
        : {
            user: image.user ?? "",
            env: image.env ?? [],
            shell: image.shell ?? [],
            ...(image.os === undefined || image.architecture === undefined
              ? {}
              : {
                  platform: {
                    os: image.os,
                    architecture: image.architecture,
                    variant: image.variant ?? "",
                  },
                }),
          },
    );
  }
  return configs;
}

import { EngineError } from "@stagecraft/core";
import type { BuildkitDescription, BuildkitEngine } from "@stagecraft/core/engine";
import type { ExitCode, Io } from "../io.js";
import type { BuildFlags } from "./build-options.js";

/**
 * Says, before anything is sent, what becomes of the images on a standalone buildkitd: its default
 * worker decides where they go (`WorkerStore`). Moby's worker puts them into its Docker Engine and
 * a containerd worker into containerd, under their tags; the OCI worker keeps no image anyone can
 * run, so tags there are refused (exit 2) and a build without an output warns that its result stays
 * in the build cache (as buildx's remote driver warns). `--push` is refused (exit 2) where the worker
 * cannot push: moby's worker on a graph-driver Engine has no `image` exporter. A buildkitd that does
 * not answer is left to the build, which says why it cannot reach it.
 */
export async function checkBuildkitOutputs(
  io: Io,
  engine: BuildkitEngine,
  flags: Pick<BuildFlags, "output" | "push">,
  tags: Readonly<Record<string, readonly string[]>>,
): Promise<ExitCode | undefined> {
  let description: BuildkitDescription;
  try {
    description = await engine.describe(io.signal);
  } catch (error) {
    if (error instanceof EngineError) return undefined;
    throw error;
  }
  if (flags.push && description.pushRefusal !== undefined) {
    io.stderr.write(
      `error: --push: ${description.pushRefusal}\n  fix: turn on the containerd image store there ("features": {"containerd-snapshotter": true} in daemon.json), or give the Engine's own socket as --engine (it pushes with POST /images/push), or leave out --push\n`,
    );
    io.stderr.write("stagecraft: the engine would refuse this push; nothing was sent\n");
    return 2;
  }
  const store = description.store;
  if (store.kind !== "none" || flags.output !== undefined) return undefined;
  const tagged = Object.entries(tags).filter(([, names]) => names.length > 0);
  const where = `the buildkitd at ${description.endpoint} (worker ${store.executor})`;
  if (tagged.length === 0) {
    io.stderr.write(
      `warning: ${where} keeps no images: the result stays in its build cache\n  fix: export it with -o type=local,dest=DIR or -o type=tar,dest=FILE, or build on a Docker Engine (moby worker) or a buildkitd with a containerd worker\n`,
    );
    return undefined;
  }
  io.stderr.write(
    `error: -t ${tagged.flatMap(([, names]) => names).join(", ")}: ${where} keeps no images, so no one could run an image by that tag\n  fix: export the files with -o type=local,dest=DIR or -o type=tar,dest=FILE, or build on a Docker Engine (moby worker) or a buildkitd with a containerd worker\n`,
  );
  io.stderr.write("stagecraft: the engine would refuse this build; nothing was sent\n");
  return 2;
}

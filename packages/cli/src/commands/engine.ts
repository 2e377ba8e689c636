import { DockerEngine, UsageError } from "@stagecraft/core";
import {
  BuildkitEngine,
  type BuildkitDescription,
  type EngineCapabilities,
} from "@stagecraft/core/engine";
import { isBuildkitAddress, parseEngineAddress } from "./engine-address.js";
import type { ExitCode, Io } from "../io.js";
import {
  choiceOption,
  parseCommandLine,
  stringOption,
  type OptionTable,
} from "../parse-command-line.js";
import { errorToJson, reportError } from "../report-error.js";

export const ENGINE_HELP = `Usage: stagecraft engine [options]

Shows what the engine can do, asked once through GET /version and GET /info: its version and API,
image store (the containerd store, or a graph driver such as overlay2), the cache backends BuildKit
registers there (exporters and importers), what POST /build itself carries (inline export, registry
import), native platforms and how BuildKit sessions reach it. build refuses before sending anything
the options this engine cannot honour.

For a standalone buildkitd (--engine buildkit+…), asked through BuildKit's Control API (Info,
ListWorkers): its BuildKit version, its workers, where images go (the Docker Engine behind moby's
worker, containerd for a containerd worker, nowhere for the OCI worker: export with -o), its
cache backends, the default worker's platforms and whether it can push (moby's worker on a
graph-driver Engine cannot).

Options:
      --engine ADDR     the engine to ask: a Docker Engine (unix:///PATH, tcp://HOST:PORT,
                        ssh://USER@HOST; default: as the docker CLI finds it: DOCKER_HOST,
                        DOCKER_CONTEXT, /var/run/docker.sock) or a standalone buildkitd
                        (buildkit+unix:///PATH, buildkit+tcp://HOST:PORT[,cacert=CA.pem]
                        [,cert=CERT.pem,key=KEY.pem])
      --format FORMAT   text (default) or json
  -h, --help            show this help
`;

const ENGINE_OPTIONS: OptionTable = {
  engine: { type: "string" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** `stagecraft engine`: prints the engine's capabilities as text or JSON. */
export async function engineCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  let format: "text" | "json" = "text";
  try {
    const { values, positionals } = parseCommandLine("engine", argv, ENGINE_OPTIONS);
    if (values.help === true) {
      io.stdout.write(ENGINE_HELP);
      return 0;
    }
    format = choiceOption(values, "format", ["text", "json"] as const, "text");
    if (positionals.length > 0) {
      throw new UsageError(`engine takes no arguments, got ${positionals.join(" ")}`, {
        hint: "Name the engine with --engine ADDR.",
      });
    }
    const address = stringOption(values, "engine");
    if (address !== undefined && isBuildkitAddress(address)) {
      const parsed = parseEngineAddress(address, `--engine "${address}"`, io.cwd);
      const engine = new BuildkitEngine({
        address: parsed.address,
        tls: parsed.kind === "buildkit" ? parsed.tls : undefined,
      });
      try {
        const description = await engine.describe(io.signal);
        io.stdout.write(
          format === "json"
            ? `${JSON.stringify({ kind: "buildkit", ...description }, null, 2)}\n`
            : formatBuildkitDescription(description),
        );
      } finally {
        engine.close();
      }
      return 0;
    }
    // --engine is DOCKER_HOST for this command: the same resolution, the same messages.
    const env =
      address === undefined
        ? io.env
        : { ...io.env, DOCKER_HOST: address, DOCKER_CONTEXT: undefined };
    const capabilities = await new DockerEngine({ env }).capabilities(io.signal);
    io.stdout.write(
      format === "json"
        ? `${JSON.stringify(capabilities, null, 2)}\n`
        : formatCapabilities(capabilities),
    );
    return 0;
  } catch (error) {
    if (format === "json") {
      io.stdout.write(`${JSON.stringify({ type: "error", error: errorToJson(error) })}\n`);
    }
    return reportError(io, error);
  }
}

/** The text form: one fact a line, the cache lines saying what to change where it matters. */
export function formatCapabilities(capabilities: EngineCapabilities): string {
  const store =
    capabilities.imageStore.kind === "containerd"
      ? `containerd image store (${capabilities.imageStore.driver})`
      : `graph driver ${capabilities.imageStore.driver}`;
  const lines = [
    `engine:            ${capabilities.endpoint}`,
    `version:           Docker ${capabilities.version}, API ${capabilities.apiVersion}`,
    `buildkit:          ${capabilities.buildkit ? `yes (version ${capabilities.buildkitVersion ?? "not told by the Engine API"})` : "no"}`,
    `image store:       ${store}`,
    `cache export:      ${capabilities.cache.exporters.join(", ")} (BuildKit Control API)`,
    `cache import:      ${capabilities.cache.importers.join(", ")} (BuildKit Control API)`,
    `through /build:    export ${capabilities.buildEndpointCache.exporters.join(", ")}, import ${capabilities.buildEndpointCache.importers.join(", ")}`,
    `platforms:         ${capabilities.platforms.join(", ")} (native)`,
    `session transport: ${capabilities.sessionTransport === "grpc" ? "gRPC on the socket (Control.Session)" : "POST /session (h2c upgrade)"}`,
  ];
  if (capabilities.imageStore.kind === "graph-driver") {
    lines.push(
      "note: registry, local and gha cache export need the containerd image store (features.containerd-snapshotter in daemon.json); --cache-to type=inline works here",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The text form for a standalone buildkitd: its workers, where images go, its cache backends. */
export function formatBuildkitDescription(description: BuildkitDescription): string {
  const store = description.store;
  const lines = [
    `engine:            ${description.endpoint} (standalone buildkitd, BuildKit Control API)`,
    `version:           BuildKit ${description.version}`,
    ...description.workers.map((worker, index) => {
      const labels = worker.labels;
      const executor =
        labels["org.mobyproject.buildkit.worker.moby.host-gateway-ip"] !== undefined
          ? "moby"
          : (labels["org.mobyproject.buildkit.worker.executor"] ?? "unknown");
      const snapshotter = labels["org.mobyproject.buildkit.worker.snapshotter"];
      return `${index === 0 ? "worker:           " : "                  "} ${worker.id} (${executor}${snapshotter === undefined ? "" : `, snapshotter ${snapshotter}`})${index === 0 && description.workers.length > 1 ? ", the default" : ""}`;
    }),
    `image store:       ${
      store.kind === "docker-engine"
        ? "the Docker Engine's (moby worker): images land there under their tags"
        : store.kind === "containerd"
          ? `containerd's, namespace ${store.namespace}: images land there under their tags`
          : `none (${store.executor} worker): a result stays in the build cache unless exported with -o; build refuses -t without -o`
    }`,
    description.cache === undefined
      ? "cache backends:    the Docker Engine's (run stagecraft engine on its socket)"
      : `cache export:      ${description.cache.exporters.join(", ")} (buildkitd's, not listed by the API)`,
    ...(description.cache === undefined
      ? []
      : [`cache import:      ${description.cache.importers.join(", ")}`]),
    `platforms:         ${description.platforms.join(", ")} (the default worker's)`,
    "session transport: Control.Session on the same connection",
    description.pushRefusal === undefined
      ? "push:              the image exporter with push=true, logins from the docker CLI's config.json"
      : `push:              no: ${description.pushRefusal}`,
  ];
  return `${lines.join("\n")}\n`;
}

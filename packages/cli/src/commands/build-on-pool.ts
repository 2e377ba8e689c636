import { resolve } from "node:path";
import { DockerEngine, type DockerfileAnalysis } from "@stagecraft/core";
import { checkRegistry, runPool, type RunPoolOptions } from "@stagecraft/core/pool";
import type { ExitCode, Io } from "../io.js";
import type { BuildFlags } from "./build-options.js";
import { placeOnPool, readEarlierReports } from "./format-placement.js";
import type { PoolFlags } from "./read-pool-flags.js";
import { writeWhole } from "./write-run-files.js";

/**
 * `build --engine …`: checks the registry, places the targets on the pool and runs each engine's
 * share; prints one line per target (its engine and status), what moved and why, and each engine's
 * busy time. With --report, the pool's outcome is written as JSON.
 */
export async function buildOnPool(
  io: Io,
  flags: BuildFlags,
  pool: PoolFlags,
  analysis: DockerfileAnalysis,
  runOptions: Omit<RunPoolOptions, "analysis" | "pool" | "placement" | "signal" | "onEvent">,
): Promise<ExitCode> {
  if (pool.registry !== undefined) await checkRegistry(pool.registry.host, io.signal);
  const members = pool.engines.map((spec) => ({
    name: spec.name,
    capacity: spec.capacity,
    engine: new DockerEngine({
      // Shared stages reach the other engines as named contexts, which only the Control API carries.
      ...(pool.registry === undefined || pool.engines.length < 2 ? {} : { builder: "control" }),
      env:
        spec.addressKind === "host"
          ? { ...io.env, DOCKER_HOST: spec.address }
          : { ...io.env, DOCKER_HOST: undefined, DOCKER_CONTEXT: spec.address },
    }),
  }));
  const placement = placeOnPool(analysis, pool, readEarlierReports(io.cwd, flags.contextDir));
  const outcome = await runPool({
    ...runOptions,
    analysis,
    signal: io.signal,
    pool: members,
    placement,
    registry: pool.registry?.reference,
    onEvent: (event, engine) => {
      if (event.type === "target-started") io.stderr.write(`[${engine}] ${event.target} started\n`);
    },
  });
  for (const target of outcome.targets) {
    const error = target.error === undefined ? "" : `: ${target.error.message}`;
    io.stdout.write(`${target.name}  ${target.status} on ${target.engine}${error}\n`);
  }
  for (const entry of outcome.shared) {
    io.stdout.write(
      entry.reference === undefined
        ? `shared ${entry.stage}: not shared (${entry.error ?? "unknown"}), built where needed\n`
        : `shared ${entry.stage}: built once on ${entry.engine} in ${seconds(entry.buildMs)}, pushed ` +
            `${megabytes(entry.bytes)} in ${seconds(entry.pushMs)} as ${entry.reference}, read by ${entry.to.join(", ")}\n`,
    );
  }
  for (const entry of outcome.moved) {
    io.stdout.write(`moved ${entry.target} from ${entry.from} to ${entry.to}: ${entry.reason}\n`);
  }
  for (const [engine, ms] of Object.entries(outcome.busyMs)) {
    io.stdout.write(`engine ${engine} busy ${seconds(ms)}\n`);
  }
  if (flags.report !== undefined) {
    const json = {
      status: outcome.status,
      targets: outcome.targets.map((target) => ({
        target: target.name,
        engine: target.engine,
        status: target.status,
        imageId: target.imageId ?? null,
        error: target.error?.message ?? null,
      })),
      moved: outcome.moved,
      shared: outcome.shared.map((entry) => ({ ...entry, error: entry.error ?? null })),
      busyMs: outcome.busyMs,
      runs: outcome.runs.map((run) => ({
        engine: run.engine,
        targets: run.targets,
        busyMs: run.busyMs,
        report: run.outcome?.report ?? null,
        error: run.error?.message ?? null,
      })),
    };
    writeWhole(resolve(io.cwd, flags.report), `${JSON.stringify(json, null, 2)}\n`);
  }
  return outcome.status === "succeeded" ? 0 : outcome.status === "failed" ? 1 : 130;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

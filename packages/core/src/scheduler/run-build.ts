import { createHash } from "node:crypto";
import { resolve } from "node:path";
import pLimit from "p-limit";
import { fingerprintContextDir } from "../context/fingerprint-context-dir.js";
import {
  SESSION_CONTEXT_BYTES,
  prepareContext,
  type ContextInput,
  type PreparedContext,
} from "../context/prepare-context.js";
import type {
  BuildSettings,
  CacheEntry,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
  SessionOptions,
} from "../engine/engine.js";
import { deadlineSignal } from "../engine/deadline-signal.js";
import { isContextUrl } from "../engine/buildkit/solve-build.js";
import {
  bindSession,
  bindSessionPerBuild,
  openEngineSession,
} from "../engine/session/bind-session.js";
import {
  BuildFailedError,
  EngineError,
  MissingSecretError,
  MissingSshAgentError,
  PushFailedError,
  UsageError,
  type StagecraftError,
} from "../errors.js";
import {
  BUILD_EVENT_SCHEMA_VERSION,
  type BuildEvent,
  type RunContext,
  type TargetError,
} from "../events.js";
import { silentLogger, type Logger } from "../logger.js";
import { analyzeDockerfile, type DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { createDockerfileMap } from "../plan/create-dockerfile-map.js";
import { createProgressTracker } from "../progress/create-progress-tracker.js";
import { createRedactor, redactDeep } from "../redact.js";
import type { BuildReport } from "../report/build-report.js";
import { attributeLayers, type LayerStage } from "../report/attribute-layers.js";
import type { LayerReport } from "../report/build-report.js";
import { capTargetError } from "../report/cap-failure.js";
import { createReportBuilder } from "../report/create-report-builder.js";
import { selectSizeProbes } from "../report/select-size-probes.js";
import {
  checkCacheSupport,
  readsTarContext,
  type BuildPath,
  type EngineCapabilities,
} from "../engine/engine-capabilities.js";
import { registryOfReference } from "../engine/registry-auth.js";
import { assignCacheRefs } from "../engine/assign-cache-refs.js";
import { pinBaseImages, type BasePins } from "../engine/pin-base-images.js";
import { pinBasesLocally, releaseLocalPins, type LocalPins } from "../engine/pin-bases-locally.js";
import { contextNameOf } from "../stages/context-name-of.js";
import { defaultPlatform, parsePlatform } from "../stages/parse-platform.js";
import { validateImageReference } from "../stages/validate-image-reference.js";
import { measureStageSizes, type StageSizeMeasurement } from "./measure-stage-sizes.js";
import { createStageStepsCollector, fingerprintStream } from "./stage-size-memory.js";
import {
  runTargets,
  type BuildLimit,
  type ContextSource,
  type RunResult,
  type SchedulerNotice,
  type TargetSpec,
} from "./run-targets.js";

/** Options of `runBuild`: what to build (an analysis), from where, on which engine, and how. */
export interface RunBuildOptions extends Omit<BuildSettings, "buildArgs" | "platform"> {
  /** Where to build. */
  engine: Engine;
  /**
   * The Dockerfile and the targets, from `analyzeDockerfile`; its build args and platform are the
   * build's (they decide the stage graph), so they are not given again here.
   */
  analysis: DockerfileAnalysis;
  /** The build context directory and the Dockerfile's path, and how the context travels. */
  context: ContextInput;
  /** Image names per target id, e.g. `{ app: ["me/app:dev"] }`. */
  tags?: Readonly<Record<string, readonly string[]>> | undefined;
  /** How many target builds run at once (default: all, so BuildKit runs each shared step once). */
  concurrency?: number | undefined;
  /**
   * Build slots shared with other runs, e.g. one `pLimit(4)` for several runs: every target build
   * waits for one; replaces `concurrency`.
   */
  limit?: BuildLimit | undefined;
  /** Let independent targets finish when one fails (default: cancel the others). */
  keepGoing?: boolean | undefined;
  /**
   * Aborting cancels every build on the daemon; the outcome then says `cancelled`. Aborted with a
   * `BuildCancelledError` as the reason, the builds are cancelled for its reason and the run fails.
   */
  signal?: AbortSignal | undefined;
  /** Cancel every build once the run has taken this long (milliseconds); they are then failures. */
  timeoutMs?: number | undefined;
  /**
   * After this long without news from the engine while builds run, an `engine-quiet` event says so
   * (and again each time as long passes); default 30 s. The run keeps waiting.
   */
  quietNoticeMs?: number | undefined;
  /**
   * Values to mask as `***` in every event, log line, error and report (build args whose values are
   * secret). Session secrets are masked without being listed here.
   */
  maskValues?: readonly string[] | undefined;
  /**
   * Secrets, SSH agents and an output for the run's BuildKit session, opened before the first build,
   * shared by every target and closed at the end. Registry logins are the engine's.
   */
  session?: Omit<SessionOptions, "context" | "onContextSent"> | undefined;
  /** Every event of the run, in order, masked; it only observes. */
  onEvent?: ((event: BuildEvent) => void) | undefined;
  logger?: Logger | undefined;
  /**
   * Measure the stage each target's image was built from when it is no target itself (an untagged
   * build of it, sent as soon as the run has built that stage and behind any target waiting for a
   * slot (on an engine with the containerd image store, after the targets), inspected and removed;
   * or its size remembered in `stageSizeFile`), so the report can say
   * `runtime 48 MB ← build 1.1 GB (−96%)`; default true. Builds exported to a session output skip it.
   */
  stageSizes?: boolean | undefined;
  /**
   * A JSON file where measured stage sizes are remembered by the stage's step digests and the
   * context's fingerprint, so a build that changed nothing in the stage needs no probe (the CLI uses
   * `~/.cache/stagecraft/stage-sizes.json`); default: nothing is remembered.
   */
  stageSizeFile?: string | undefined;
  /** Size budgets in bytes per target id: the report's `sizeBudgets` says which were exceeded. */
  sizeBudgets?: Readonly<Record<string, number>> | undefined;
  /**
   * Push each target's tags to their registries as soon as it is built (`push-progress`,
   * `target-pushed`, `push-failed` events); a failed push fails the run and leaves the image.
   */
  push?: boolean | undefined;
  /**
   * A mirror (`REGISTRY/PATH`) to push the targets' base images to before building, so every build
   * reads them by registry digest (named contexts: the Dockerfile stays as it is) and a cache made
   * on one engine matches on another. `false` turns it off. By default it is on when a `registry`
   * cache is given and the engine builds through BuildKit's Control API (pins travel as named
   * contexts, which `/build` cannot carry), with the mirror `<that registry>/stagecraft-bases`.
   * Pins made already (`BasePins`: a pool pins once for all its engines) are used as they are.
   */
  pinBases?: string | false | BasePins | undefined;
  /**
   * Several target platforms (`["linux/amd64", "linux/arm64"]`): each target is built for all of
   * them at once into one image index, as `docker buildx build --platform a,b`. Only BuildKit's
   * Control API (`DockerEngine` with `builder: "control"`) on an engine with the containerd image
   * store can: any other engine is refused before anything is sent. `analysis` is made for the
   * first of them (its TARGETPLATFORM decides the stage graph). One platform goes in `analysis`.
   */
  platforms?: readonly string[] | undefined;
}

/** What `sizeBytes` means in the report (`BuildReport.sizeMeaning`). */
export const SIZE_MEANING =
  "docker image inspect's Size: the uncompressed layers on a graph-driver store (overlay2); on the containerd image store the image's content as stored (manifest, config and compressed layer blobs)";

/** What a run produced: every target's result, the report, and the engine it ran on. */
export interface BuildOutcome extends RunResult {
  /** The end-of-run report, the same one the CLI prints and writes. */
  report: BuildReport;
  engine: EngineInfo;
  /** Per target, the engine's data about its image (targets that made one). */
  images: Readonly<Record<string, ImageDetails | undefined>>;
}

/** The default of `quietNoticeMs`. */
const QUIET_NOTICE_MS = 30_000;

/**
 * Builds the analysed targets on the engine with live, stage-attributed events and returns the
 * outcome with its report: the library's main entry point. It checks everything it can before
 * sending (the engine, the context, the tags, errors BuildKit would stop with), then builds every
 * target at once. Never throws for a failed build: failures are values in the outcome.
 *
 * @example
 * const analysis = analyzeDockerfile(readFileSync("Dockerfile", "utf8"), { targets: ["test", "app"] });
 * const outcome = await runBuild({
 *   engine: new DockerEngine(),
 *   analysis,
 *   context: { dir: ".", dockerfile: "Dockerfile" },
 *   tags: { app: ["me/app:dev"] },
 *   onEvent: (event) => console.log(event.type),
 * });
 * console.log(outcome.report.targets.map((target) => `${target.target} ${target.status}`));
 * @throws DockerfileError when BuildKit would refuse a target (nothing is sent).
 * @throws UsageError for a tag that is not an image name, or a tag for a target not being built.
 * @throws ContextError for a missing or unreadable context or Dockerfile.
 * @throws EngineError when the engine cannot be reached, does not answer, or cannot build.
 */
export async function runBuild(options: RunBuildOptions): Promise<BuildOutcome> {
  const log = options.logger ?? silentLogger;
  const startedAt = Date.now();
  const deadline = options.timeoutMs === undefined ? undefined : startedAt + options.timeoutMs;
  if (
    options.concurrency !== undefined &&
    (!Number.isInteger(options.concurrency) || options.concurrency < 1)
  ) {
    throw new UsageError(
      `concurrency must be a whole number of at least 1, not ${options.concurrency}`,
    );
  }
  checkTargets(options.analysis);
  const tags = tagsByTarget(options.analysis, options.tags ?? {});

  const masked = [...(options.maskValues ?? []), ...sessionSecretTexts(options.session)];
  const redact = createRedactor(masked);
  const hasSecrets = masked.some((value) => value !== "");
  const signal = withDeadline(options.signal, deadline);

  // The engine's probe and the context's walk do not depend on each other; a context that cannot
  // be read ends the probe too (a request left open would hold the process).
  checkPush(options);
  const platforms = platformsOf(options);
  const cacheFrom = options.cacheFrom ?? [];
  const cacheTo = options.cacheTo ?? [];
  const usesCache = cacheFrom.length > 0 || cacheTo.length > 0;
  const probe = new AbortController();
  const probeSignal = signal === undefined ? probe.signal : AbortSignal.any([signal, probe.signal]);
  let info: EngineInfo;
  let prepared: PreparedContext;
  // Whether the engine can read a tar upload depends on its image store (`readsTarContext`), so a
  // build that may send a tar asks for the capabilities in place of the version alone (one probe:
  // /version and /info at once); an engine that cannot tell its store is built for as before.
  const transfer = options.context.transfer ?? "auto";
  const wantsStore = transfer !== "session" && (options.engine.buildPath ?? "build") === "build";
  if (platforms !== undefined && platforms.length > 1) {
    await checkSeveralPlatforms(options.engine, platforms, probeSignal);
  }
  try {
    [info, prepared] = await Promise.all([
      // Cache options depend on the engine's image store: ask for its capabilities instead.
      usesCache && options.engine.capabilities !== undefined
        ? options.engine.capabilities(probeSignal).then((capabilities) => {
            checkCacheSupport(
              { cacheFrom, cacheTo },
              capabilities,
              options.engine.buildPath ?? "build",
            );
            return capabilities;
          })
        : wantsStore && options.engine.capabilities !== undefined
          ? options.engine.capabilities(probeSignal).catch((error: unknown) => {
              // Only an engine that answered /version and refused /info is built for without
              // knowing its store; unreachable or silent stays an error (not asked twice).
              if (error instanceof EngineError && error.code === "ENGINE_REQUEST") {
                return options.engine.info(probeSignal);
              }
              throw error;
            })
          : options.engine.info(probeSignal),
      prepareContext(options.context, options.engine.local),
    ]);
  } catch (error) {
    probe.abort(error);
    throw error;
  }
  if (prepared.kind === "tar" && wantsStore && "imageStore" in info) {
    const capabilities = info as EngineCapabilities;
    if (!readsTarContext(capabilities)) {
      if (transfer === "tar") {
        throw new EngineError(
          "ENGINE_UNSUPPORTED",
          `the engine at ${capabilities.endpoint} (Docker ${capabilities.version}, containerd image store) cannot read a context uploaded as a tar (moby/moby#47717, fixed in Docker 28)`,
          { hint: "Send the context through a session: context transfer `session` or `auto`." },
        );
      }
      const again = await prepareContext(
        { ...options.context, transfer: "session" },
        options.engine.local,
      );
      prepared = again.kind === "session" ? { ...again, reason: "engine" } : again;
    }
  }
  if (!info.buildkit) {
    throw new EngineError(
      "ENGINE_UNSUPPORTED",
      `the engine at ${info.endpoint} (Docker ${info.version}, API ${info.apiVersion}) cannot run BuildKit builds`,
      { hint: "stagecraft needs a Linux Docker Engine 18.09 or newer." },
    );
  }
  // BUILDPLATFORM (and TARGETPLATFORM by default) are the engine's: a FROM may depend on them.
  // Several platforms: the graph is the first one's (`platforms`' doc).
  const analysis = forEngine(options.analysis, info.platform, platforms?.[0]);
  const cacheByTarget = assignCacheRefs(
    cacheTo,
    cacheFrom,
    analysis.plan.targets.map((target) => target.id),
  );
  const targets: TargetSpec[] = analysis.plan.targets.map((target) => {
    const cache = cacheByTarget[target.id];
    return {
      name: target.id,
      // The default target is sent without `target=`: BuildKit cannot name an unnamed last stage.
      stage: target.requested,
      tags: tags[target.id] ?? [],
      ...(cache === undefined || !usesCache
        ? {}
        : { settings: { cacheFrom: cache.cacheFrom, cacheTo: cache.cacheTo } }),
    };
  });
  const pins = await pinBases(options, analysis, signal);
  const { local: localPins, kept: digestBases } = await pinImportedBasesLocally(
    options,
    info,
    analysis,
    pins,
    { platforms, log, signal },
  );
  const namedContexts = {
    ...Object.fromEntries(
      (pins?.pinned ?? []).map((pin) => [
        contextNameOf(pin.reference),
        `docker-image://${pin.pinned}`,
      ]),
    ),
    ...Object.fromEntries(
      (localPins?.pinned ?? []).map((pin) => [
        contextNameOf(pin.reference),
        `docker-image://${pin.local}`,
      ]),
    ),
    ...options.namedContexts,
  };
  const releasePins = async (): Promise<void> => {
    if (localPins === undefined) return;
    await releaseLocalPins(options.engine, localPins).catch((error: unknown) => {
      log.warn({ error: String(error) }, "could not remove the local names of pinned bases");
    });
  };
  const names = targets.map((target) => target.name);
  const stageId = (index: number): string => analysis.graph.stages[index]?.id ?? `stage-${index}`;
  const targetStages = Object.fromEntries(
    analysis.plan.targets.map((target) => [target.id, target.reachable.map(stageId)]),
  );

  const stages = analysis.graph.stages.map((stage) => ({
    id: stage.id,
    dependsOn: stage.dependsOn.map(stageId),
  }));
  const report = createReportBuilder();
  const stageSteps = createStageStepsCollector();
  const listener = options.onEvent;
  let lastStepStartedAt: number | undefined;
  let lastNews = Date.now();
  // Set once a target failed because its output could not be written: that error is then said.
  let outputFailureSaid = false;
  // The stage-size probes, once the run knows what to measure.
  let sizes: StageSizeMeasurement | undefined = undefined;
  const emit = (event: BuildEvent): void => {
    if (event.type === "step-started") lastStepStartedAt = Date.now();
    if (event.type === "target-failed" && event.error.code === "OUTPUT_WRITE") {
      outputFailureSaid = true;
    }
    // Capped after masking: a cut must not leave half a secret that no longer matches.
    const shown = capFailure(withReportNumbers(hasSecrets ? redactDeep(event, redact) : event));
    report.add(shown);
    stageSteps.add(shown);
    listener?.(shown);
    // A stage the run has built is measured now, while the targets that need more go on; a run
    // with a failed or cancelled target shows no stage sizes, so its probes stop at once.
    if (event.type === "stage-finished" || event.type === "stage-cached") {
      sizes?.stageBuilt(event.stage);
    } else if (event.type === "target-failed" || event.type === "target-cancelled") {
      sizes?.abort();
    }
  };
  // A stage's end carries the report's numbers for it, so the live view and the report agree.
  const withReportNumbers = (event: BuildEvent): BuildEvent => {
    if (event.type !== "stage-finished") return event;
    const stage = report.finish().stages.find((entry) => entry.stage === event.stage);
    if (stage === undefined) return event;
    return {
      ...event,
      durationMs: stage.durationMs,
      stepsRun: stage.stepsRun,
      stepsCached: stage.stepsCached,
    };
  };
  const tracker = createProgressTracker({
    targets: names,
    targetStages,
    dockerfileMap: createDockerfileMap(analysis.graph, Object.keys(namedContexts)),
    onEvent: emit,
  });

  const sessionOptions = toSessionOptions(
    options.session,
    prepared,
    namedDirs(options),
    (event) => {
      lastNews = Date.now();
      emit(event);
    },
  );
  // Several targets that import a cache get a session each, as buildx gives each bake target one.
  // With one session, BuildKit keys the context (`local://context`) by that session, so the
  // second target finds the stages it shares with the first in the engine's own cache by that key,
  // and never links them to the imported records: the steps after them were exported keyed by the
  // context's content (examples/node-service: `RUN npm test` and `npm run lint` ran again after a
  // registry-cache rebuild while `--target test` alone was all cached). A session of its own keys
  // each target's context apart, so its steps are matched by content, in the import too.
  const sessionPerTarget =
    sessionOptions !== undefined &&
    sessionOptions.output === undefined &&
    names.length > 1 &&
    Object.values(cacheByTarget).some((cache) => cache.cacheFrom.length > 0);
  const session =
    sessionOptions === undefined || sessionPerTarget
      ? undefined
      : await openEngineSession(options.engine, sessionOptions, signal).catch(
          async (error: unknown) => {
            await releasePins();
            throw error;
          },
        );
  const engine =
    sessionOptions !== undefined && sessionPerTarget
      ? bindSessionPerBuild(options.engine, (buildSignal) =>
          openEngineSession(options.engine, sessionOptions, buildSignal ?? signal),
        )
      : session === undefined
        ? options.engine
        : bindSession(options.engine, session);

  emit({
    type: "run-started",
    time: Date.now(),
    schemaVersion: BUILD_EVENT_SCHEMA_VERSION,
    targets: names,
    stages,
    targetStages: Object.fromEntries(
      Object.entries(targetStages).map(([target, list]) => [target, [...list]]),
    ),
    concurrency: Math.min(names.length, options.concurrency ?? names.length),
    engine: {
      endpoint: info.endpoint,
      version: info.version,
      apiVersion: info.apiVersion,
      platform: info.platform,
    },
    context: describeContext(prepared),
    ...(options.push === true ? { push: true } : {}),
    ...(usesCache || pins !== undefined
      ? {
          cache: {
            from: unique(
              Object.values(cacheByTarget).flatMap((cache) => cache.cacheFrom.map(describeCache)),
            ),
            to: unique(
              Object.values(cacheByTarget).flatMap((cache) => cache.cacheTo.map(describeCache)),
            ),
            ...(pins === undefined ? {} : { pinned: pins.pinned, unpinned: pins.unpinned }),
          },
        }
      : {}),
  });

  // Each target's tags are pushed as soon as it is built, while the others still build.
  const pushes: Promise<boolean>[] = [];
  const pushTarget = async (target: string, names: readonly string[]): Promise<boolean> => {
    const push = options.engine.push?.bind(options.engine);
    if (push === undefined) return false;
    for (const tag of names) {
      const startedPush = Date.now();
      try {
        const pushed = await push({
          ref: tag,
          signal,
          onProgress: (progress) => {
            lastNews = Date.now();
            emit({ type: "push-progress", time: Date.now(), target, tag, ...progress });
          },
        });
        emit({
          type: "target-pushed",
          time: Date.now(),
          target,
          tag,
          digest: pushed.digest,
          durationMs: Date.now() - startedPush,
        });
      } catch (error) {
        const failure =
          error instanceof PushFailedError
            ? error
            : new PushFailedError({
                registry: registryOfReference(tag),
                tag,
                registryMessage: error instanceof Error ? error.message : String(error),
                denied: false,
              });
        log.warn({ target, tag, error: failure.message }, "push failed");
        emit({
          type: "push-failed",
          time: Date.now(),
          target,
          tag,
          registry: failure.registry,
          error: toTargetError(failure),
        });
        return false;
      }
    }
    return true;
  };

  const started = new Map<string, number>();
  const running = new Set<string>();
  const ended = new Set<string>();
  const endStream = (target: string, outcome: { imageId?: string; error?: string }): void => {
    running.delete(target);
    if (ended.has(target)) return;
    ended.add(target);
    tracker.end(target, outcome);
  };
  const onNotice = (notice: SchedulerNotice): void => {
    lastNews = Date.now();
    switch (notice.type) {
      case "target-queued":
        emit({ type: "target-queued", time: notice.time, target: notice.target });
        return;
      case "target-started":
        started.set(notice.target, notice.time);
        running.add(notice.target);
        emit({
          type: "target-started",
          time: notice.time,
          target: notice.target,
          buildId: notice.buildId,
        });
        return;
      case "target-finished":
        endStream(notice.target, { imageId: notice.imageId });
        // Every stage the target needs is built, whether or not its stage events came yet: with a
        // session per target (a cache import) the containerd store's Control API streams let the
        // tracker settle a stage shared by several targets only once all their streams ended.
        for (const stage of targetStages[notice.target] ?? []) sizes?.stageBuilt(stage);
        if (options.push === true && notice.tags.length > 0) {
          const names = [...notice.tags];
          // After this event is out, so `target-pushed` follows `target-finished`.
          pushes.push(Promise.resolve().then(() => pushTarget(notice.target, names)));
        }
        emit({
          type: "target-finished",
          time: notice.time,
          target: notice.target,
          imageId: notice.imageId,
          tags: [...notice.tags],
          ...(platforms === undefined ? {} : { platforms: [...platforms] }),
          durationMs: notice.time - (started.get(notice.target) ?? notice.time),
        });
        return;
      case "target-failed":
        endStream(notice.target, { error: notice.error.message });
        emit({
          type: "target-failed",
          time: notice.time,
          target: notice.target,
          error: toTargetError(notice.error),
          durationMs: notice.time - (started.get(notice.target) ?? notice.time),
        });
        return;
      case "target-cancelled":
        endStream(notice.target, { error: notice.error.message });
        emit({
          type: "target-cancelled",
          time: notice.time,
          target: notice.target,
          reason: notice.error.reason,
          message: notice.error.message,
        });
        return;
      default:
        return notice satisfies never;
    }
  };

  const quietMs = options.quietNoticeMs ?? QUIET_NOTICE_MS;
  let quietSaid = 0;
  const watch = setInterval(
    () => {
      const quiet = Date.now() - lastNews;
      if (running.size === 0 || quiet < quietMs * (quietSaid + 1)) return;
      quietSaid += 1;
      emit({ type: "engine-quiet", time: Date.now(), quietMs: quiet, running: [...running] });
    },
    Math.min(1000, quietMs),
  );
  watch.unref();

  const settings: BuildSettings = {
    buildArgs: buildArgsOf(analysis),
    // BuildKit's `platform` attribute takes a comma-separated list (dockerui `parsePlatforms`).
    platform: platforms === undefined ? undefined : platforms.join(","),
    labels: options.labels,
    noCache: options.noCache,
    pull: options.pull,
    network: options.network,
    extraHosts: options.extraHosts,
    namedContexts: Object.keys(namedContexts).length === 0 ? undefined : namedContexts,
  };
  const probeStages =
    options.stageSizes === false ||
    session?.output !== undefined ||
    engine.removeImage === undefined
      ? []
      : selectSizeProbes(
          analysis.plan.targets.map((target) => target.id),
          analysis.graph.stages.map((stage) => ({
            id: stage.id,
            copiesFrom: stage.dependencies
              .filter((use) => use.kind === "copy")
              .map((use) => stageId(use.stage)),
            baseStage: stage.base.kind === "stage" ? stageId(stage.base.index) : null,
          })),
        );
  let stageSizes: Record<string, number> = {};
  const unmeasuredStages: { stage: string; reason: string }[] = [];
  let result: RunResult;
  // One set of slots for the targets and the size probes. A run queues all its targets at its
  // start and p-limit is first in, first out, so a probe takes a slot only when no target waits
  // for one. Without a limit every target builds at once, and so does each probe once its stage is
  // built: it only exports what the targets built.
  const limit =
    options.limit ?? (options.concurrency === undefined ? undefined : pLimit(options.concurrency));
  // Under way while the targets build; a context that cannot be fingerprinted is probed.
  const fingerprint =
    probeStages.length > 0 && options.stageSizeFile !== undefined
      ? fingerprintContexts(prepared, options, namedContexts).catch(() => undefined)
      : Promise.resolve(undefined);
  const onContainerdStore =
    "imageStore" in info && (info as EngineCapabilities).imageStore.kind === "containerd";
  sizes =
    probeStages.length === 0
      ? undefined
      : measureStageSizes({
          engine,
          context: contextSource(prepared),
          // The targets fill the cache before a probe is sent: it must read it, not build again.
          settings: { ...settings, noCache: undefined, pull: undefined },
          stages: probeStages,
          chainOf: (stage) => stageChain(analysis, stage),
          steps: stageSteps.stages,
          input: JSON.stringify([
            analysis.input.text,
            buildArgsOf(analysis) ?? {},
            settings.platform ?? "",
          ]),
          engineKey: `${info.endpoint} ${info.version} ${info.platform}`,
          contextFingerprint: fingerprint,
          stageSizeFile: options.stageSizeFile,
          importsCache: cacheFrom.length > 0,
          // On a graph-driver engine a probe beside the targets hides its cost (bake-hcl cold
          // 1.07x -> 0.98x of bake). On the containerd store it competes with the targets' exports
          // for the same layers (node-service with a cache export: 34.8 s and 21.2 s beside the
          // exports against 2.3 s for both after the targets): there the probes wait for the
          // targets. An engine that did not tell its store sends them early.
          early: !onContainerdStore,
          // Through the Control API a probe on the containerd store makes no image, so none is
          // removed (a removal there waits for the store's garbage collection: 10.7 s for two
          // after a cold node-service at load 5-8); the graph driver's exporter makes it as before.
          // A run through POST /build sends its probes there too when the context is in a session.
          sizeOnly:
            (options.engine.buildPath ?? "build") === "control" ||
            (onContainerdStore && prepared.kind === "session"),
          limit,
          signal,
          logger: log,
        });
  try {
    result = await runTargets({
      engine,
      context: contextSource(prepared),
      targets,
      settings,
      concurrency: options.concurrency,
      limit,
      keepGoing: options.keepGoing,
      signal: options.signal,
      timeoutMs: deadline === undefined ? undefined : Math.max(0, deadline - Date.now()),
      logger: log,
      onNotice,
      lastStepStartedAt: () => lastStepStartedAt,
      onStatus: (target, status) => {
        lastNews = Date.now();
        quietSaid = 0;
        tracker.push(target, status);
      },
      describeFailure: (target) => {
        endStream(target, {});
        const context = tracker.failureContext(target);
        return {
          stage: context.stage,
          step: context.step === undefined ? undefined : redact(context.step),
          line: context.line,
          logTail: context.logTail.map(redact),
          stepOwner: context.owner,
        };
      },
    });
    if (sizes !== undefined && result.status === "succeeded") {
      // What knowing the sizes added to the run after its targets: the probes still building, or
      // waiting for a slot (bench/sizes.mjs reads it).
      const sizesStartedAt = performance.now();
      const found = await sizes.finish();
      stageSizes = found.sizes;
      unmeasuredStages.push(...found.unmeasured);
      log.debug(
        {
          probed: found.probed,
          recalled: found.recalled,
          ms: Math.round((performance.now() - sizesStartedAt) * 10) / 10,
        },
        "stage sizes",
      );
    }
    const pushed = await Promise.all(pushes);
    if (pushed.includes(false) && result.status === "succeeded") {
      result = { ...result, status: "failed" };
    }
  } finally {
    sizes?.abort();
    clearInterval(watch);
    // Before the session closes: a probe's build may be reading the context through it.
    await sizes?.settled();
    await releasePins();
    await closeSession(session, options.signal, log).catch((error: unknown) => {
      // The target it broke failed with it (OUTPUT_WRITE): said once, as that target's failure.
      if (!(outputFailureSaid && error === session?.outputFailure)) throw error;
    });
  }

  const images: Record<string, ImageDetails | undefined> = {};
  const layers: Record<string, LayerReport[]> = {};
  const layerStages = toLayerStages(analysis);
  await Promise.all(
    result.targets.map(async (target) => {
      // A build exported to a session output made no image.
      if (target.status !== "succeeded" || target.imageId === undefined || target.imageId === "")
        return;
      const { imageId } = target;
      await Promise.all([
        (async () => {
          try {
            images[target.name] = await options.engine.inspectImage(imageId, options.signal);
          } catch (error) {
            log.warn(
              { target: target.name, error: String(error) },
              "could not inspect the built image",
            );
          }
        })(),
        (async () => {
          if (options.engine.imageHistory === undefined) return;
          try {
            const history = await options.engine.imageHistory(imageId, options.signal);
            layers[target.name] = attributeLayers(history, target.name, layerStages);
          } catch (error) {
            log.warn(
              { target: target.name, error: String(error) },
              "could not read the built image's history",
            );
          }
        })(),
      ]);
    }),
  );

  const finishedAt = Date.now();
  emit({
    type: "run-finished",
    time: finishedAt,
    status: result.status,
    durationMs: finishedAt - result.startedAt,
    succeeded: result.targets.filter((t) => t.status === "succeeded").map((t) => t.name),
    failed: result.targets.filter((t) => t.status === "failed").map((t) => t.name),
    cancelled: result.targets.filter((t) => t.status === "cancelled").map((t) => t.name),
  });
  const built = report.finish(images, {
    stageSizes,
    layers,
    budgets: options.sizeBudgets,
    sizeMeaning: SIZE_MEANING,
    unmeasuredStages,
  });
  if (built.cache !== null && cacheFrom.length > 0) {
    built.cache.misses = explainCacheMisses(
      built,
      analysis,
      new Set((pins?.pinned ?? []).map((pin) => pin.reference)),
      new Set(digestBases),
    );
  }
  return {
    ...result,
    report: hasSecrets ? redactDeep(built, redact) : built,
    engine: info,
    images,
  };
}

/** The stage and every stage it needs, by id. */
function stageChain(analysis: DockerfileAnalysis, id: string): string[] {
  const stages = analysis.graph.stages;
  const start = stages.findLast((stage) => stage.id === id);
  if (start === undefined) return [id];
  const seen = new Set<number>();
  const pending = [start.index];
  while (pending.length > 0) {
    const index = pending.pop() ?? 0;
    if (seen.has(index)) continue;
    seen.add(index);
    pending.push(...(stages[index]?.dependsOn ?? []));
  }
  return [...seen].map((index) => stages[index]?.id ?? `stage-${index}`);
}

/** The stages as layer attribution reads them: each one's base and its steps' keywords and lines. */
function toLayerStages(analysis: DockerfileAnalysis): LayerStage[] {
  const stages = analysis.graph.stages;
  return stages.map((stage) => ({
    id: stage.id,
    base:
      stage.base.kind === "stage"
        ? { kind: "stage", stage: stages[stage.base.index]?.id ?? `stage-${stage.base.index}` }
        : stage.base.kind === "image"
          ? { kind: "image", reference: stage.base.reference }
          : { kind: "scratch" },
    steps: stage.instructions.map((instruction) => ({
      keyword: instruction.kind.toUpperCase(),
      line: instruction.position.line,
      copiedFrom: instruction.kind === "copy" ? (instruction.from ?? null) : null,
    })),
  }));
}

/**
 * The mirror `pinBases` names, or its default on an engine that builds through the Control API
 * with a `registry` cache: `<that cache's registry>/stagecraft-bases`.
 */
export function pinMirrorOf(
  pinBases: string | false | undefined,
  cache: { cacheFrom: readonly CacheEntry[]; cacheTo: readonly CacheEntry[] },
  buildPath: BuildPath,
): string | undefined {
  if (pinBases === false) return undefined;
  if (pinBases !== undefined) return pinBases;
  if (buildPath !== "control") return undefined;
  const ref = [...cache.cacheTo, ...cache.cacheFrom].find(
    (entry) => entry.type === "registry" && entry.attrs.ref !== undefined,
  )?.attrs.ref;
  return ref === undefined ? undefined : `${registryOfReference(ref)}/stagecraft-bases`;
}

/**
 * Pushes the external images of the targets' stages (bases and `COPY --from` images) to the pin
 * mirror; images a named context already replaces are left alone. Undefined when not pinning.
 */
async function pinBases(
  options: RunBuildOptions,
  analysis: DockerfileAnalysis,
  signal: AbortSignal | undefined,
): Promise<BasePins | undefined> {
  const buildPath = options.engine.buildPath ?? "build";
  const option = options.pinBases;
  const mirror =
    typeof option === "object"
      ? undefined
      : pinMirrorOf(
          option,
          { cacheFrom: options.cacheFrom ?? [], cacheTo: options.cacheTo ?? [] },
          buildPath,
        );
  if (mirror === undefined && typeof option !== "object") return undefined;
  if (buildPath !== "control") {
    throw new UsageError(
      "pinned base images travel as named contexts, which only BuildKit's Control API carries",
      {
        hint: 'Build through the Control API (DockerEngine({ builder: "control" })), or turn pinning off (--no-pin-bases).',
      },
    );
  }
  const named = new Set(Object.keys(options.namedContexts ?? {}));
  const references = externalImagesOf(analysis).filter(
    (reference) => !named.has(contextNameOf(reference)),
  );
  if (typeof option === "object") return pinsOf(option, references);
  return mirror === undefined
    ? undefined
    : await pinBaseImages(options.engine, references, mirror, signal);
}

/**
 * On a graph-driver engine that imports a cache, the bases the build reads by registry digest
 * (pinned by the Dockerfile or by `pinBases`) are read by a local name instead, where the build
 * goes through the Control API (`pinBasesLocally` says why BuildKit needs it). `kept` lists the
 * bases that still go by digest on such an engine: through `/build` (no named contexts), with
 * `pull` (a local name has no registry to look in), for another platform, or when the local name
 * could not be made. The containerd store is left alone: BuildKit's own image source there keys
 * every base by its manifest, local name or not.
 */
async function pinImportedBasesLocally(
  options: RunBuildOptions,
  info: EngineInfo,
  analysis: DockerfileAnalysis,
  pins: BasePins | undefined,
  run: {
    platforms: readonly string[] | undefined;
    log: Logger;
    signal: AbortSignal | undefined;
  },
): Promise<{ local: LocalPins | undefined; kept: string[] }> {
  const { platforms, log, signal } = run;
  const none = { local: undefined, kept: [] };
  if ((options.cacheFrom ?? []).length === 0) return none;
  if (!("imageStore" in info) || (info as EngineCapabilities).imageStore.kind === "containerd") {
    return none;
  }
  const named = new Set(Object.keys(options.namedContexts ?? {}));
  const pinned = new Map((pins?.pinned ?? []).map((pin) => [pin.reference, pin.pinned]));
  const bases = externalImagesOf(analysis).flatMap((reference) => {
    if (named.has(contextNameOf(reference))) return [];
    const digestRef = pinned.get(reference) ?? (reference.includes("@sha256:") ? reference : "");
    return digestRef === "" ? [] : [{ reference, digestRef }];
  });
  const kept = bases.map((base) => base.reference);
  if (
    bases.length === 0 ||
    options.pull === true ||
    platforms?.some((platform) => platform !== info.platform) === true ||
    (options.engine.buildPath ?? "build") !== "control"
  ) {
    return { local: undefined, kept };
  }
  const local = await pinBasesLocally(options.engine, bases, signal);
  if (local.pinned.length > 0) {
    log.debug(
      { bases: local.pinned.map((pin) => ({ reference: pin.reference, local: pin.local })) },
      "bases pinned by digest are read by a local name, so an imported cache's steps match",
    );
  }
  for (const left of local.left) {
    log.warn(
      { reference: left.reference, reason: left.reason },
      "a base read by digest keeps its digest: an imported cache may miss on this engine",
    );
  }
  return { local, kept: local.left.map((left) => left.reference) };
}

/** Pins made already, of these images only, each as a pin and nothing more (no pool's fields). */
function pinsOf(given: BasePins, references: readonly string[]): BasePins {
  const wanted = new Set(references);
  return {
    pinned: given.pinned
      .filter((pin) => wanted.has(pin.reference))
      .map((pin) => ({
        reference: pin.reference,
        pinned: pin.pinned,
        ...(pin.found === undefined ? {} : { found: pin.found }),
      })),
    unpinned: given.unpinned
      .filter((pin) => wanted.has(pin.reference))
      .map((pin) => ({ reference: pin.reference, reason: pin.reason })),
  };
}

/** The external images (bases and `COPY --from` images) of the stages the targets reach, in order. */
export function externalImagesOf(analysis: DockerfileAnalysis): string[] {
  const reachable = new Set(analysis.plan.targets.flatMap((target) => target.reachable));
  return [
    ...new Set(
      [...reachable]
        .sort((a, b) => a - b)
        .flatMap((index) => analysis.graph.stages[index]?.externalImages ?? []),
    ),
  ];
}

/** `--push` needs an engine that pushes, images (not a session output) and at least one tag. */
/** The run's target platforms: `platforms`, else the analysis's one; undefined: the engine's own. */
function platformsOf(options: RunBuildOptions): string[] | undefined {
  const own = options.analysis.input.options.platform;
  if (options.platforms === undefined || options.platforms.length === 0) {
    return own === undefined ? undefined : [own];
  }
  const platforms = [...new Set(options.platforms)];
  for (const platform of platforms) {
    const parsed = parsePlatform(platform, defaultPlatform);
    if (!parsed.ok) {
      throw new UsageError(parsed.message, {
        code: "INVALID_PLATFORM",
        hint: "Write a platform as os/arch[/variant], e.g. linux/amd64 or linux/arm64.",
      });
    }
  }
  if (own !== undefined && own !== platforms[0]) {
    throw new UsageError(
      `the analysis is made for platform ${own}, not for the first of platforms (${platforms.join(", ")})`,
      { hint: "Analyse the Dockerfile with platform set to the first of the platforms." },
    );
  }
  return platforms;
}

/**
 * Several platforms make one image index: `/build` takes one platform (moby parses it with
 * containerd's `platforms.Parse`), and a graph-driver store holds no index (buildx: "Multi-platform
 * build is not supported for the docker driver").
 */
async function checkSeveralPlatforms(
  engine: Engine,
  platforms: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  const asked = platforms.join(", ");
  if ((engine.buildPath ?? "build") !== "control") {
    throw new EngineError(
      "ENGINE_UNSUPPORTED",
      `a build for several platforms (${asked}) needs BuildKit's Control API: the engine's POST /build takes one platform`,
      {
        hint: 'Build through the Control API (new DockerEngine({ builder: "control" })) on an engine with the containerd image store, or one platform per build.',
      },
    );
  }
  const capabilities = await engine.capabilities?.(signal);
  if (capabilities !== undefined && capabilities.imageStore.kind !== "containerd") {
    throw new EngineError(
      "ENGINE_UNSUPPORTED",
      `Multi-platform build is not supported for the docker driver. Switch to a different driver, or turn on the containerd image store, and try again. (${asked}; the engine at ${capabilities.endpoint} keeps images in the ${capabilities.imageStore.driver} graph driver, which holds one platform per image)`,
      {
        hint: 'Turn on the containerd image store ("features": {"containerd-snapshotter": true} in daemon.json), or build one platform per build.',
      },
    );
  }
}

function checkPush(options: RunBuildOptions): void {
  if (options.push !== true) return;
  if (options.engine.push === undefined) {
    throw new UsageError("this engine cannot push images", {
      hint: "Push with a Docker Engine (DockerEngine), or leave out push.",
    });
  }
  if (options.session?.output !== undefined) {
    throw new UsageError(
      `push and an output of type ${options.session.output.type} exclude each other: the build makes no image to push`,
      { hint: "Leave out the output (-o) to push the image, or leave out --push." },
    );
  }
  const tagged = Object.values(options.tags ?? {}).some((names) => names.length > 0);
  if (!tagged) {
    throw new UsageError("push needs a tag with the registry to push to", {
      hint: "Tag the target, e.g. -t 127.0.0.1:5000/team/app:1 (with several targets, -t app=…).",
    });
  }
}

/**
 * Targets that read cache and took no step from it. The commonest cause across engines: a base
 * image that is not pinned by its registry digest has another id on each engine's image store (the
 * graph driver names it by its config digest, the containerd store by its manifest digest), so
 * no cache key made elsewhere matches (measured on Docker 26.1.5). On a graph-driver engine a base
 * that is read by digest misses too once the engine has a record of its own of that base
 * (`pinBasesLocally` says why); `byDigest` are the bases the run read so.
 */
function explainCacheMisses(
  report: BuildReport,
  analysis: DockerfileAnalysis,
  pinned: ReadonlySet<string>,
  byDigest: ReadonlySet<string>,
): { target: string; reason: string }[] {
  return report.targets.flatMap((target) => {
    if (target.status !== "succeeded" || target.stepsCached > 0 || target.stepsRun === 0) return [];
    const planned = analysis.plan.targets.find((entry) => entry.id === target.target);
    const images = (planned?.reachable ?? []).flatMap((index) => {
      const base = analysis.graph.stages[index]?.base;
      return base?.kind === "image" ? [base.reference] : [];
    });
    const unpinned = [
      ...new Set(images.filter((image) => !image.includes("@") && !pinned.has(image))),
    ];
    const digests = [...new Set(images.filter((image) => byDigest.has(image)))];
    const reason =
      unpinned.length > 0
        ? `no step came from the cache: ${unpinned.length === 1 ? "the base image" : "the base images"} ${unpinned.join(", ")} ${unpinned.length === 1 ? "is" : "are"} not pinned by registry digest, and the same image has a different id on each engine's image store, so a cache made on another engine cannot match; pin the bases (--pin-bases REGISTRY/PATH, on by default with a registry cache) or write FROM NAME@sha256:DIGEST with the digest the registry has`
        : digests.length > 0
          ? `no step came from the cache although ${digests.join(", ")} ${digests.length === 1 ? "is" : "are"} read by registry digest: this engine keeps images in a graph driver, where BuildKit keys a base read by digest by its manifest before its layers, and takes a build-cache record of the engine's own under the manifest key (left by any earlier build that pulled the base) before it looks at the layer key an imported cache is linked by, so none of its steps can match (moby/buildkit solver/edge.go); build through BuildKit's Control API without --pull (leave out --no-pin-bases, or give a --build-context), where stagecraft reads such a base by a local name, or clear the engine's build cache first (docker builder prune); otherwise the cache refs may not exist yet, or were made with other build args, context files or Dockerfile lines`
          : pinned.size > 0
            ? "no step came from the cache although the bases were pinned: the cache refs may not exist yet, or were made with other build args, context files, Dockerfile lines or base digests (a graph-driver engine and a containerd-store engine push the same image under different digests)"
            : "no step came from the cache: the cache refs may not exist yet, or were made with other build args, context files or Dockerfile lines";
    return [{ target: target.target, reason }];
  });
}

/** `registry:REF`, `local:DIR`, `inline`, …: a cache entry in one short word. */
function describeCache(entry: CacheEntry): string {
  const where = entry.attrs.ref ?? entry.attrs.src ?? entry.attrs.dest ?? entry.attrs.scope;
  return where === undefined ? entry.type : `${entry.type}:${where}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** BuildKit would stop these builds anyway (e.g. an invalid image reference): say so before sending. */
function checkTargets(analysis: DockerfileAnalysis): void {
  for (const target of analysis.plan.targets) {
    if (target.buildError !== undefined) throw target.buildError;
  }
}

/** The tags per target, checked: every key a target of the run, every value an image name. */
function tagsByTarget(
  analysis: DockerfileAnalysis,
  tags: Readonly<Record<string, readonly string[]>>,
): Record<string, readonly string[]> {
  const ids = analysis.plan.targets.map((target) => target.id);
  const result: Record<string, readonly string[]> = {};
  for (const [target, names] of Object.entries(tags)) {
    const id = target.toLowerCase();
    if (!ids.includes(id)) {
      throw new UsageError(`tags were given for "${target}", which is not a target of this build`, {
        hint: `Targets: ${ids.join(", ")}.`,
      });
    }
    for (const name of names) {
      const problem = validateImageReference(name);
      if (problem !== undefined) {
        throw new UsageError(
          `tag "${name}" of target ${id} is not a valid image name: ${problem}`,
          {
            code: "INVALID_TAG",
            hint: "Image names are lower-case letters, digits and separators, e.g. myorg/app:1.2.",
          },
        );
      }
    }
    result[id] = [...(result[id] ?? []), ...names];
  }
  return result;
}

/** The analysis's build args as the engine takes them. */
function buildArgsOf(analysis: DockerfileAnalysis): Readonly<Record<string, string>> | undefined {
  const args = analysis.input.options.buildArgs;
  if (args === undefined) return undefined;
  return args instanceof Map
    ? Object.fromEntries(args as ReadonlyMap<string, string>)
    : (args as Readonly<Record<string, string>>);
}

/** The analysis for an engine of this platform (the default assumes linux/amd64) and target platform. */
function forEngine(
  analysis: DockerfileAnalysis,
  platform: string,
  target: string | undefined,
): DockerfileAnalysis {
  const { text, options } = analysis.input;
  const wanted = target === undefined ? options : { ...options, platform: target };
  if ((options.buildPlatform ?? "linux/amd64") === platform && wanted.platform === options.platform)
    return analysis;
  const again = analyzeDockerfile(text, { ...wanted, buildPlatform: platform });
  checkTargets(again);
  return again;
}

/** The caller's signal, ended at the deadline too (the engine's probe and the session's opening). */
function withDeadline(
  signal: AbortSignal | undefined,
  deadline: number | undefined,
): AbortSignal | undefined {
  if (deadline === undefined) return signal;
  return deadlineSignal(Math.max(0, deadline - Date.now()), signal);
}

function toSessionOptions(
  requested: RunBuildOptions["session"],
  prepared: PreparedContext,
  named: Readonly<Record<string, string>>,
  emit: (event: BuildEvent) => void,
): SessionOptions | undefined {
  if (prepared.kind === "session") {
    return {
      ...requested,
      context: { dir: prepared.contextDir, dockerfile: prepared.dockerfile, named },
      onContextSent: (sent) => {
        emit({
          type: "context-sent",
          time: Date.now(),
          source: sent.dir,
          files: sent.files,
          bytes: sent.bytes,
        });
      },
    };
  }
  return requested;
}

/** The named contexts that are directories, absolute: the session serves each under its name. */
function namedDirs(options: RunBuildOptions): Record<string, string> {
  const dirs: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.namedContexts ?? {})) {
    if (!isContextUrl(value)) dirs[name] = resolve(options.context.cwd ?? process.cwd(), value);
  }
  return dirs;
}

/**
 * What a remembered stage size is keyed by on the context side: a small tar's SHA-256 (one more pass
 * over the bytes it already holds in memory), else the walk of the context directory that
 * `fingerprintContextDir` hashes (a session context, or a tar read from disk); then every named
 * context, a directory by its walk (no ignore file: every file counts) and an image by its name.
 */
async function fingerprintContexts(
  prepared: PreparedContext,
  options: RunBuildOptions,
  namedContexts: Readonly<Record<string, string>>,
): Promise<string> {
  const dockerfile = resolve(options.context.cwd ?? process.cwd(), options.context.dockerfile);
  const main =
    prepared.kind === "tar" && prepared.context.bytes < SESSION_CONTEXT_BYTES
      ? `tar ${await fingerprintStream(prepared.context.stream())}`
      : `dir ${(await fingerprintContextDir(prepared.kind === "tar" ? prepared.context.contextDir : prepared.contextDir, dockerfile)).digest}`;
  const named: string[] = [];
  for (const [name, dir] of Object.entries(namedDirs(options)).sort()) {
    named.push(`${name} ${(await fingerprintContextDir(dir, undefined)).digest}`);
  }
  return createHash("sha256")
    .update(JSON.stringify([main, named, Object.entries(namedContexts).sort()]))
    .digest("hex");
}

function contextSource(prepared: PreparedContext): ContextSource {
  if (prepared.kind === "tar") return prepared.context;
  // With FileSync the daemon asks the session for the files; no tar is ever made.
  return {
    stream: () => {
      throw new Error("this build's context goes through the session (FileSync)");
    },
    dockerfileInContext: prepared.dockerfile,
  };
}

function describeContext(prepared: PreparedContext): RunContext {
  if (prepared.kind === "tar") {
    const { files, bytes, warnings } = prepared.context;
    return { transfer: "tar", files, bytes, warnings: [...warnings] };
  }
  return { transfer: "session", files: null, bytes: null, warnings: [...prepared.warnings] };
}

/** Closes the session; an interrupted run does not wait long for an engine that no longer answers. */
async function closeSession(
  session: EngineSession | undefined,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<void> {
  if (session === undefined) return;
  const closing = session.close();
  if (signal?.aborted !== true) {
    await closing;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    closing,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn({}, "the session did not close within 2 s of the interrupt; leaving it");
        resolve();
      }, 2000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** A failed target's message and log lines, as bounded as the report's (a step can print megabytes). */
function capFailure(event: BuildEvent): BuildEvent {
  if (event.type !== "target-failed") return event;
  const error = capTargetError(event.error);
  return error === event.error ? event : { ...event, error };
}

/** A session's secret values as text (masked like `maskValues`). */
function sessionSecretTexts(session: RunBuildOptions["session"]): string[] {
  const decoder = new TextDecoder();
  return Object.values(session?.secrets ?? {}).map((value) => decoder.decode(value));
}

/** The JSON form of a target's error, as `target-failed` carries it. */
function toTargetError(error: StagecraftError): TargetError {
  const base = { code: error.code, message: error.message, hint: error.hint, logTail: [] };
  if (error instanceof BuildFailedError) {
    return {
      ...base,
      stage: error.stage,
      step: error.step,
      line: error.line,
      logTail: [...error.logTail],
    };
  }
  if (error instanceof MissingSecretError) return { ...base, missingId: error.secretId };
  if (error instanceof MissingSshAgentError) return { ...base, missingId: error.sshId };
  return base;
}

// @stagecraft/core/engine: the engine port (to write an adapter), endpoints, contexts and sessions.
export type {
  BuildRequest,
  BuildResponse,
  BuildSettings,
  CacheEntry,
  DistributionAnswer,
  Engine,
  EngineInfo,
  EngineSession,
  ImageDetails,
  ImageHistoryEntry,
  NetworkMode,
  PushProgress,
  PushRequest,
  PushResponse,
  SessionCredentials,
  SessionOptions,
  SessionOutput,
  SessionSshAgent,
} from "./engine.js";
export type { DockerEngineOptions } from "./docker-engine.js";
export { IMAGE_LABELS } from "../scheduler/run-targets.js";
export { checkCacheSupport, readCapabilities } from "./engine-capabilities.js";
export type {
  BuildPath,
  EngineCapabilities,
  ImageStoreKind,
  InfoAnswer,
} from "./engine-capabilities.js";
export { assignCacheRefs, refForTarget } from "./assign-cache-refs.js";
export type { TargetCache } from "./assign-cache-refs.js";
export { registryOfReference } from "./registry-auth.js";
export { contextNameOf, pinBaseImages } from "./pin-base-images.js";
export type { BasePins, PinnedBase, UnpinnedBase } from "./pin-base-images.js";
export type { RegistryImage, RegistryPlatform } from "./read-registry-image.js";
export { BuildkitEngine, parseBuildkitAddress } from "./buildkit/buildkit-engine.js";
export type {
  BuildkitDescription,
  BuildkitEngineOptions,
  BuildkitTlsFiles,
} from "./buildkit/buildkit-engine.js";
export type { WorkerStore } from "./buildkit/read-worker-store.js";
export { ControlClient } from "./buildkit/control-client.js";
export type { BuildkitAddress } from "./buildkit/control-client.js";
export type { UsageRecord, WorkerRecord } from "./buildkit/control-protos.js";
export { resolveEngineEndpoint } from "./resolve-endpoint.js";
export { scanImageLayers } from "./scan-image-layers.js";
export type { ImageScan, ScannedLayer } from "./scan-image-layers.js";
export type { EndpointTransport, EngineEndpoint } from "./resolve-endpoint.js";
export { readDockerConfig } from "./docker-config.js";
export type { DockerModem, ModemDialOptions } from "./modem-transport.js";
export type { DockerConfig } from "./docker-config.js";
export { packBuildContext } from "../context/pack-build-context.js";
export type { BuildContext, PackBuildContextOptions } from "../context/pack-build-context.js";
export { SESSION_CONTEXT_BYTES, prepareContext } from "../context/prepare-context.js";
export type { ContextInput, ContextTransfer, PreparedContext } from "../context/prepare-context.js";
export type { ContextDirent, ContextFs } from "../context/walk-context-dir.js";
export { gatherContextFacts } from "../context/gather-context-facts.js";
export type { GatherContextFactsOptions } from "../context/gather-context-facts.js";
export { inspectBaseImages } from "./inspect-base-images.js";
export { probeRegistries, readEngineReadiness } from "./read-engine-readiness.js";
export type { EngineReadinessOptions } from "./read-engine-readiness.js";
export { explainForeignPlatforms } from "./explain-foreign-platforms.js";
export type { ForeignPlatformEngine, PlatformBuild } from "./explain-foreign-platforms.js";
export { runTargets } from "../scheduler/run-targets.js";
export type {
  ContextSource,
  RunResult,
  RunTargetsOptions,
  SchedulerNotice,
  TargetSpec,
} from "../scheduler/run-targets.js";
export { REDACTED, createRedactor, redactDeep } from "../redact.js";
export type { Redactor } from "../redact.js";
export type { Logger } from "../logger.js";
export { silentLogger } from "../logger.js";
export type { EngineErrorCode } from "../errors.js";

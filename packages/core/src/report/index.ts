// @stagecraft/core/report: the end-of-run report's shapes, and its builder for recorded events.
export { BUILD_REPORT_SCHEMA_VERSION } from "./build-report.js";
export type {
  BuildReport,
  CriticalPath,
  CriticalPathStage,
  LayerReport,
  ReportStageEdges,
  ReportTotals,
  ReportWarning,
  SizeBudgetReport,
  SizeComparison,
  SlowStep,
  StageReport,
  StageStatus,
  StepReport,
  StepStatus,
  TargetFailure,
  PublishedTarget,
  ReportCache,
  TargetReport,
  TargetStatus,
} from "./build-report.js";
export { createReportBuilder } from "./create-report-builder.js";
export type {
  ImageSummary,
  ReportBuilder,
  ReportBuilderOptions,
  ReportSizes,
} from "./create-report-builder.js";
export { attributeLayers, largestLayers } from "./attribute-layers.js";
export type { HistoryEntry, LayerStage, LayerStep } from "./attribute-layers.js";
export { selectSizeProbes } from "./select-size-probes.js";
export type { SizeSourceStage } from "./select-size-probes.js";
export { createBuildReport } from "./create-build-report.js";
export { capTargetError } from "./cap-failure.js";
export type { BuildReportInput } from "./create-build-report.js";
export { formatBytes } from "./format-bytes.js";

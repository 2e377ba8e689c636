// @stagecraft/core/report: the end-of-run report's shapes, and its builder for recorded events.
export { BUILD_REPORT_SCHEMA_VERSION } from "./build-report.js";
export type {
  BuildReport,
  CriticalPath,
  CriticalPathStage,
  ReportStageEdges,
  ReportTotals,
  ReportWarning,
  SizeComparison,
  SlowStep,
  StageReport,
  StageStatus,
  StepReport,
  StepStatus,
  TargetFailure,
  TargetReport,
  TargetStatus,
} from "./build-report.js";
export { createReportBuilder } from "./create-report-builder.js";
export type { ImageSummary, ReportBuilder, ReportBuilderOptions } from "./create-report-builder.js";
export { createBuildReport } from "./create-build-report.js";
export type { BuildReportInput } from "./create-build-report.js";
export { formatBytes } from "./format-bytes.js";

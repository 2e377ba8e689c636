// @stagecraft/core/report: the end-of-run report's shapes, and its builder for recorded events.
export {
  BUILD_REPORT_SCHEMA_VERSION,
  createBuildReport,
  createReportBuilder,
} from "./create-build-report.js";
export type {
  BuildReport,
  BuildReportInput,
  CriticalPath,
  CriticalPathStage,
  ImageSummary,
  ReportBuilder,
  ReportBuilderOptions,
  ReportWarning,
  SizeComparison,
  SlowStep,
  StageReport,
  TargetFailure,
  TargetReport,
  TargetStatus,
} from "./create-build-report.js";

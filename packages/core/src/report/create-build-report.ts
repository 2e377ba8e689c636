// Summarises a run from events recorded earlier (a saved `--progress json` stream, a test's events).
import type { BuildReport } from "./build-report.js";
import type { BuildEvent } from "../events.js";
import {
  createReportBuilder,
  type ImageSummary,
  type ReportBuilderOptions,
  type ReportSizes,
} from "./create-report-builder.js";

/** What `createBuildReport` reads. */
export interface BuildReportInput extends ReportBuilderOptions {
  /** Every event of the run, in the order `onEvent` received them. */
  events: readonly BuildEvent[];
  /** Per target, the engine's data about its image (undefined when it was not built or not inspected). */
  images?: Readonly<Record<string, ImageSummary | undefined>> | undefined;
  /** Probed stage sizes, attributed layers, budgets (see `ReportSizes`). */
  sizes?: ReportSizes | undefined;
}

/**
 * Summarises a run from its recorded events: per-target status, time, steps ran, shared and cached,
 * image size; the stages; the critical path; the slowest steps; and where each failure broke.
 *
 * @example
 * const report = createBuildReport({ events, images, stageGraph, targetStages });
 */
export function createBuildReport(input: BuildReportInput): BuildReport {
  const builder = createReportBuilder(input);
  for (const event of input.events) builder.add(event);
  return builder.finish(input.images ?? {}, input.sizes ?? {});
}

import type { BuildEvent, BuildReport, StepInfo } from "@stagecraft/core";

type Redact = (text: string) => string;

function redactStep(step: StepInfo, redact: Redact): StepInfo {
  return { ...step, name: redact(step.name), instruction: redact(step.instruction) };
}

/** The event with every text a build could have put a secret in passed through `redact`. */
export function redactEvent(event: BuildEvent, redact: Redact): BuildEvent {
  switch (event.type) {
    case "log":
      return { ...event, line: redact(event.line) };
    case "step-started":
    case "step-cached":
    case "step-finished":
      return { ...event, step: redactStep(event.step, redact) };
    case "step-failed":
      return { ...event, step: redactStep(event.step, redact), error: redact(event.error) };
    case "stage-failed":
      return { ...event, error: redact(event.error) };
    case "target-failed": {
      const { error } = event;
      return {
        ...event,
        error: {
          ...error,
          message: redact(error.message),
          hint: error.hint === undefined ? undefined : redact(error.hint),
          step: error.step === undefined ? undefined : redact(error.step),
          logTail: error.logTail.map((text) => redact(text)),
        },
      };
    }
    case "warning":
      return {
        ...event,
        message: redact(event.message),
        detail: event.detail.map((text) => redact(text)),
      };
    case "transfer":
      return { ...event, name: redact(event.name) };
    case "daemon-status": {
      const { status } = event;
      return {
        ...event,
        status: {
          ...status,
          vertexes: status.vertexes.map((vertex) => ({
            ...vertex,
            name: redact(vertex.name),
            error: vertex.error === null ? null : redact(vertex.error),
          })),
          logs: status.logs.map((log) => ({ ...log, msg: redact(log.msg) })),
          warnings: status.warnings.map((warning) => ({
            ...warning,
            short: redact(warning.short),
            detail: warning.detail.map((text) => redact(text)),
          })),
        },
      };
    }
    case "run-started":
    case "run-finished":
    case "target-queued":
    case "target-started":
    case "target-finished":
    case "target-cancelled":
    case "stage-started":
    case "stage-cached":
    case "stage-finished":
      return event;
    default:
      return event satisfies never;
  }
}

/** The report with its failures, step names and warnings passed through `redact`. */
export function redactReport(report: BuildReport, redact: Redact): BuildReport {
  return {
    ...report,
    slowestSteps: report.slowestSteps.map((step) => ({
      ...step,
      name: redact(step.name),
      instruction: redact(step.instruction),
    })),
    failures: report.failures.map((failure) => ({
      ...failure,
      step: failure.step === null ? null : redact(failure.step),
      message: redact(failure.message),
      hint: failure.hint === null ? null : redact(failure.hint),
      logTail: failure.logTail.map((line) => redact(line)),
    })),
    warnings: report.warnings.map((warning) => ({ ...warning, message: redact(warning.message) })),
  };
}

import type { TargetError } from "../events.js";

/** How many log lines a failure keeps, oldest first. */
export const FAILURE_LOG_LINES = 20;
/** The longest log line a failure keeps, and the longest message: a step can print megabytes. */
export const FAILURE_LINE_CHARS = 500;
export const FAILURE_MESSAGE_CHARS = 2000;

const CUT_MARK = /\u2026 \(\d+ more characters\)$/;

/** A text at most `limit` characters long; what is cut is said (once: a cut text stays as it is). */
export function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const mark = CUT_MARK.exec(text);
  if (mark !== null && mark.index <= limit) return text;
  return `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

/**
 * A target's error as every output shows it (the live view, an `::error` annotation, the report):
 * its message and last log lines cut to the failure's bounds, and what was cut said.
 */
export function capTargetError(error: TargetError): TargetError {
  const logTail = error.logTail
    .slice(-FAILURE_LOG_LINES)
    .map((line) => cut(line, FAILURE_LINE_CHARS));
  const message = cut(error.message, FAILURE_MESSAGE_CHARS);
  const same =
    message === error.message &&
    logTail.length === error.logTail.length &&
    logTail.every((line, index) => line === error.logTail[index]);
  return same ? error : { ...error, message, logTail };
}

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError, type BuildReport } from "@stagecraft/core";
import { BUILD_REPORT_SCHEMA_VERSION } from "@stagecraft/core/report";
import type { ExitCode, Io } from "../io.js";
import { parseCommandLine, stringOption, type OptionTable } from "../parse-command-line.js";
import { formatHtmlReport } from "../renderers/format-html-report.js";
import { reportError } from "../report-error.js";
import { checkWritableFile, writeWhole } from "./write-run-files.js";

export const REPORT_HELP = `Usage: stagecraft report REPORT.json --html FILE

Turns a report saved by \`stagecraft build --report run.json\` (a CI artefact, say) into one
self-contained HTML page: a timeline of every target and stage, the critical path marked, what ran,
was shared or came from the cache, failures with their log tails, the stage graph and sizes. The
page loads nothing from the network.

Options:
      --html FILE   write the HTML page to FILE
  -h, --help        show this help

Exit codes: 0 the page was written, 2 usage error or a file that is not a stagecraft report.
`;

const REPORT_OPTIONS: OptionTable = {
  html: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** `stagecraft report`: renders a saved JSON report as HTML. */
export function reportCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  try {
    const { values, positionals } = parseCommandLine("report", argv, REPORT_OPTIONS);
    if (values.help === true) {
      io.stdout.write(REPORT_HELP);
      return Promise.resolve(0);
    }
    const html = stringOption(values, "html");
    if (positionals.length !== 1 || html === undefined) {
      throw new UsageError("report takes one saved report and --html FILE", {
        hint: "Run: stagecraft report run.json --html run.html",
      });
    }
    const input = resolve(io.cwd, positionals[0] ?? "");
    const output = resolve(io.cwd, html);
    checkWritableFile("--html", output);
    writeWhole(output, formatHtmlReport(readReport(input)));
    io.stdout.write(`wrote ${output}\n`);
    return Promise.resolve(0);
  } catch (error) {
    return Promise.resolve(reportError(io, error));
  }
}

function readReport(path: string): BuildReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the report ${path}: ${(error as Error).message}`, {
      hint: "Give the JSON file `stagecraft build --report FILE.json` wrote.",
    });
  }
  const version = (parsed as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== BUILD_REPORT_SCHEMA_VERSION) {
    throw new UsageError(
      `${path} is not a stagecraft report of schema version ${BUILD_REPORT_SCHEMA_VERSION} (schemaVersion: ${JSON.stringify(version ?? null)})`,
      { hint: "Give the JSON file `stagecraft build --report FILE.json` wrote." },
    );
  }
  return parsed as BuildReport;
}

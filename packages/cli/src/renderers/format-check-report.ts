import {
  CHECK_RULES,
  type CheckFinding,
  type CheckReport,
  type CheckSeverity,
} from "@stagecraft/core/checks";
import { workflowCommand } from "./github-renderer.js";

/** How a severity is written in text output: `note` for info, as compilers do. */
const SEVERITY_WORD: Readonly<Record<CheckSeverity, string>> = {
  error: "error",
  warning: "warning",
  info: "note",
};

/** The counts of findings by severity. */
export function countFindings(report: CheckReport): Record<CheckSeverity, number> {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const finding of report.findings) counts[finding.severity]++;
  return counts;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** One finding as a compiler prints it: `Dockerfile:12:1: warning Rule: message (fix: …)`. */
export function formatFindingLine(file: string, finding: CheckFinding): string {
  const { line, column } = finding.location;
  return `${file}:${line}:${column}: ${SEVERITY_WORD[finding.severity]} ${finding.rule}: ${finding.message} (fix: ${finding.fix})`;
}

/** The summary line after the findings. */
export function formatCheckSummary(file: string, report: CheckReport): string {
  const counts = countFindings(report);
  const total = report.findings.length;
  const found =
    total === 0
      ? "no findings"
      : [
          plural(counts.error, "error"),
          plural(counts.warning, "warning"),
          plural(counts.info, "note"),
        ].join(", ");
  const directive = report.config.errorOnWarning
    ? " (# check=error=true: warnings are errors)"
    : "";
  return `${file}: ${found}${directive}; ships ${report.shippedStages.join(", ")}, builds ${report.plannedStages.join(", ")}`;
}

/** The report as text: one line per finding, then the summary. */
export function formatCheckText(file: string, report: CheckReport): string {
  const lines = report.findings.map((finding) => formatFindingLine(file, finding));
  lines.push(formatCheckSummary(file, report));
  return `${lines.join("\n")}\n`;
}

/** GitHub Actions annotations (`::warning file=…,line=…::…`), one per finding, then the summary line. */
export function formatCheckAnnotations(file: string, report: CheckReport): string {
  const commands = { error: "error", warning: "warning", info: "notice" } as const;
  const lines = report.findings.map((finding) =>
    workflowCommand(
      commands[finding.severity],
      {
        file,
        line: finding.location.line,
        col: finding.location.column,
        endLine: finding.location.endLine,
        title: finding.rule,
      },
      `${finding.message} (fix: ${finding.fix})`,
    ),
  );
  lines.push(formatCheckSummary(file, report));
  return `${lines.join("\n")}\n`;
}

/** The JSON form (`--format json`): the findings with their file, the stages, the directive, the notes. */
export function checkReportToJson(file: string, report: CheckReport): Record<string, unknown> {
  return {
    file,
    shippedStages: report.shippedStages,
    plannedStages: report.plannedStages,
    checkDirective: report.config,
    summary: countFindings(report),
    findings: report.findings.map((finding) => ({
      rule: finding.rule,
      origin: CHECK_RULES[finding.rule].origin,
      severity: finding.severity,
      message: finding.message,
      fix: finding.fix,
      file,
      line: finding.location.line,
      column: finding.location.column,
      endLine: finding.location.endLine,
      stage: finding.stage ?? null,
      url: CHECK_RULES[finding.rule].url ?? null,
    })),
    notes: report.notes,
    unknownEnvStages: report.unknownEnvStages,
  };
}

const SARIF_LEVEL: Readonly<Record<CheckSeverity, "error" | "warning" | "note">> = {
  error: "error",
  warning: "warning",
  info: "note",
};

/**
 * The report as SARIF 2.1.0 for GitHub code scanning: every rule with its description and help (the
 * fix), and each finding as a result located in the Dockerfile. `file` should be relative to the
 * repository root, as code scanning resolves it there.
 */
export function checkReportToSarif(
  file: string,
  report: CheckReport,
  version: string,
): Record<string, unknown> {
  const rules = Object.values(CHECK_RULES);
  const ruleIndex = new Map(rules.map((rule, index) => [rule.name, index]));
  const uri = file.startsWith("/")
    ? `file://${encodeURI(file)}`
    : encodeURI(file.replaceAll("\\", "/"));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "stagecraft",
            version,
            rules: rules.map((rule) => ({
              id: rule.name,
              name: rule.name,
              shortDescription: { text: rule.description },
              fullDescription: { text: rule.description },
              help: {
                text: rule.fix,
                markdown: `${rule.description}\n\n**Fix:** ${rule.fix}${rule.url === undefined ? "" : `\n\n[BuildKit's documentation](${rule.url})`}`,
              },
              ...(rule.url === undefined ? {} : { helpUri: rule.url }),
              defaultConfiguration: {
                level: SARIF_LEVEL[rule.severity],
                enabled: !rule.experimental,
              },
              properties: {
                tags: [rule.origin === "buildkit" ? "buildkit" : "stagecraft", "dockerfile"],
              },
            })),
          },
        },
        results: report.findings.map((finding) => ({
          ruleId: finding.rule,
          ruleIndex: ruleIndex.get(finding.rule),
          level: SARIF_LEVEL[finding.severity],
          message: { text: `${finding.message}. Fix: ${finding.fix}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri },
                region: {
                  startLine: finding.location.line,
                  startColumn: finding.location.column,
                  endLine: finding.location.endLine,
                },
              },
            },
          ],
          ...(finding.stage === undefined ? {} : { properties: { stage: finding.stage } }),
        })),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: report.notes.map((note) => ({
              level: "note",
              message: { text: note },
            })),
          },
        ],
      },
    ],
  };
}

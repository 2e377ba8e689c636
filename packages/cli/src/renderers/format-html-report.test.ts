import { describe, expect, it } from "vitest";
import { escapeHtml, formatHtmlReport } from "./format-html-report.js";
import { failingRun, successfulRun } from "./run-fixtures.test-support.js";
import { sharedStages } from "./shared-stages.test-support.js";

describe("formatHtmlReport", () => {
  it("shows one row per target and the stages each needs, the critical path marked", () => {
    const { report } = successfulRun();
    const html = formatHtmlReport(report);
    const targets = [...html.matchAll(/class="row target" data-target="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(targets).toEqual(report.targets.map((target) => target.target));
    const critical = report.criticalPath?.stages.map((link) => link.stage) ?? [];
    expect(critical.length).toBeGreaterThan(0);
    for (const stage of critical) {
      expect(html).toContain(`data-stage="${stage}" data-critical="true"`);
    }
    // The stage graph: one node per stage of the run, drawn by dagre into the SVG.
    const nodes = [...html.matchAll(/<g class="node" data-stage="([^"]+)"/g)].map((m) => m[1]);
    expect(nodes.sort()).toEqual(report.stages.map((stage) => stage.stage).sort());
  });

  it("starts a late target's bar where its build started; an older report's at the run's start", () => {
    const { report } = successfulRun();
    const start = report.startedAt ?? 0;
    const late = report.targets.map((target, index) =>
      index === 1 ? { ...target, startedAt: start + report.wallMs / 2 } : target,
    );
    const barLeft = (html: string, target: string): string | undefined =>
      new RegExp(
        `data-target="${target}"[^]*?class="bar target[^"]*" style="left:([0-9.]+)px`,
      ).exec(html)?.[1];
    const html = formatHtmlReport({ ...report, targets: late });
    const name = late[1]!.target;
    // 800 px for the wall time: half of it in is 400 px.
    expect(barLeft(html, name)).toBe("400.0");
    const older = late.map(({ startedAt: _, ...target }) => target) as typeof late;
    expect(barLeft(formatHtmlReport({ ...report, targets: older }), name)).toBe("0.0");
  });

  it("tells ran, shared and cached apart", () => {
    const html = formatHtmlReport(successfulRun().report);
    expect(html).toMatch(/class="step ran"/);
    expect(html).toMatch(/class="step shared"/);
    expect(html).toMatch(/class="step cached/);
    // Three colours, not one.
    const colour = (kind: string): string | undefined =>
      new RegExp(`\\.step\\.${kind}[^{]*\\{ background: (#[0-9a-f]{6})`).exec(html)?.[1];
    const colours = ["ran", "shared", "cached"].map(colour);
    expect(colours.every((value) => value !== undefined)).toBe(true);
    expect(new Set(colours).size).toBe(3);
  });

  it("shows each target's size and what it was built from", () => {
    const { report } = successfulRun();
    const html = formatHtmlReport(report);
    const table = /<table class="targets">[^]*?<\/table>/.exec(html)?.[0] ?? "";
    const app = report.targets.find((target) => target.target === "app");
    expect(app?.sizeComparison).not.toBeNull();
    expect(table).toMatch(
      /<td>app<\/td>.*<td class="num">48\.2 MB<\/td><td>build 1\.1 GB &#8594; 48\.2 MB \(-?−?\d+(\.\d+)?%\)<\/td>/,
    );
  });

  it("puts a failure with its log tail under its target, every string escaped", () => {
    const { report } = failingRun();
    const evil = `</pre><script>alert("x")</script><img src=x onerror=alert(1)>`;
    const failure = report.failures[0];
    expect(failure).toBeDefined();
    const tampered = {
      ...report,
      targets: report.targets.map((target, index) =>
        index === 0 ? { ...target, tags: [`a"b<c>`] } : target,
      ),
      failures: report.failures.map((entry) => ({
        ...entry,
        logTail: [...entry.logTail, evil],
        message: `${entry.message} ${evil}`,
      })),
    };
    const html = formatHtmlReport(tampered);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain("a&quot;b&lt;c&gt;");
    expect(html).toContain(escapeHtml(failure!.logTail.at(-1)!));
  });

  it("fetches nothing: no URL but the SVG namespace", () => {
    const html = formatHtmlReport(successfulRun().report);
    const urls = [...html.matchAll(/(?:https?:)?\/\/[\w.-]+/g)].map((m) => m[0]);
    expect([...new Set(urls)]).toEqual(["http://www.w3.org"]);
  });

  it("lists a pool run's shared stages: its push and each engine's pull, as the pool's lines do", () => {
    const html = formatHtmlReport(successfulRun().report, { shared: sharedStages() });
    const section = html.slice(html.indexOf("<h2>Shared stages</h2>"));
    expect(section).toContain(
      '<tr data-shared="deps"><td>deps</td><td>one</td><td class="num">4.2 s</td>' +
        "<td>4.0 MB in 0.8 s as <code>127.0.0.1:5000/ci/deps@sha256:00</code></td>",
    );
    const readers = [
      ...section.matchAll(
        /<li data-reader="([^"]+)"(?: data-pull-ms="(\d+)" data-bytes="(\d+)")?>([^<]*)<\/li>/g,
      ),
    ].map((m) => [m[1], m[2], m[3], m[4]]);
    expect(readers).toEqual([
      ["two", "350", "4100000", "two (pulled 4.1 MB in 0.3 s)"],
      ["three", undefined, undefined, "three"],
      ["four", "240", "0", "four (had its layers, 0.2 s)"],
    ]);
    // What the run reported is escaped.
    expect(section).toContain("not shared (push refused: &lt;denied&gt;), built where needed");
    expect(section).toContain(
      '<p class="moves">moving shared stages: pushed 4.0 MB in 0.8 s, pulled 4.1 MB in 0.6 s (2 pulls)</p>',
    );
  });

  it("has no shared stages section for a one-engine run", () => {
    const { report } = successfulRun();
    expect(formatHtmlReport(report)).not.toContain("Shared stages");
    expect(formatHtmlReport(report, { shared: [] })).toBe(formatHtmlReport(report));
  });
});

// Statistics over samples and the Markdown summary of every scenario's results.

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** `{ median, min, max }` of a list of numbers, rounded to whole units. */
export function describe(values) {
  if (values.length === 0) return undefined;
  return {
    median: Math.round(median(values)),
    min: Math.round(Math.min(...values)),
    max: Math.round(Math.max(...values)),
  };
}

const number = (value) => value.toLocaleString("en-US");
const ms = (value) => `${number(value)} ms`;
const spread = (stats) =>
  stats ? `${number(stats.median)} ms (${number(stats.min)}–${number(stats.max)})` : "failed";

/** The Markdown tables for the given scenario results (one section per scenario). */
export function formatSummary(results) {
  const out = ["# Benchmark results", ""];
  for (const result of results) {
    out.push(`## ${result.scenario}`, "");
    out.push(
      `${result.date}, stagecraft ${result.environment.stagecraft ?? "?"}, ` +
        `${result.environment.engine}, ` +
        `${result.environment.cpus} CPUs, Node ${result.environment.node}; ${result.note}`,
      "",
    );
    if (result.scenario === "limits") {
      out.push("| limit | what | goal | median (min–max) | met | was asserted in |");
      out.push("| --- | --- | ---: | ---: | --- | --- |");
      for (const limit of result.limits) {
        const unit = ` ${limit.unit}`;
        const measured = limit.stats
          ? `${number(limit.stats.median)}${unit} (${number(limit.stats.min)}–${number(limit.stats.max)})`
          : "failed";
        out.push(
          `| ${limit.name} | ${limit.what} | < ${number(limit.goal)}${unit} | ${measured} | ` +
            `${limit.met ? "yes" : "**no**"} | ${limit.was} |`,
        );
      }
      out.push("");
      continue;
    }
    if (result.scenario === "frontend") {
      for (const script of result.scripts) {
        out.push(`### ${script.script}`, "", script.output.trim(), "");
      }
      continue;
    }
    out.push("| case | stagecraft | peer | peer time | ratio | stagecraft peak RSS |");
    out.push("| --- | ---: | --- | ---: | ---: | ---: |");
    for (const entry of result.cases) {
      const ours = entry.tools.stagecraft;
      if (Object.keys(entry.tools).length === 1) {
        // A case measured on stagecraft alone (chatty): its time and memory, no peer.
        const runs = (ours.samples ?? []).map((sample) =>
          Math.round(sample.peakRssBytes / 2 ** 20),
        );
        const rss =
          ours.peakRssMB === undefined ? "–" : `${ours.peakRssMB} MB (runs: ${runs.join(", ")})`;
        out.push(`| ${entry.name} | ${spread(ours.stats)} | – | – | – | ${rss} |`);
      }
      for (const [peer, theirs] of Object.entries(entry.tools)) {
        if (peer === "stagecraft") continue;
        const ratio =
          ours.stats && theirs.stats ? (ours.stats.median / theirs.stats.median).toFixed(2) : "–";
        const rss = ours.peakRssMB === undefined ? "–" : `${ours.peakRssMB} MB`;
        out.push(
          `| ${entry.name} | ${spread(ours.stats)} | ${theirs.label} | ${spread(theirs.stats)} | ` +
            `${ratio}× | ${rss} |`,
        );
      }
      if (entry.lowerBound) {
        const { criticalPath, gap, innerWall } = entry.lowerBound;
        out.push(
          `| ${entry.name} | ${spread(ours.stats)} | critical path (BuildKit timestamps) | ` +
            `${spread(criticalPath)} | +${ms(gap.median)} (${number(gap.min)}–${number(gap.max)}); ` +
            `stagecraft's own wallMs ${ms(innerWall.median)} | |`,
        );
      }
    }
    out.push("");
  }
  return out.join("\n");
}

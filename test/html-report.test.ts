// The HTML report in a real browser (Debian's chromium, driven by playwright-core), offline: it
// loads without a console error, has one row per target, bars as long as the durations they show,
// and the critical path marked. CI keeps the screenshot (test-results/html-report.png).
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "@stagecraft/core";
import { runStagecraft } from "./support/cli.js";
import { BUSYBOX, TEST_LABEL, makeProject, removeImages } from "./support/engine.js";

const CHROMIUM = "/usr/bin/chromium";

/** The part of a DOM element the page functions use (the tests compile without the DOM's types). */
interface PageElement {
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number };
}
const ARTEFACTS = fileURLToPath(new URL("../test-results/", import.meta.url));
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

describe("the HTML report", () => {
  it("shows every target, bars proportional to durations and the critical path, offline", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce && sleep 1`,
        `FROM base AS test`,
        `RUN sleep 2 && echo tested`,
        `FROM base AS lint`,
        `RUN echo '<script>alert(1)</script>' && exit 3`,
        `FROM base AS app`,
        `RUN echo app > /app`,
      ].join("\n"),
    });
    const targets = ["test", "lint", "app"];
    const tags = targets.map((target) => `stagecraft-test/html-${target}:${nonce.slice(0, 8)}`);
    made.push(...tags);
    const dir = join(tmpdir(), `stagecraft-html-${nonce}`);
    mkdirSync(dir);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const run = await runStagecraft(
        [
          "build",
          ".",
          "--target",
          targets.join(","),
          ...targets.flatMap((target, index) => ["-t", `${target}=${tags[index]}`]),
          "--label",
          TEST_LABEL,
          "--keep-going",
          "--progress",
          "quiet",
          "--report",
          join(dir, "run.json"),
        ],
        { cwd: project.dir },
      );
      expect(run.code, run.stderr).toBe(1);
      const converted = await runStagecraft([
        "report",
        join(dir, "run.json"),
        "--html",
        join(dir, "run.html"),
      ]);
      expect(converted.code, converted.stderr).toBe(0);
      const report = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as BuildReport;

      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") {
          problems.push(message.text());
        }
      });
      page.on("pageerror", (error) => problems.push(error.message));
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      const url = pathToFileURL(join(dir, "run.html")).href;
      await page.goto(url);
      await page.waitForLoadState("load");
      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);

      // One row per target, in the requested order.
      const rows = await page.$$eval(".row.target", (elements: PageElement[]) =>
        elements.map((element: PageElement) => element.getAttribute("data-target")),
      );
      expect(rows).toEqual(targets);

      // Every bar's rendered width is its duration at the page's scale (within a pixel).
      const scale = Number(await page.getAttribute(".timeline", "data-px-per-ms"));
      expect(scale).toBeGreaterThan(0);
      const bars = await page.$$eval(
        ".bar[data-duration-ms], .step[data-duration-ms]",
        (elements: PageElement[]) =>
          elements.map((element: PageElement) => ({
            ms: Number(element.getAttribute("data-duration-ms")),
            px: element.getBoundingClientRect().width,
          })),
      );
      expect(bars.length).toBeGreaterThan(targets.length);
      for (const bar of bars) {
        expect(Math.abs(bar.px - Math.max(1, bar.ms * scale))).toBeLessThanOrEqual(1);
      }
      // test's bar is longer than app's: it slept 2 s more.
      const width = (target: string): Promise<number> =>
        page.$eval(
          `.row.target[data-target="${target}"] .bar`,
          (element: PageElement) => element.getBoundingClientRect().width,
        );
      expect(await width("test")).toBeGreaterThan(await width("app"));

      // The critical path, marked in the timeline and in the graph.
      const chain = report.criticalPath?.stages.map((link) => link.stage) ?? [];
      expect(chain).toContain("base");
      const marked = await page.$$eval(".row.stage.critical", (elements: PageElement[]) => [
        ...new Set(elements.map((element: PageElement) => element.getAttribute("data-stage"))),
      ]);
      expect(marked.sort()).toEqual([...chain].sort());
      expect(await page.locator("svg.stage-graph g.node").count()).toBe(report.stages.length);

      // The failure in place, its log line shown as text, not run as a script.
      const failure = await page.textContent(".failure pre");
      expect(failure).toContain("<script>alert(1)</script>");
      expect(await page.locator("script").count()).toBe(0);

      mkdirSync(ARTEFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTEFACTS, "html-report.png"), fullPage: true });
      await context.close();
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
      project.remove();
    }
  });
});

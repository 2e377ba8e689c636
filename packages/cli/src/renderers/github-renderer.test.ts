import { describe, expect, it } from "vitest";
import { createRenderer } from "./create-renderer.js";
import {
  GROUP_BUFFER_LINES,
  escapeData,
  escapeProperty,
  workflowCommand,
} from "./github-renderer.js";
import { createMemoryIo } from "./memory-io.test-support.js";
import {
  failingRun,
  interruptedRun,
  successfulRun,
  type RunFixture,
} from "./run-fixtures.test-support.js";
import { sharedStages } from "./shared-stages.test-support.js";

function render(run: RunFixture, env: Record<string, string> = {}) {
  const io = createMemoryIo({ env: { GITHUB_ACTIONS: "true", ...env } });
  const appended: { path: string; text: string }[] = [];
  const renderer = createRenderer({
    mode: "github",
    io,
    targets: run.targets,
    color: false,
    dockerfile: "docker/Dockerfile",
    appendFile: (path, text) => appended.push({ path, text }),
  });
  for (const event of run.events) renderer.onEvent(event);
  renderer.finish(run.report);
  return { text: io.stdout.text(), stderr: io.stderr.text(), appended };
}

/** The lines of each group, by the target its title names. */
function groups(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let open: string[] | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("::group::")) {
      expect(open).toBeNull();
      open = [];
      found.set(line.slice("::group::".length).split(" ")[0]!, open);
    } else if (line === "::endgroup::") {
      expect(open).not.toBeNull();
      open = null;
    } else {
      open?.push(line);
    }
  }
  expect(open).toBeNull();
  return found;
}

describe("github renderer", () => {
  it("puts each target's lines in one group, written when the target ends", async () => {
    const { text, appended } = render(successfulRun());
    await expect(text).toMatchFileSnapshot("__snapshots__/github-success.txt");
    const byTarget = groups(text);
    expect([...byTarget.keys()]).toEqual(["build", "app", "test"]);
    for (const [target, lines] of byTarget) {
      // No group holds another target's lines: parallel targets do not interleave.
      expect(
        lines.every((line) => new RegExp(`^\\[ *[\\d.]+s\\] ${target}( ›|  )`).test(line)),
      ).toBe(true);
    }
    expect(text.match(/^::group::/gm)).toHaveLength(3);
    expect(text.match(/^::endgroup::$/gm)).toHaveLength(3);
    expect(text).toContain(
      "::warning file=docker/Dockerfile,line=5,title=build%3A Dockerfile warning::FromAsCasing: 'as' and 'FROM' keywords' casing do not match",
    );
    expect(appended).toEqual([]);
  });

  it("annotates the failing Dockerfile line and appends a job summary", async () => {
    const { text, appended } = render(failingRun(), { GITHUB_STEP_SUMMARY: "/tmp/summary.md" });
    await expect(text).toMatchFileSnapshot("__snapshots__/github-failure.txt");
    const error = text.split("\n").find((line) => line.startsWith("::error "));
    expect(error).toMatch(
      /^::error file=docker\/Dockerfile,line=12,title=app failed::process "\/bin\/sh -c make" did not complete successfully: exit code: 2%0A%0A/,
    );
    expect(error).toContain("make: *** [Makefile:7: build/main.o] Error 1");
    expect(error).not.toContain("\r");
    expect([...groups(text).keys()]).toEqual(["app", "test"]);

    expect(appended).toHaveLength(1);
    expect(appended[0]?.path).toBe("/tmp/summary.md");
    const summary = appended[0]?.text ?? "";
    await expect(summary).toMatchFileSnapshot("__snapshots__/github-failure-summary.md");
    expect(summary).toContain("| ❌ | app |");
    expect(summary).toContain("#### ❌ app › build › docker/Dockerfile:12");
    expect(summary).toContain("src/main.c:10:5: error: use of undeclared identifier");
  });

  it("puts a pool run's shared stages and their readers' pulls in the job summary", () => {
    const io = createMemoryIo({
      env: { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: "/tmp/summary.md" },
    });
    const appended: string[] = [];
    const run = successfulRun();
    const renderer = createRenderer({
      mode: "github",
      io,
      targets: run.targets,
      color: false,
      appendFile: (_path, text) => appended.push(text),
    });
    for (const event of run.events) renderer.onEvent(event);
    renderer.finish(run.report, { shared: sharedStages() });
    expect(appended).toHaveLength(1);
    expect(appended[0]).toContain(
      "two (pulled 4.1 MB in 0.3 s), three, four (had its layers, 0.2 s) |",
    );
    expect(appended[0]).toContain("**Moving shared stages:** pushed 4.0 MB in 0.8 s");
  });

  it("bounds the annotation and the summary of a failure whose line and message are 5 MB", () => {
    const { text, appended } = render(failingRun(5_000_000), {
      GITHUB_STEP_SUMMARY: "/tmp/summary.md",
    });
    const error = text.split("\n").find((line) => line.startsWith("::error ")) ?? "";
    const summary = appended[0]?.text ?? "";
    // Before the caps: a 467 KB ::error line and a 468 KB summary for one such line; the events
    // come from runBuild, which bounds a failure as the report does.
    expect(error.length).toBeLessThan(16_000);
    expect(summary.length).toBeLessThan(16_000);
    for (const shown of [error, summary]) {
      expect(shown).toContain("more characters)");
      expect(shown).not.toContain("x".repeat(501));
      expect(shown).not.toContain("m".repeat(2001));
    }
  });

  it("holds a bounded number of a chatty target's lines: full buffers go out as groups of their own", () => {
    const run = successfulRun();
    const index = run.events.findIndex((event) => event.type === "log");
    const sample = run.events[index];
    if (sample?.type !== "log") throw new Error("the fixture has a log line");
    const target = sample.target;
    const chatty = Array.from({ length: GROUP_BUFFER_LINES * 2 + 5 }, (_, i) => ({
      ...sample,
      line: `chatty line ${i + 1}`,
    }));
    run.events.splice(index, 0, ...chatty);
    const { text } = render({ ...run, events: run.events });
    const titles = text.split("\n").filter((line) => line.startsWith(`::group::${target} `));
    expect(titles.slice(0, 2)).toEqual([
      `::group::${target} · lines 1-${GROUP_BUFFER_LINES}, still running`,
      `::group::${target} · lines 2001-4000, still running`,
    ]);
    expect(titles[2]).toMatch(/ · built in .* \(from line 4001\)$/);
    expect(titles).toHaveLength(3);
    // Every line is written once, in order.
    for (const n of [1, GROUP_BUFFER_LINES, GROUP_BUFFER_LINES * 2 + 5]) {
      expect(text.split(`chatty line ${n}\n`)).toHaveLength(2);
    }
    expect(text.indexOf("chatty line 1\n")).toBeLessThan(text.indexOf("chatty line 4005\n"));
  });

  it("gives an unfinished target its group at the end", () => {
    const { text } = render(interruptedRun());
    expect(groups(text).get("app")).toContain("[  2.3s] app  cancelled");
    expect(text).toContain("::group::app · cancelled\n");
  });

  it("annotates a target cancelled by --timeout, not one cancelled by an interrupt", () => {
    const interrupted = interruptedRun();
    expect(render(interrupted).text).not.toContain("::error");
    const reason = { kind: "timeout", afterMs: 2000 } as const;
    const events = interrupted.events.map((event) =>
      event.type === "target-cancelled"
        ? { ...event, reason, message: "the run reached --timeout (2 s)" }
        : event,
    );
    const { text } = render({ ...interrupted, events });
    const errors = text.split("\n").filter((line) => line.startsWith("::error"));
    expect(errors).toEqual(["::error title=app cancelled::the run reached --timeout (2 s)"]);
  });

  it("annotates an image over its size budget, which fails the run", () => {
    const run = successfulRun();
    const app = run.report.targets.find((target) => target.target === "app");
    const sizeBytes = app?.sizeBytes ?? 0;
    expect(sizeBytes).toBeGreaterThan(1_000_000);
    const report = {
      ...run.report,
      sizeBudgets: [
        {
          target: "app",
          budgetBytes: 1_000_000,
          sizeBytes,
          overBytes: sizeBytes - 1_000_000,
          exceeded: true,
        },
        { target: "test", budgetBytes: 1e12, sizeBytes: 1, overBytes: 0, exceeded: false },
      ],
    };
    const { text } = render({ ...run, report });
    const errors = text.split("\n").filter((line) => line.startsWith("::error"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^::error title=app is over its size budget::app is [\d.]+ MB, [\d.]+ MB over its size budget of 1\.0 MB/,
    );
  });

  it("says on stderr, and carries on, when the summary cannot be written", () => {
    const io = createMemoryIo({ env: { GITHUB_STEP_SUMMARY: "/read-only/summary.md" } });
    const run = successfulRun();
    const renderer = createRenderer({
      mode: "github",
      io,
      targets: run.targets,
      color: false,
      appendFile: () => {
        throw new Error("EROFS: read-only file system");
      },
    });
    renderer.finish(run.report);
    expect(io.stderr.text()).toBe(
      "stagecraft: could not write the job summary to /read-only/summary.md: EROFS: read-only file system\n",
    );
    expect(io.stdout.text()).toContain("3 targets in 7.7 s");
  });
});

describe("workflow command escaping", () => {
  it("escapes data and properties as the runner expects", () => {
    expect(escapeData("100% done\r\nnext")).toBe("100%25 done%0D%0Anext");
    expect(escapeProperty("a:b,c%\n")).toBe("a%3Ab%2Cc%25%0A");
    expect(workflowCommand("error", { file: "x,y:z", line: 3, col: null }, "a\nb")).toBe(
      "::error file=x%2Cy%3Az,line=3::a%0Ab",
    );
    expect(workflowCommand("notice", {}, "hi")).toBe("::notice::hi");
  });
});

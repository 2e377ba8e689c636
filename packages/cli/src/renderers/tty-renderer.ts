import type { BuildEvent, BuildReport } from "@stagecraft/core";
import { describeCancel, describeQuiet } from "./describe-cancel.js";
import type { StepInfo } from "@stagecraft/core/progress";
import { formatBytes } from "./format-bytes.js";
import { formatDuration } from "./format-duration.js";
import { createColors, type Colors } from "./colors.js";
import type { Renderer, RendererContext } from "./create-renderer.js";
import { fitToWidth } from "./fit-to-width.js";
import { formatReport, shortImageId } from "./format-report.js";
import { sanitizeLine } from "./sanitize-line.js";

/** At most 10 redraws a second: fast enough to feel live, slow enough not to flood a remote terminal. */
const FRAME_INTERVAL_MS = 100;
/** How many of a running step's last log lines the live view shows. */
const LOG_LINES_PER_STEP = 3;
/**
 * The live block's height limit. The cursor cannot move above the top of the screen, so a taller
 * block would leave stale copies behind; `Output` does not know the terminal's rows, so this is a guess
 * that fits most windows.
 */
const MAX_FRAME_LINES = 40;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

interface LiveStep {
  info: StepInfo;
  startedAt: number;
  logs: string[];
  /** Byte or phase progress of the step, e.g. `transferring context: 12.3 MB`. */
  progress: string | null;
}

interface LiveStage {
  id: string;
  status: "running" | "cached" | "done" | "failed";
  durationMs: number | null;
  run: number;
  cached: number;
  total: number | null;
}

interface LiveTarget {
  name: string;
  status: "waiting" | "queued" | "running" | "succeeded" | "failed" | "cancelled";
  startedAt: number | null;
  durationMs: number | null;
  imageId: string | null;
  message: string | null;
  run: number;
  cached: number;
  stages: Map<string, LiveStage>;
  /** The steps running now, by digest, in the order they started. */
  steps: Map<string, LiveStep>;
}

/**
 * The live terminal view: a block per target with its stages, the running steps with their elapsed
 * time and last log lines, and a totals line, redrawn in place at most 10 times a second; then the
 * report. Only ever chosen when stdout is a terminal.
 */
export function createTtyRenderer(context: RendererContext): Renderer {
  const { io } = context;
  const c = createColors(context.color);
  const targets = new Map<string, LiveTarget>();
  const stepTargets = new Map<string, LiveTarget>();
  const persisted: string[] = [];
  let runStartedAt: number | null = null;
  let drawnLines = 0;
  let lastFrame = "";
  let dirty = false;
  let finished = false;
  /** What an `engine-quiet` event said, until anything else arrives. */
  let quiet: string | null = null;

  const target = (name: string): LiveTarget => {
    let live = targets.get(name);
    if (live === undefined) {
      live = {
        name,
        status: "waiting",
        startedAt: null,
        durationMs: null,
        imageId: null,
        message: null,
        run: 0,
        cached: 0,
        stages: new Map(),
        steps: new Map(),
      };
      targets.set(name, live);
    }
    return live;
  };
  for (const name of context.targets) target(name);

  const stage = (live: LiveTarget, id: string): LiveStage => {
    let known = live.stages.get(id);
    if (known === undefined) {
      known = { id, status: "running", durationMs: null, run: 0, cached: 0, total: null };
      live.stages.set(id, known);
    }
    return known;
  };

  const apply = (event: BuildEvent): void => {
    if (event.type !== "engine-quiet" && event.type !== "daemon-status") quiet = null;
    switch (event.type) {
      case "run-started":
        runStartedAt = event.time;
        for (const name of event.targets) target(name);
        return;
      case "run-finished":
        return;
      case "target-queued": {
        const live = target(event.target);
        live.status = "queued";
        return;
      }
      case "target-started": {
        const live = target(event.target);
        live.status = "running";
        live.startedAt = event.time;
        return;
      }
      case "target-finished": {
        const live = target(event.target);
        live.status = "succeeded";
        live.durationMs = event.durationMs;
        live.imageId = event.imageId;
        live.steps.clear();
        return;
      }
      case "target-failed": {
        const live = target(event.target);
        live.status = "failed";
        live.durationMs = event.durationMs;
        live.message = event.error.message;
        live.steps.clear();
        return;
      }
      case "target-cancelled": {
        const live = target(event.target);
        live.status = "cancelled";
        live.message =
          event.reason.kind === "interrupted"
            ? null
            : describeCancel(event.reason).replace(/^cancelled: /, "");
        if (live.startedAt !== null) live.durationMs = event.time - live.startedAt;
        live.steps.clear();
        return;
      }
      case "stage-started":
        stage(target(event.target), event.stage);
        return;
      case "stage-cached": {
        const known = stage(target(event.target), event.stage);
        known.status = "cached";
        known.cached = event.steps;
        return;
      }
      case "stage-finished": {
        const known = stage(target(event.target), event.stage);
        known.status = "done";
        known.durationMs = event.durationMs;
        known.run = event.stepsRun;
        known.cached = event.stepsCached;
        return;
      }
      case "stage-failed":
        stage(target(event.target), event.stage).status = "failed";
        return;
      case "step-started": {
        const live = target(event.target);
        if (event.step.stage !== null) stage(live, event.step.stage).total = event.step.total;
        live.steps.set(event.step.digest, {
          info: event.step,
          startedAt: event.time,
          logs: [],
          progress: null,
        });
        stepTargets.set(event.step.digest, live);
        return;
      }
      case "step-cached": {
        const live = target(event.target);
        if (event.step.kind === "internal" || event.step.stage === null) return;
        live.cached += 1;
        const known = stage(live, event.step.stage);
        known.cached += 1;
        known.total = event.step.total;
        return;
      }
      case "step-finished":
      case "step-failed": {
        const live = target(event.target);
        live.steps.delete(event.step.digest);
        const counts = event.type === "step-finished" || !event.cancelled;
        if (!counts || event.step.stage === null) return;
        live.run += 1;
        stage(live, event.step.stage).run += 1;
        return;
      }
      case "log": {
        const step = stepTargets.get(event.step)?.steps.get(event.step);
        if (step === undefined) return;
        step.logs.push(sanitizeLine(event.line));
        if (step.logs.length > LOG_LINES_PER_STEP) step.logs.shift();
        return;
      }
      case "transfer": {
        const step = stepTargets.get(event.step)?.steps.get(event.step);
        if (step === undefined) return;
        const amount =
          event.total > 0
            ? `${formatBytes(event.current)} / ${formatBytes(event.total)}`
            : event.current > 0
              ? formatBytes(event.current)
              : "";
        step.progress = event.completed ? null : `${sanitizeLine(event.name)} ${amount}`.trim();
        return;
      }
      case "warning": {
        const where = event.line === null ? "" : `${context.dockerfile}:${event.line}  `;
        const prefix = event.stage === null ? event.target : `${event.target} › ${event.stage}`;
        persisted.push(
          `${c.yellow("⚠")} ${c.cyan(prefix)}  ${where}${sanitizeLine(event.message)}`,
        );
        return;
      }
      case "engine-quiet":
        quiet = describeQuiet(event.quietMs, event.running);
        return;
      case "context-sent":
      case "daemon-status":
        return;
      default:
        return event satisfies never;
    }
  };

  const frame = (now: number): string[] => {
    const spinner = c.cyan(SPINNER[Math.floor(now / FRAME_INTERVAL_MS) % SPINNER.length] ?? "");
    const lines: string[] = [];
    for (const live of targets.values()) lines.push(...describeTarget(live, now, spinner, c));
    const all = [...targets.values()];
    const ended = all.filter((live) => ["succeeded", "failed", "cancelled"].includes(live.status));
    const failed = all.filter((live) => live.status === "failed").length;
    const running = all.filter((live) => live.status === "running").length;
    const elapsed = runStartedAt === null ? 0 : now - runStartedAt;
    const totals = [
      `${ended.length}/${all.length} targets done`,
      ...(running > 0 ? [`${running} running`] : []),
      ...(failed > 0 ? [c.red(`${failed} failed`)] : []),
      `${sum(all, (live) => live.run)} steps run`,
      `${sum(all, (live) => live.cached)} cached`,
      formatDuration(elapsed),
    ];
    if (lines.length > MAX_FRAME_LINES - 1) {
      const hidden = lines.length - (MAX_FRAME_LINES - 2);
      lines.length = MAX_FRAME_LINES - 2;
      lines.push(c.dim(`  … ${hidden} more lines`));
    }
    lines.push(c.dim(totals.join(" · ")));
    if (quiet !== null) lines.push(c.yellow(quiet));
    return lines;
  };

  const erase = (): string => (drawnLines === 0 ? "" : `\r\x1b[${drawnLines}A\x1b[J`);

  const draw = (): void => {
    const width = Math.max(20, (io.stdout.columns ?? 80) - 1);
    const lines = frame(Date.now()).map((line) => fitToWidth(line, width));
    const text = `${lines.join("\n")}\n`;
    dirty = false;
    if (persisted.length === 0 && text === lastFrame) return;
    const above = persisted.map((line) => `${fitToWidth(line, width)}\n`).join("");
    persisted.length = 0;
    io.stdout.write(`${erase()}${above}${text}`);
    drawnLines = lines.length;
    lastFrame = text;
  };

  const timer = setInterval(() => {
    if (finished) return;
    const anyRunning = [...targets.values()].some((live) => live.status === "running");
    if (dirty || anyRunning) draw();
  }, FRAME_INTERVAL_MS);
  // The view must never keep the process alive on its own.
  timer.unref();

  return {
    onEvent(event) {
      if (finished) return;
      apply(event);
      dirty = true;
    },
    finish(report: BuildReport) {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      const above = persisted.map((line) => `${line}\n`).join("");
      persisted.length = 0;
      const summary = formatReport(report, {
        color: context.color,
        dockerfile: context.dockerfile,
        width: io.stdout.columns === undefined ? undefined : Math.max(20, io.stdout.columns - 1),
      });
      io.stdout.write(`${erase()}${above}${summary}`);
      drawnLines = 0;
    },
  };
}

function describeTarget(live: LiveTarget, now: number, spinner: string, c: Colors): string[] {
  const name = c.bold(live.name);
  const steps = live.run + live.cached === 0 ? "" : `  ${live.run} run · ${live.cached} cached`;
  switch (live.status) {
    case "waiting":
      return [`${c.dim("·")} ${name}  ${c.dim("waiting")}`];
    case "queued":
      return [`${c.dim("·")} ${name}  ${c.dim("queued")}`];
    case "succeeded":
      return [
        `${c.green("✓")} ${name}  ${formatDuration(live.durationMs ?? 0)}${c.dim(steps)}` +
          (live.imageId === null ? "" : c.dim(`  ${shortImageId(live.imageId)}`)),
      ];
    case "failed":
      return [
        `${c.red("✗")} ${name}  ${c.red(`failed after ${formatDuration(live.durationMs ?? 0)}`)}` +
          (live.message === null ? "" : `  ${sanitizeLine(live.message)}`),
      ];
    case "cancelled":
      return [
        `${c.yellow("⊘")} ${name}  ${c.yellow("cancelled")}` +
          (live.message === null ? "" : c.dim(`: ${live.message}`)),
      ];
    case "running":
      break;
    default:
      return live.status satisfies never;
  }

  const elapsed = live.startedAt === null ? 0 : now - live.startedAt;
  const lines = [`${spinner} ${name}  ${formatDuration(elapsed)}${c.dim(steps)}`];
  const running = [...live.steps.values()];
  for (const known of live.stages.values()) {
    lines.push(`  ${describeStage(known, spinner, c)}`);
    for (const step of running) {
      if (step.info.stage === known.id) lines.push(...describeStep(step, now, "    ", c));
    }
  }
  // Steps outside any stage: loading the context, exporting the image.
  for (const step of running) {
    if (step.info.stage === null || !live.stages.has(step.info.stage)) {
      lines.push(...describeStep(step, now, "  ", c));
    }
  }
  return lines;
}

function describeStage(known: LiveStage, spinner: string, c: Colors): string {
  switch (known.status) {
    case "cached":
      return `${c.green("✓")} ${known.id}  ${c.dim(`cached (${known.cached} ${known.cached === 1 ? "step" : "steps"})`)}`;
    case "done":
      return (
        `${c.green("✓")} ${known.id}  ${formatDuration(known.durationMs ?? 0)}` +
        c.dim(`  ${known.run} run · ${known.cached} cached`)
      );
    case "failed":
      return `${c.red("✗")} ${known.id}  ${c.red("failed")}`;
    case "running": {
      const done = known.run + known.cached;
      const progress = known.total === null ? `${done} done` : `${done}/${known.total}`;
      const cached = known.cached === 0 ? "" : ` · ${known.cached} cached`;
      return `${spinner} ${known.id}  ${c.dim(`${progress}${cached}`)}`;
    }
    default:
      return known.status satisfies never;
  }
}

function describeStep(step: LiveStep, now: number, indent: string, c: Colors): string[] {
  const lines = [
    `${indent}${sanitizeLine(step.info.instruction)}  ${c.dim(formatDuration(now - step.startedAt))}` +
      (step.progress === null ? "" : c.dim(`  ${step.progress}`)),
  ];
  for (const log of step.logs) lines.push(c.dim(`${indent}  │ ${log}`));
  return lines;
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

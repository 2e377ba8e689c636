import type { BuildEvent, BuildReport } from "@stagecraft/core";
import { describeCancel, describeQuiet } from "./describe-cancel.js";
import { describeWaiting } from "./describe-waiting.js";
import type { StepInfo } from "@stagecraft/core/progress";
import { createReportBuilder, type StageReport } from "@stagecraft/core/report";
import { formatBytes } from "@stagecraft/core/report";
import { formatDuration } from "./format-duration.js";
import { createColors, type Colors } from "./colors.js";
import type { Renderer, RendererContext } from "./create-renderer.js";
import { fitToWidth, terminalWidth } from "./fit-to-width.js";
import { dockerfileOf, formatReport, shortImageId } from "./format-report.js";
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

interface LiveTarget {
  name: string;
  status: "waiting" | "queued" | "running" | "succeeded" | "failed" | "cancelled";
  startedAt: number | null;
  durationMs: number | null;
  imageId: string | null;
  message: string | null;
  /** The pool engine building it (from `target-started`); null on a single engine. */
  engine: string | null;
  /** The steps running now, by digest, in the order they started. */
  steps: Map<string, LiveStep>;
  /** The tags being pushed now, each with its layers by short id, until pushed or failed. */
  pushes: Map<string, Map<string, LivePushLayer>>;
}

/** A pool's shared stage being pushed by the engine that built it, for the other engines' targets. */
interface LiveShare {
  stage: string;
  engine: string;
  status: "pushing" | "pushed" | "failed";
  /** Its one tag's layers, by short id. */
  layers: Map<string, LivePushLayer>;
  /** What it ended with: `pushed 4.0 MB in 0.8 s`, or why it was not shared. */
  message: string | null;
}

interface LivePushLayer {
  /** Bytes sent; the whole layer once it is in the registry and its size is known. */
  current: number;
  /** The layer's size, known once the engine starts sending it (or never, when it already exists). */
  total: number | null;
  /** In the registry: pushed, already there, or mounted from another repository. */
  done: boolean;
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
  const shares = new Map<string, LiveShare>();
  /** Over a pool, the engine whose build ran each stage's steps (a shared stage's is not its reader's). */
  const stageEngines = new Map<string, string>();
  const stepTargets = new Map<string, LiveTarget>();
  const persisted: string[] = [];
  let runStartedAt: number | null = null;
  let drawnLines = 0;
  let lastFrame = "";
  let dirty = false;
  let finished = false;
  /** What an `engine-quiet` event said, until anything else arrives. */
  let quiet: string | null = null;
  const numbers = createReportBuilder();

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
        engine: null,
        steps: new Map(),
        pushes: new Map(),
      };
      targets.set(name, live);
    }
    return live;
  };
  for (const name of context.targets) target(name);

  const apply = (event: BuildEvent): void => {
    numbers.add(event);
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
        // A target that moved to another engine of a pool starts again there.
        live.engine = event.engine ?? null;
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
      case "step-started": {
        if (event.step.stage !== null && event.engine !== undefined) {
          stageEngines.set(event.step.stage, event.engine);
        }
        const live = target(event.target);
        live.steps.set(event.step.digest, {
          info: event.step,
          startedAt: event.time,
          logs: [],
          progress: null,
        });
        stepTargets.set(event.step.digest, live);
        return;
      }
      case "step-finished":
      case "step-failed":
      case "step-cached":
        target(event.target).steps.delete(event.step.digest);
        return;
      case "stage-started":
      case "stage-cached":
      case "stage-finished":
      case "stage-failed":
        return;
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
        const where =
          event.line === null ? "" : `${dockerfileOf(context, event.target)}:${event.line}  `;
        const prefix = event.stage === null ? event.target : `${event.target} › ${event.stage}`;
        persisted.push(
          `${c.yellow("⚠")} ${c.cyan(prefix)}  ${where}${sanitizeLine(event.message)}`,
        );
        return;
      }
      case "engine-quiet":
        quiet = describeQuiet(event.quietMs, event.running);
        return;
      case "push-progress": {
        const live = target(event.target);
        let layers = live.pushes.get(event.tag);
        if (layers === undefined) {
          layers = new Map();
          live.pushes.set(event.tag, layers);
        }
        trackLayer(layers, event);
        return;
      }
      case "shared-push-progress": {
        let share = shares.get(event.stage);
        if (share === undefined) {
          share = {
            stage: event.stage,
            engine: event.engine,
            status: "pushing",
            layers: new Map(),
            message: null,
          };
          shares.set(event.stage, share);
        }
        trackLayer(share.layers, event);
        return;
      }
      case "shared-pushed": {
        const share = shares.get(event.stage) ?? {
          stage: event.stage,
          engine: event.engine,
          status: "pushing" as const,
          layers: new Map<string, LivePushLayer>(),
          message: null,
        };
        share.status = event.reference === null ? "failed" : "pushed";
        share.message =
          event.reference === null
            ? `not shared: ${sanitizeLine(event.error ?? "unknown")}; built where needed`
            : `pushed ${formatBytes(event.bytes)} in ${formatDuration(event.durationMs)}`;
        shares.set(event.stage, share);
        return;
      }
      case "target-pushed":
        target(event.target).pushes.delete(event.tag);
        persisted.push(
          `${c.green("↑")} ${c.cyan(event.target)}  pushed ${event.tag}@${event.digest} in ${formatDuration(event.durationMs)}`,
        );
        return;
      case "push-failed":
        target(event.target).pushes.delete(event.tag);
        persisted.push(
          `${c.red("✗")} ${c.cyan(event.target)}  push of ${event.tag} failed: ${sanitizeLine(event.error.message)}`,
        );
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
    // The counts are the report's, from the same events: what the live view says, the end says.
    const counts = numbers.finish();
    const allRunning = function* (): Iterable<LiveStep> {
      for (const live of targets.values()) yield* live.steps.values();
    };
    const lines: string[] = [];
    for (const live of targets.values()) {
      lines.push(...describeTarget(live, counts, allRunning, now, spinner, c, stageEngines));
    }
    for (const share of shares.values()) lines.push(describeShare(share, spinner, c));
    const all = [...targets.values()];
    const ended = all.filter((live) => ["succeeded", "failed", "cancelled"].includes(live.status));
    const failed = all.filter((live) => live.status === "failed").length;
    const running = all.filter((live) => live.status === "running").length;
    const elapsed = runStartedAt === null ? 0 : now - runStartedAt;
    const totals = [
      `${ended.length}/${all.length} targets done`,
      ...(running > 0 ? [`${running} running`] : []),
      ...(failed > 0 ? [c.red(`${failed} failed`)] : []),
      `${counts.totals.stepsRun} steps ran`,
      `${counts.totals.stepsCached} cached`,
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
    const width = Math.max(20, (terminalWidth(io.stdout.columns) ?? 80) - 1);
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
      const columns = terminalWidth(io.stdout.columns);
      const above = persisted.map((line) => `${line}\n`).join("");
      persisted.length = 0;
      const summary = formatReport(report, {
        color: context.color,
        dockerfile: context.dockerfile,
        dockerfiles: context.dockerfiles,
        width: columns === undefined ? undefined : Math.max(20, columns - 1),
      });
      io.stdout.write(`${erase()}${above}${summary}`);
      drawnLines = 0;
    },
  };
}

function describeTarget(
  live: LiveTarget,
  counts: BuildReport,
  everyRunning: () => Iterable<LiveStep>,
  now: number,
  spinner: string,
  c: Colors,
  stageEngines: ReadonlyMap<string, string>,
): string[] {
  const name = c.bold(live.name) + (live.engine === null ? "" : c.dim(` on ${live.engine}`));
  const known = counts.targets.find((entry) => entry.target === live.name);
  const steps =
    known === undefined || known.stepsRun + known.stepsShared + known.stepsCached === 0
      ? ""
      : `  ${known.stepsRun} ran` +
        (known.stepsShared === 0 ? "" : ` · ${known.stepsShared} shared`) +
        ` · ${known.stepsCached} cached`;
  // The push goes right after the time, so a narrow terminal cuts the counts rather than it.
  const push = describePush(live.pushes);
  const pushing = push === null ? "" : `  ${c.cyan(push)}`;
  switch (live.status) {
    case "waiting":
      return [`${c.dim("·")} ${name}  ${c.dim("waiting")}`];
    case "queued":
      return [`${c.dim("·")} ${name}  ${c.dim("queued")}`];
    case "succeeded":
      return [
        `${c.green("✓")} ${name}  ${formatDuration(live.durationMs ?? 0)}${pushing}${c.dim(steps)}` +
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
  const lines = [`${spinner} ${name}  ${formatDuration(elapsed)}${pushing}${c.dim(steps)}`];
  // A stage's running steps are shown under the target it is built for, whichever build's stream
  // reported them; steps outside any stage under their own target.
  const owned = new Set(
    counts.stages.filter((stage) => stage.target === live.name).map((stage) => stage.stage),
  );
  const running = [...everyRunning()].filter((step) =>
    step.info.stage !== null && counts.stages.some((stage) => stage.stage === step.info.stage)
      ? owned.has(step.info.stage)
      : live.steps.has(step.info.digest),
  );
  // The stages built for this target that have begun (or ended), in Dockerfile order.
  const stages = counts.stages.filter(
    (stage) =>
      stage.target === live.name &&
      (stage.startedAt !== null ||
        stage.stepsRun + stage.stepsCached > 0 ||
        stage.status !== "incomplete"),
  );
  const shown = new Set(stages.map((stage) => stage.stage));
  for (const stage of stages) {
    // A stage another engine builds for it (a pool's shared stage) says where.
    const engine = stageEngines.get(stage.stage);
    const on = engine === undefined || engine === live.engine ? "" : engine;
    lines.push(`  ${describeStage(stage, spinner, c, on)}`);
    for (const step of running) {
      if (step.info.stage === stage.stage) lines.push(...describeStep(step, now, "    ", c));
    }
  }
  // Steps outside any stage shown: loading the context, exporting the image.
  for (const step of running) {
    if (step.info.stage === null || !shown.has(step.info.stage)) {
      lines.push(...describeStep(step, now, "  ", c));
    }
  }
  // Nothing of its own running: say what it is blocked behind rather than spin with no reason.
  const waiting = running.length === 0 ? describeWaiting(counts, live.name) : null;
  if (waiting !== null) lines.push(`  ${c.dim(waiting)}`);
  return lines;
}

function describeStage(stage: StageReport, spinner: string, c: Colors, on = ""): string {
  const done = stage.stepsRun + stage.stepsCached;
  const id = on === "" ? stage.stage : `${stage.stage}${c.dim(` on ${sanitizeLine(on)}`)}`;
  switch (stage.status) {
    case "cached":
      return `${c.green("✓")} ${id}  ${c.dim(`cached (${stage.stepsCached} ${stage.stepsCached === 1 ? "step" : "steps"})`)}`;
    case "ran":
      return (
        `${c.green("✓")} ${id}  ${formatDuration(stage.durationMs)}` +
        c.dim(`  ${stage.stepsRun} ran · ${stage.stepsCached} cached`)
      );
    case "failed":
      return `${c.red("✗")} ${id}  ${c.red("failed")}`;
    case "cancelled":
      return `${c.yellow("⊘")} ${id}  ${c.yellow("cancelled")}`;
    case "incomplete": {
      const cached = stage.stepsCached === 0 ? "" : ` · ${stage.stepsCached} cached`;
      return `${spinner} ${id}  ${c.dim(`${done}/${stage.steps}${cached}`)}`;
    }
    default:
      return stage.status satisfies never;
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

/** A shared stage's row: its push going on (bytes and layers), then how it ended. */
function describeShare(share: LiveShare, spinner: string, c: Colors): string {
  const name = `${c.bold(share.stage)}${c.dim(` shared from ${sanitizeLine(share.engine)}`)}`;
  switch (share.status) {
    case "pushing":
      return `${spinner} ${name}  ${c.cyan(describePush(new Map([["", share.layers]])) ?? "pushing")}`;
    case "pushed":
      return `${c.green("✓")} ${name}  ${share.message ?? ""}`;
    case "failed":
      return `${c.yellow("⊘")} ${name}  ${c.yellow(share.message ?? "")}`;
    default:
      return share.status satisfies never;
  }
}

/** One layer's push progress into `layers` (a target's tag, or a shared stage's). */
function trackLayer(
  layers: Map<string, LivePushLayer>,
  event: { layer: string; status: string; current: number | null; total: number | null },
): void {
  const layer = layers.get(event.layer) ?? { current: 0, total: null, done: false };
  if (event.total !== null && event.total > 0) layer.total = event.total;
  if (event.current !== null) layer.current = event.current;
  if (isLayerInRegistry(event.status)) {
    layer.done = true;
    if (layer.total !== null) layer.current = layer.total;
  }
  layers.set(event.layer, layer);
}

/** A push status that means the layer is in the registry (docker's wording, as `docker push` prints it). */
function isLayerInRegistry(status: string): boolean {
  return (
    status === "Pushed" || status === "Layer already exists" || status.startsWith("Mounted from")
  );
}

/**
 * What a target's pushes in progress have done, e.g. `pushing 12.3 MB / 48.0 MB (3/5 layers)`: bytes
 * over the layers whose size the engine has told (a layer already in the registry has none), layers
 * in the registry over the layers named so far; null when nothing is being pushed.
 */
function describePush(
  pushes: ReadonlyMap<string, ReadonlyMap<string, LivePushLayer>>,
): string | null {
  const parts: string[] = [];
  for (const [tag, layers] of pushes) {
    let current = 0;
    let total = 0;
    let done = 0;
    for (const layer of layers.values()) {
      if (layer.total !== null) {
        current += Math.min(layer.current, layer.total);
        total += layer.total;
      }
      if (layer.done) done += 1;
    }
    const bytes = total > 0 ? `${formatBytes(current)} / ${formatBytes(total)} ` : "";
    const count = `(${done}/${layers.size} ${layers.size === 1 ? "layer" : "layers"})`;
    parts.push(`${pushes.size > 1 ? `${sanitizeLine(tag)} ` : ""}${bytes}${count}`);
  }
  return parts.length === 0 ? null : `pushing ${parts.join(", ")}`;
}

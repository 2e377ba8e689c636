import type { Io } from "../io.js";

/** How progress is shown: a live terminal view, log lines, JSON lines, nothing, or GitHub Actions logs. */
export type ProgressMode = "tty" | "plain" | "json" | "quiet" | "github";

/** What `--progress` accepts: a mode, or `auto` to pick one from the terminal and the CI. */
export type RequestedProgressMode = "auto" | ProgressMode;

/**
 * Picks the progress mode: `auto` is `github` under GitHub Actions, `tty` on an interactive terminal,
 * `plain` otherwise. `tty` is only ever picked on a terminal (stdout a TTY, `TERM` not `dumb`): asked
 * for elsewhere, it falls back to `plain`, so no cursor codes reach a file or a pipe.
 */
export function chooseProgressMode(
  requested: RequestedProgressMode,
  io: Pick<Io, "stdout" | "env">,
): ProgressMode {
  const interactive = io.stdout.isTTY && io.env.TERM !== "dumb";
  switch (requested) {
    case "auto":
      if (io.env.GITHUB_ACTIONS === "true") return "github";
      return interactive ? "tty" : "plain";
    case "tty":
      return interactive ? "tty" : "plain";
    case "plain":
    case "json":
    case "quiet":
    case "github":
      return requested;
    default:
      return requested satisfies never;
  }
}

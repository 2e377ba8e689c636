// Fault injection against the built CLI: engines that never answer, drop the stream or freeze (a
// proxy to the real engine that stops forwarding: the shared dockerd itself is never stopped),
// signals and a closed stdout while a step runs, unwritable outputs, multi-line secrets. Every
// case asserts the exit code, the message, and that no build process is left on the daemon (the
// engine is local: a RUN step's processes are visible in /proc, found by a marker in their command).
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runStagecraft, type CliRun } from "./support/cli.js";
import { BUSYBOX, makeProject } from "./support/engine.js";

const ENGINE_SOCKET = "/var/run/docker.sock";
const LABEL = ["--label", "org.stagecraft.test=1"];
const dir = join(tmpdir(), `stagecraft-faults-${process.pid}`);
const servers: Server[] = [];

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
});
afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A socket server; `onConnection` decides what each connection gets. Resolves its socket path. */
async function listen(name: string, onConnection: (socket: Socket) => void): Promise<string> {
  const path = join(dir, `${name}.sock`);
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

/** A proxy to the real engine that can stop forwarding (a frozen daemon) and count connections. */
async function pausableProxy(name: string): Promise<{
  socket: string;
  pause: () => void;
  resume: () => void;
  /** Closes every connection (an engine that hangs up mid-stream). */
  drop: () => void;
}> {
  const pairs: [Socket, Socket][] = [];
  let paused = false;
  const socket = await listen(name, (client) => {
    const upstream = createConnection(ENGINE_SOCKET);
    pairs.push([client, upstream]);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const [one, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      one.on("error", () => other.destroy());
      one.on("close", () => other.destroy());
    }
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  return {
    socket,
    pause: () => {
      paused = true;
      for (const [client, upstream] of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume: () => {
      paused = false;
      for (const [client, upstream] of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    drop: () => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
    },
  };
}

/** Processes on this machine whose command line holds `marker` (a RUN step's shell). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (command.includes(marker) && !command.includes("vitest")) found.push(Number(entry));
    } catch {
      // It ended meanwhile.
    }
  }
  return found;
}

/** Waits (up to 10 s: a cancel takes tens of ms) until no process holds `marker`. */
async function expectNothingRunning(marker: string): Promise<void> {
  for (let waited = 0; waited < 10_000 && processesWith(marker).length > 0; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(processesWith(marker), `build processes left running for ${marker}`).toEqual([]);
}

/**
 * A project whose one RUN step prints `MARKER started`, then a line a second for 30 s (a closed pipe
 * is only noticed on the next write, as for any program).
 */
function slowStep(): { dir: string; marker: string } {
  const marker = `fault-${randomUUID().slice(0, 8)}`;
  const project = makeProject({
    Dockerfile: `FROM ${BUSYBOX}\nRUN echo ${marker} started; for i in $(seq 1 30); do sleep 1; echo tick $i; done\n`,
  });
  return { dir: project.dir, marker };
}

/**
 * Runs the CLI; `act(child, stdoutSoFar)` is called on every stdout chunk until it returns true.
 * `closeStdoutAfter` reads that many bytes, then closes the pipe (`| head -c N`).
 */
function runWith(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    act?: (signal: (name: NodeJS.Signals) => void, stdout: string) => boolean;
    closeStdoutWhen?: string;
    /** Called once the process is spawned (for engines that send nothing to wait for). */
    onSpawn?: (signal: (name: NodeJS.Signals) => void) => void;
    /** `act` is called on stderr's chunks too, with stdout and stderr so far (diagnostics). */
    actOnStderr?: boolean;
  } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: "1", GITHUB_ACTIONS: "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let acted = false;
    options.onSpawn?.((name) => child.kill(name));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (options.closeStdoutWhen !== undefined && stdout.includes(options.closeStdoutWhen)) {
        child.stdout.destroy();
      }
      if (!acted && options.act !== undefined) {
        acted = options.act((name) => child.kill(name), stdout);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (options.actOnStderr === true && !acted && options.act !== undefined) {
        acted = options.act((name) => child.kill(name), `${stdout}\n${stderr}`);
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, stdout, stderr, interrupted: acted });
    });
  });
}

const secretLines = ["s3cret-first-LINE", "s3cret-second-LINE"];

/** A project whose one step makes 150 MB of random data: its export takes seconds, not ms. */
function bigExport(): { dir: string; out: string } {
  const project = makeProject({
    Dockerfile: `FROM ${BUSYBOX}\nARG NONCE\nRUN dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null\n`,
  });
  return { dir: project.dir, out: join(project.dir, "out") };
}

/** The files left in `directory` whose names start with `prefix` (a tar, its temporary file). */
function leftovers(directory: string, prefix: string): string[] {
  return readdirSync(directory).filter((name) => name.startsWith(prefix));
}

/** An `act` for `runWith` that does `fault` 300 ms into the export: 150 MB take seconds through the session. */
function intoExport(
  fault: (send: (name: NodeJS.Signals) => void) => void,
): (send: (name: NodeJS.Signals) => void, stdout: string) => boolean {
  return (send, stdout) => {
    if (!stdout.includes("exporting to client")) return false;
    setTimeout(() => {
      fault(send);
    }, 300);
    return true;
  };
}

const NONCE = (): string[] => ["--build-arg", `NONCE=${randomUUID()}`];

describe("faults", () => {
  it("an engine that takes the connection and never answers: SIGTERM ends the run at once", async () => {
    const requests: string[] = [];
    const socket = await listen("silent", (connection) => {
      connection.on("data", (data: Buffer) => requests.push(data.toString("latin1")));
    });
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\nRUN true\n` });
    const run = await runWith(["build", project.dir, "--progress", "plain"], {
      env: { DOCKER_HOST: `unix://${socket}` },
      onSpawn: (signal) => {
        const poll = setInterval(() => {
          if (requests.some((request) => request.includes("/version"))) {
            clearInterval(poll);
            signal("SIGTERM");
          }
        }, 20);
      },
    });
    expect(run.code).toBe(130);
    expect(run.stderr).toContain("stagecraft: interrupted");
    project.remove();
  });

  it("an engine that closes the build stream mid-step: exit 1, the engine named, nothing left", async () => {
    const { dir: context, marker } = slowStep();
    let seen = 0;
    const proxy = await pausableProxy("closing");
    const run = await runWith(["build", context, "--progress", "plain", ...LABEL], {
      env: { DOCKER_HOST: `unix://${proxy.socket}` },
      act: (_signal, stdout) => {
        if (!stdout.includes(`| ${marker} started`)) return false;
        seen = processesWith(marker).length;
        proxy.drop();
        return true;
      },
    });
    expect(run.interrupted).toBe(true);
    expect(run.code).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toMatch(/engine/i);
    expect(seen, "the step was running when the fault came").toBeGreaterThan(0);
    await expectNothingRunning(marker);
    rmSync(context, { recursive: true, force: true });
  });

  it("SIGINT while the engine is frozen: the cancelled report, then the process exits", async () => {
    const { dir: context, marker } = slowStep();
    let seen = 0;
    const proxy = await pausableProxy("frozen");
    const run = await runWith(["build", context, "--progress", "plain", ...LABEL], {
      env: { DOCKER_HOST: `unix://${proxy.socket}` },
      act: (signal, stdout) => {
        if (!stdout.includes(`| ${marker} started`)) return false;
        seen = processesWith(marker).length;
        proxy.pause();
        signal("SIGINT");
        return true;
      },
    });
    proxy.resume();
    expect(run.code).toBe(130);
    expect(run.stdout).toContain("cancelled");
    // The dropped requests close the proxy's connections to the engine, which ends the build.
    expect(seen, "the step was running when the fault came").toBeGreaterThan(0);
    await expectNothingRunning(marker);
    rmSync(context, { recursive: true, force: true });
  });

  it("a handle left after the command returned: the CLI says so and exits with its code", async () => {
    // Preloaded into the CLI: a handle that never ends, as a request to a frozen engine that
    // nothing aborted would be.
    const hold = join(dir, "hold-process.cjs");
    writeFileSync(hold, "setInterval(() => undefined, 60_000);\n");
    const run = (args: string[]): Promise<CliRun> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--require", hold, CLI, ...args], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.on("error", reject);
        child.on("close", (code, signal) => {
          resolve({ code, signal, stdout, stderr, interrupted: false });
        });
      });
    const failed = await run(["build", dir, "--concurrency", "0"]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain("--concurrency must be a positive whole number");
    expect(failed.stderr).toContain(
      "stagecraft: exiting without waiting for the engine: it has not answered the last requests",
    );
    // A command that succeeded ends as quietly as it ran.
    const succeeded = await run(["--version"]);
    expect(succeeded.code).toBe(0);
    expect(succeeded.stderr).toBe("");
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} while a step runs: exit 130, the build cancelled on the daemon`, async () => {
      const { dir: context, marker } = slowStep();
      let seen = 0;
      const run = await runWith(["build", context, "--progress", "plain", ...LABEL], {
        act: (send, stdout) => {
          if (!stdout.includes(`| ${marker} started`)) return false;
          seen = processesWith(marker).length;
          send(signal);
          return true;
        },
      });
      expect(run.code).toBe(130);
      expect(run.stdout).toMatch(/cancelled/);
      expect(seen, "the step was running when the signal came").toBeGreaterThan(0);
      await expectNothingRunning(marker);
      rmSync(context, { recursive: true, force: true });
    });
  }

  it("--timeout ends a run whose step outlasts it: exit 1, the limit said, the build cancelled", async () => {
    const { dir: context, marker } = slowStep();
    const run = await runStagecraft(
      ["build", context, "--progress", "plain", "--timeout", "3s", ...LABEL],
      {},
    );
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain("cancelled: the run reached --timeout (3 s)");
    expect(run.stdout).toContain(`| ${marker} started`);
    expect(run.stderr).not.toContain("this is a bug");
    await expectNothingRunning(marker);
    rmSync(context, { recursive: true, force: true });
  });

  it("SIGINT while a stage-size probe builds: exit 130, the probe cancelled, no image left", async () => {
    // Stage build is done early (150 MB: its probe's export takes a while) while runtime's step,
    // which needs nothing of it, has been running for a while (a cancel sent as a RUN step's
    // container starts is lost by Docker 26.1: see STEP_START_GUARD_MS).
    const marker = `fault-${randomUUID().slice(0, 8)}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        "ARG NONCE",
        "RUN dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null && echo small > /small",
        `FROM ${BUSYBOX} AS runtime`,
        `RUN echo ${marker} started; for i in $(seq 1 30); do sleep 1; echo tick $i; done`,
        "COPY --from=build /small /small",
        "",
      ].join("\n"),
    });
    const diagnostics = (output: string): { msg?: string; buildId?: string }[] =>
      output.split("\n").flatMap((line) => {
        if (!line.startsWith("{")) return [];
        try {
          return [JSON.parse(line) as { msg?: string; buildId?: string }];
        } catch {
          return [];
        }
      });
    let probing = false;
    const run = await runWith(
      [
        "build",
        project.dir,
        "--target",
        "runtime",
        "--progress",
        "plain",
        "--log-level",
        "debug",
      ].concat(NONCE(), LABEL, ["--label", `org.stagecraft.fault=${marker}`]),
      {
        actOnStderr: true,
        act: (send, output) => {
          const lines = diagnostics(output);
          // The daemon has taken the probe's build (its stream is open) and not yet ended it.
          const opened = lines.some(
            (line) =>
              line.msg === "build stream opened" && line.buildId?.startsWith("stagecraft-size-"),
          );
          if (!opened || !output.includes(`| ${marker} started`)) return false;
          probing = !lines.some((line) => line.msg === "size probe measured");
          send("SIGINT");
          return true;
        },
      },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(130);
    expect(probing, "the probe was building when the signal came").toBe(true);
    expect(run.stdout).toContain("cancelled");
    await expectNothingRunning(marker);
    const probes = execFileSync(
      "docker",
      ["images", "-q", "--filter", `label=org.stagecraft.fault=${marker}`],
      { encoding: "utf8" },
    ).trim();
    expect(probes, "images left by the run (the probe's is untagged)").toBe("");
    project.remove();
  });

  it("a closed stdout while a step runs: no EPIPE stack, exit 141, the build cancelled", async () => {
    const { dir: context, marker } = slowStep();
    let seen = 0;
    const run = await runWith(["build", context, "--progress", "plain", ...LABEL], {
      closeStdoutWhen: `| ${marker} started`,
      act: (_signal, stdout) => {
        if (!stdout.includes(`| ${marker} started`)) return false;
        seen = processesWith(marker).length;
        return true;
      },
    });
    expect(run.code).toBe(141);
    expect(run.stderr).toContain("stagecraft: stdout was closed; cancelling the builds");
    expect(run.stderr).not.toContain("EPIPE");
    expect(seen, "the step was running when the fault came").toBeGreaterThan(0);
    await expectNothingRunning(marker);
    rmSync(context, { recursive: true, force: true });
  });

  it("a closed stdout during the context upload: exit 141, nothing left", async () => {
    const marker = `fault-${randomUUID().slice(0, 8)}`;
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nCOPY big /big\nRUN echo ${marker}; sleep 30\n`,
    });
    writeFileSync(join(project.dir, "big"), Buffer.alloc(24 * 2 ** 20, 7));
    const run = await runWith(["build", project.dir, "--progress", "plain", ...LABEL], {
      closeStdoutWhen: "building 1 target",
    });
    expect(run.code).toBe(141);
    expect(run.stderr).not.toContain("EPIPE");
    await expectNothingRunning(marker);
    project.remove();
  });

  for (const type of ["tar", "local"] as const) {
    it(`SIGINT during a -o type=${type} export: exit 130, cancelled, dest untouched`, async () => {
      const { dir: context, out } = bigExport();
      const dest = type === "tar" ? `${out}.tar` : out;
      // A directory that exists keeps exactly what it had; a tar that did not exist still does not.
      if (type === "local") {
        mkdirSync(out);
        writeFileSync(join(out, "mine"), "kept");
      }
      const run = await runWith(
        ["build", context, "--progress", "plain", "-o", `type=${type},dest=${dest}`, ...NONCE()],
        {
          act: intoExport((send) => {
            send("SIGINT");
          }),
        },
      );
      expect(run.interrupted, run.stdout).toBe(true);
      expect(run.code, run.stderr).toBe(130);
      expect(run.stdout).toContain("cancelled");
      expect(run.stderr).not.toContain("this is a bug");
      // A tar appears whole or not at all; a directory is received beside dest, then removed.
      if (type === "tar") expect(leftovers(context, "out")).toEqual([]);
      else {
        expect(leftovers(context, "out")).toEqual(["out"]);
        expect(readdirSync(out)).toEqual(["mine"]);
        expect(readFileSync(join(out, "mine"), "utf8")).toBe("kept");
      }
      rmSync(context, { recursive: true, force: true });
    });
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} during the context upload: exit 130, nothing left running`, async () => {
      const marker = `fault-${randomUUID().slice(0, 8)}`;
      const project = makeProject({
        Dockerfile: `FROM ${BUSYBOX}\nCOPY big /big\nRUN echo ${marker}; sleep 30\n`,
      });
      writeFileSync(join(project.dir, "big"), Buffer.alloc(24 * 2 ** 20, 7));
      const run = await runWith(["build", project.dir, "--progress", "plain", ...LABEL], {
        act: (send, stdout) => {
          if (!stdout.includes("building 1 target")) return false;
          send(signal);
          return true;
        },
      });
      expect(run.interrupted).toBe(true);
      expect(run.code, run.stderr).toBe(130);
      expect(run.stdout).toContain("cancelled");
      expect(run.stderr).not.toContain("this is a bug");
      await expectNothingRunning(marker);
      project.remove();
    });
  }

  for (const fault of ["SIGTERM", "closed stdout"] as const) {
    it(`${fault} during a -o type=tar export: the run ends as a cancel, no half tar`, async () => {
      const { dir: context, out } = bigExport();
      const run = await runWith(
        ["build", context, "--progress", "plain", "-o", `type=tar,dest=${out}.tar`, ...NONCE()],
        fault === "SIGTERM"
          ? {
              act: intoExport((send) => {
                send("SIGTERM");
              }),
            }
          : { closeStdoutWhen: "exporting to client" },
      );
      expect(run.code, run.stderr).toBe(fault === "SIGTERM" ? 130 : 141);
      expect(run.stderr).not.toContain("this is a bug");
      expect(run.stderr).not.toContain("EPIPE");
      expect(leftovers(context, "out")).toEqual([]);
      rmSync(context, { recursive: true, force: true });
    });
  }

  it("an engine that hangs up during a tar export: exit 1, the engine named, no half tar", async () => {
    const { dir: context, out } = bigExport();
    const proxy = await pausableProxy("export-drop");
    const run = await runWith(
      ["build", context, "--progress", "plain", "-o", `type=tar,dest=${out}.tar`, ...NONCE()],
      {
        env: { DOCKER_HOST: `unix://${proxy.socket}` },
        act: intoExport(() => {
          proxy.drop();
        }),
      },
    );
    expect(run.interrupted).toBe(true);
    expect(run.code, run.stderr).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toMatch(/engine/i);
    expect(run.stderr).not.toContain("this is a bug");
    expect(leftovers(context, "out")).toEqual([]);
    rmSync(context, { recursive: true, force: true });
  });

  it("a disk that fills during an export: exit 1, --output and the OS's words, no half tar", async () => {
    // A 64 KiB tmpfs, mounted by the test and removed after it: the 512 KiB export cannot fit.
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX}\nARG NONCE\nRUN dd if=/dev/zero of=/big bs=1k count=512\n`,
    });
    const disk = join(project.dir, "disk");
    mkdirSync(disk);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
    try {
      for (const [output, left] of [
        [`type=tar,dest=${join(disk, "out.tar")}`, []],
        [`type=local,dest=${join(disk, "out")}`, []],
      ] as const) {
        const run = await runStagecraft(
          ["build", project.dir, "--progress", "plain", "-o", output, ...LABEL, ...NONCE()],
          {},
        );
        expect(run.code, run.stderr).toBe(1);
        expect(run.stderr).toContain(`stagecraft: --output ${output}: cannot write ${disk}/out`);
        expect(run.stderr).toContain("no space left on device (ENOSPC)");
        expect(run.stderr).not.toContain("this is a bug");
        expect(readdirSync(disk)).toEqual(left);
        rmSync(join(disk, "out"), { recursive: true, force: true });
      }
    } finally {
      execFileSync("umount", [disk]);
      project.remove();
    }
  });

  it("bake: the one output that fills its disk is named by its key; the others' stay whole", async () => {
    // Three exporting runs, fail-fast: the big tar's 64 KiB tmpfs fills at once, while the other
    // two are still in their 2 s step; they go on, and their tar and directory are written.
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS big`,
        `ARG NONCE`,
        `RUN dd if=/dev/zero of=/big bs=1k count=512`,
        `FROM ${BUSYBOX} AS small`,
        `ARG NONCE`,
        `RUN sleep 2; echo $NONCE > /small`,
      ].join("\n"),
      "docker-bake.hcl": [
        `group "default" { targets = ["big", "small-tar", "small-dir"] }`,
        `target "big" {`,
        `  target = "big"`,
        `  args = { NONCE = "${nonce}" }`,
        `  output = ["type=tar,dest=disk/big.tar"]`,
        `}`,
        `target "small-tar" {`,
        `  target = "small"`,
        `  args = { NONCE = "${nonce}" }`,
        `  output = ["type=tar,dest=small.tar"]`,
        `}`,
        `target "small-dir" {`,
        `  target = "small"`,
        `  args = { NONCE = "${nonce}-dir" }`,
        `  output = ["type=local,dest=small-dir"]`,
        `}`,
      ].join("\n"),
    });
    const disk = join(project.dir, "disk");
    mkdirSync(disk);
    // A directory that exists is merged into: what the export does not have stays.
    mkdirSync(join(project.dir, "small-dir"));
    writeFileSync(join(project.dir, "small-dir", "mine"), "kept");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
    try {
      const run = await runStagecraft(["bake", "--progress", "plain"], { cwd: project.dir });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `stagecraft: target "big".output type=tar,dest=disk/big.tar: cannot write ${disk}/big.tar: ` +
          `no space left on device (ENOSPC); nothing was left at ${disk}/big.tar`,
      );
      expect(run.stderr).not.toContain("this is a bug");
      expect(run.stdout).not.toMatch(/cancelled/);
      expect(run.stdout).toMatch(/2 succeeded, 1 failed/);
      expect(readdirSync(disk)).toEqual([]);
      // Whole: the tar lists the step's file, the directory holds it, nothing temporary beside them.
      const listed = execFileSync("tar", ["-tf", join(project.dir, "small.tar")], {
        encoding: "utf8",
      });
      expect(listed.split("\n")).toContain("small");
      expect(readFileSync(join(project.dir, "small-dir", "small"), "utf8")).toBe(`${nonce}-dir\n`);
      expect(readFileSync(join(project.dir, "small-dir", "mine"), "utf8")).toBe("kept");
      expect(leftovers(project.dir, "small").sort()).toEqual(["small-dir", "small.tar"]);
    } finally {
      execFileSync("umount", [disk]);
      project.remove();
    }
  });

  it("unwritable outputs are refused before the engine is asked anything (exit 2, flag named)", async () => {
    const connections: Socket[] = [];
    const socket = await listen("recording", (connection) => {
      connections.push(connection);
      connection.destroy();
    });
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX}\nRUN true\n`, file: "x" });
    const cases: [string[], string][] = [
      [["--report", join(project.dir, "missing", "report.json")], "--report"],
      [["--metadata-file", project.dir], "--metadata-file"],
      [["-o", `type=local,dest=${join(project.dir, "file")}`], "--output"],
      [["-o", `type=local,dest=${join(project.dir, "file", "sub")}`], "--output"],
      [["-o", `type=tar,dest=${project.dir}`], "--output"],
      // Root passes access() here; only creating the temporary file beside the target tells.
      [["--report", "/proc/x"], "--report"],
      [["--metadata-file", "/proc/x"], "--metadata-file"],
      [["-o", "type=tar,dest=/proc/x.tar"], "--output"],
    ];
    for (const [flags, named] of cases) {
      const run = await runStagecraft(["build", project.dir, ...flags], {
        env: { DOCKER_HOST: `unix://${socket}` },
      });
      expect(run.code, flags.join(" ")).toBe(2);
      expect(run.stderr).toContain(`stagecraft: ${named}`);
    }
    expect(connections).toHaveLength(0);
    project.remove();
  });

  it("a multi-line secret is masked in every output: plain, json, github, summary, report, metadata", async () => {
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS ok`,
        `ARG TOKEN`,
        `RUN echo "$TOKEN"`,
        `FROM ${BUSYBOX} AS bad`,
        `ARG TOKEN`,
        `RUN echo "$TOKEN"; exit 3`,
      ].join("\n"),
    });
    const secret = secretLines.join("\n");
    const outputs: string[] = [];
    for (const [mode, env] of [
      ["plain", {}],
      ["json", {}],
      ["auto", { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: join(project.dir, "summary.md") }],
    ] as const) {
      const report = join(project.dir, `report-${mode}.json`);
      const metadata = join(project.dir, `metadata-${mode}.json`);
      const run = await runStagecraft(
        ["build", project.dir, "--target", "ok,bad", "--keep-going", "--progress", mode]
          .concat(["--build-arg-secret", `TOKEN=${secret}`, "--report", report])
          .concat(["--metadata-file", metadata, ...LABEL]),
        { env },
      );
      expect(run.code, `${mode}: ${run.stderr}`).toBe(1);
      expect(run.stdout).toContain("***");
      outputs.push(run.stdout, run.stderr, readFileSync(report, "utf8"));
      outputs.push(readFileSync(metadata, "utf8"));
      if (mode === "auto") {
        expect(run.stdout).toContain("::error");
        outputs.push(readFileSync(join(project.dir, "summary.md"), "utf8"));
      }
    }
    for (const text of outputs) {
      for (const line of secretLines) expect(text).not.toContain(line);
    }
    project.remove();
  });
});

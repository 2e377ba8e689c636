import { execFileSync, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import {
  DockerEngine,
  analyzeDockerfile,
  runBuild,
  type Engine,
  type BuildEvent,
  type RunBuildOptions,
} from "@stagecraft/core";
import type { EngineSession } from "@stagecraft/core/engine";
import {
  BUSYBOX,
  TEST_LABELS,
  docker,
  makeProject,
  removeImages,
  runInImage,
} from "./support/engine.js";

const engine = new DockerEngine();
const made: string[] = [];
afterAll(async () => {
  await removeImages(made);
});

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Builds these targets (`default`: the last stage) of the Dockerfile in `dir` through `runBuild`. */
async function build(
  dir: string,
  targets: { name: string; tags?: string[] }[],
  options: Partial<RunBuildOptions> = {},
): Promise<{ outcome: Awaited<ReturnType<typeof runBuild>>; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  for (const target of targets) made.push(...(target.tags ?? []));
  const named = targets.filter((target) => target.name !== "default").map((target) => target.name);
  const analysis = analyzeDockerfile(readFileSync(join(dir, "Dockerfile"), "utf8"), {
    targets: named,
  });
  const ids = analysis.plan.targets.map((target) => target.id);
  const tags = Object.fromEntries(
    targets.map((target) => [
      target.name === "default" ? (ids[0] ?? "") : target.name,
      target.tags ?? [],
    ]),
  );
  const outcome = await runBuild({
    engine,
    analysis,
    context: { dir, dockerfile: join(dir, "Dockerfile") },
    tags,
    labels: TEST_LABELS,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { outcome, events };
}

/** Every byte of `docker save` of the image (layers are uncompressed tars on a graph-driver engine). */
async function savedImage(ref: string): Promise<Buffer> {
  const stream = await docker.getImage(ref).get();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("BuildKit sessions against the real engine", () => {
  it("serves a file secret and an env secret to RUN steps and keeps them out of the image", async () => {
    const nonce = randomUUID();
    const fileSecret = `file-secret-${randomUUID()}`;
    const envSecret = `env-secret-${randomUUID()}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX}`,
        `RUN echo ${nonce} > /nonce`,
        `RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha && cat /run/secrets/token`,
        `RUN --mount=type=secret,id=envtoken,required=true sha256sum /run/secrets/envtoken | cut -d' ' -f1 > /env.sha`,
      ].join("\n"),
    });
    const tag = `stagecraft-it/secret:${nonce.slice(0, 8)}`;
    try {
      const { outcome, events } = await build(project.dir, [{ name: "default", tags: [tag] }], {
        session: {
          secrets: {
            token: Buffer.from(fileSecret),
            envtoken: Buffer.from(envSecret),
          },
        },
      });
      expect(outcome.status).toBe("succeeded");
      expect((await runInImage(tag, ["cat", "/token.sha"])).trim()).toBe(sha256(fileSecret));
      expect((await runInImage(tag, ["cat", "/env.sha"])).trim()).toBe(sha256(envSecret));
      // The step printed the file secret: the events carry the mask, never the value.
      const text = JSON.stringify(events);
      expect(text).not.toContain(fileSecret);
      expect(text).toContain("***");
      const saved = await savedImage(tag);
      expect(saved.length).toBeGreaterThan(100_000);
      expect(saved.includes(fileSecret)).toBe(false);
      expect(saved.includes(envSecret)).toBe(false);
      expect(saved.includes(nonce)).toBe(true);
      const history = JSON.stringify(await docker.getImage(tag).history());
      expect(history).toContain("/run/secrets/token");
      expect(history).not.toContain(fileSecret);
      expect(history).not.toContain(envSecret);
    } finally {
      project.remove();
    }
  });

  it("names a missing required secret and how to pass it", async () => {
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS app`,
        `RUN echo ${randomUUID()}`,
        `RUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc`,
      ].join("\n"),
    });
    try {
      const { outcome } = await build(project.dir, [{ name: "app" }], {
        session: { secrets: {} },
      });
      expect(outcome.status).toBe("failed");
      const error = outcome.targets[0]?.error;
      expect(error?.message).toBe(
        'target "app" needs the secret "npmrc", which was not passed to the build',
      );
      expect(error?.code).toBe("MISSING_SECRET");
      expect(error?.hint).toContain('a secret with the id "npmrc"');
      // The report carries the id, so the CLI can name its flag.
      expect(outcome.report.failures[0]).toMatchObject({
        code: "MISSING_SECRET",
        missingId: "npmrc",
      });
    } finally {
      project.remove();
    }
  });

  it("serves three targets' builds from one session", async () => {
    const nonce = randomUUID();
    const secret = `shared-${randomUUID()}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS base`,
        `RUN echo ${nonce} > /nonce`,
        ...["a", "b", "c"].flatMap((name) => [
          `FROM base AS ${name}`,
          `RUN --mount=type=secret,id=token,required=true sha256sum /run/secrets/token | cut -d' ' -f1 > /${name}.sha`,
        ]),
      ].join("\n"),
    });
    const sessions: EngineSession[] = [];
    const sessionIds = new Set<string>();
    const spy: Engine = {
      local: engine.local,
      info: () => engine.info(),
      cancelBuild: (id) => engine.cancelBuild(id),
      inspectImage: (ref) => engine.inspectImage(ref),
      build: (request) => {
        sessionIds.add(request.session?.id ?? "none");
        return engine.build(request);
      },
      openSession: async (options) => {
        const session = await engine.openSession(options);
        sessions.push(session);
        return session;
      },
    };
    const targets = ["a", "b", "c"].map((name) => ({
      name,
      tags: [`stagecraft-it/shared-session:${name}-${nonce.slice(0, 8)}`],
    }));
    try {
      const { outcome } = await build(project.dir, targets, {
        engine: spy,
        session: { secrets: { token: Buffer.from(secret) } },
      });
      expect(outcome.status).toBe("succeeded");
      expect(sessions).toHaveLength(1);
      expect([...sessionIds]).toEqual([sessions[0]?.id]);
      for (const target of targets) {
        const tag = target.tags[0] ?? "";
        expect((await runInImage(tag, ["cat", `/${target.name}.sha`])).trim()).toBe(sha256(secret));
      }
    } finally {
      project.remove();
    }
  });

  it("forwards an SSH agent: a RUN step lists the agent's one key", async () => {
    const work = mkdtempSync(join(tmpdir(), "stagecraft-ssh-"));
    const socket = join(work, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    const project = makeProject({ Dockerfile: "" });
    try {
      execFileSync("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "it",
        "-f",
        join(work, "key"),
      ]);
      await waitFor(() => readdirSync(work).includes("agent.sock"));
      execFileSync("ssh-add", [join(work, "key")], {
        env: { SSH_AUTH_SOCK: socket },
        stdio: "ignore",
      });
      const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", join(work, "key.pub")])
        .toString()
        .split(" ")[1];
      // busybox cannot speak to a Unix socket: run the host's own ssh-add through its dynamic loader.
      const files = sharedLibraries("/usr/bin/ssh-add");
      for (const file of files) copyFileSync(file, join(project.dir, basename(file)));
      const loader = basename(files.find((file) => basename(file).startsWith("ld-linux")) ?? "");
      const nonce = randomUUID();
      const tag = `stagecraft-it/ssh:${nonce.slice(0, 8)}`;
      const dockerfile = [
        `FROM ${BUSYBOX}`,
        `RUN echo ${nonce} > /nonce`,
        `RUN --mount=type=ssh --mount=type=bind,target=/host test -S "$SSH_AUTH_SOCK" && /host/${loader} --library-path /host /host/ssh-add -l > /keys`,
      ].join("\n");
      execFileSync("sh", ["-c", `cat > ${join(project.dir, "Dockerfile")}`], { input: dockerfile });
      const { outcome } = await build(project.dir, [{ name: "default", tags: [tag] }], {
        session: { ssh: [{ id: "default", socket }] },
      });
      expect(outcome.targets[0]?.error?.message).toBeUndefined();
      const keys = (await runInImage(tag, ["cat", "/keys"])).trim().split("\n");
      expect(keys).toHaveLength(1);
      expect(keys[0]).toContain(fingerprint);
    } finally {
      agent.kill();
      project.remove();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("names an SSH agent the build needs but the run did not forward", async () => {
    const project = makeProject({
      Dockerfile: `FROM ${BUSYBOX} AS app\nRUN echo ${randomUUID()}\nRUN --mount=type=ssh,id=deploy,required=true true\n`,
    });
    try {
      const { outcome } = await build(project.dir, [{ name: "app" }], {
        session: { ssh: [] },
      });
      expect(outcome.status).toBe("failed");
      expect(outcome.targets[0]?.error?.message).toBe(
        'target "app" needs the SSH agent "deploy", which was not forwarded to the build',
      );
    } finally {
      project.remove();
    }
  });

  it("exports a target as a tar holding exactly the target's files", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        `RUN mkdir -p /out/docs && echo ${nonce} > /out/app.txt && echo readme > /out/docs/README`,
        `FROM scratch AS out`,
        `COPY --from=build /out/ /`,
      ].join("\n"),
    });
    const tarBytes: Buffer[] = [];
    try {
      const { outcome } = await build(project.dir, [{ name: "out" }], {
        session: {
          output: {
            type: "tar",
            open: () => {
              const sink = new PassThrough();
              sink.on("data", (chunk: Buffer) => tarBytes.push(chunk));
              return sink;
            },
          },
        },
      });
      expect(outcome.status).toBe("succeeded");
      const tarball = Buffer.concat(tarBytes);
      const names = execFileSync("tar", ["-tf", "-"], { input: tarball })
        .toString()
        .trim()
        .split("\n")
        .sort();
      expect(names).toEqual(["app.txt", "docs/", "docs/README"]);
      const content = execFileSync("tar", ["-xOf", "-", "app.txt"], { input: tarball }).toString();
      expect(content).toBe(`${nonce}\n`);
    } finally {
      project.remove();
    }
  });

  it("exports a target into a local directory", async () => {
    const nonce = randomUUID();
    const dest = mkdtempSync(join(tmpdir(), "stagecraft-out-"));
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        `RUN mkdir -p /out/bin && echo ${nonce} > /out/app.txt && printf '#!/bin/sh\\n' > /out/bin/run && chmod 755 /out/bin/run && ln -s app.txt /out/link`,
        `FROM scratch AS out`,
        `COPY --from=build /out/ /`,
      ].join("\n"),
    });
    try {
      const { outcome } = await build(project.dir, [{ name: "out" }], {
        session: { output: { type: "local", dir: join(dest, "result") } },
      });
      expect(outcome.targets[0]?.error?.message).toBeUndefined();
      const result = join(dest, "result");
      expect(readdirSync(result).sort()).toEqual(["app.txt", "bin", "link"]);
      expect(readFileSync(join(result, "app.txt"), "utf8")).toBe(`${nonce}\n`);
      expect(readFileSync(join(result, "link"), "utf8")).toBe(`${nonce}\n`);
      expect(
        execFileSync("stat", ["-c", "%a", join(result, "bin/run")])
          .toString()
          .trim(),
      ).toBe("755");
    } finally {
      project.remove();
      rmSync(dest, { recursive: true, force: true });
    }
  });
});

describe("FileSync build context", () => {
  it("sends the context once, then only changed files, and applies .dockerignore", async () => {
    const nonce = randomUUID();
    const files: Record<string, string> = {
      Dockerfile: `FROM ${BUSYBOX}\nRUN echo ${nonce}\nCOPY . /ctx\nRUN find /ctx -type f | wc -l > /count\n`,
      ".dockerignore": "secret*\n",
      "secret.txt": "must not be sent",
    };
    for (let i = 0; i < 300; i++)
      files[`dir${i % 10}/file${i}.txt`] = `${nonce}-${i}\n`.repeat(100);
    const project = makeProject(files);
    const tag = `stagecraft-it/fsync:${nonce.slice(0, 8)}`;
    const sentFiles = async (): Promise<number> => {
      const { outcome, events } = await build(project.dir, [{ name: "default", tags: [tag] }], {
        context: {
          dir: project.dir,
          dockerfile: join(project.dir, "Dockerfile"),
          transfer: "session",
        },
      });
      expect(outcome.targets[0]?.error?.message).toBeUndefined();
      expect(outcome.report.context?.transfer).toBe("session");
      // The last context transfer is the one COPY uses (the first reads .dockerignore).
      const sent = events.flatMap((event) =>
        event.type === "context-sent" && event.source === "context" ? [event.files] : [],
      );
      return sent.at(-1) ?? -1;
    };
    try {
      expect(await sentFiles()).toBe(302); // 300 files, the Dockerfile and .dockerignore
      expect((await runInImage(tag, ["cat", "/count"])).trim()).toBe("302");
      expect(await sentFiles()).toBe(0);
      execFileSync("sh", ["-c", "echo changed >> dir3/file3.txt"], { cwd: project.dir });
      expect(await sentFiles()).toBe(1);
      expect(await runInImage(tag, ["tail", "-n", "1", "/ctx/dir3/file3.txt"])).toBe("changed\n");
    } finally {
      project.remove();
    }
  });
});

describe("stagecraft build --secret, --ssh, --output", () => {
  it("builds with a file secret and an env secret, masks them, and exports a tar", async () => {
    const nonce = randomUUID();
    const fileSecret = `cli-file-${randomUUID()}`;
    const envSecret = `cli-env-${randomUUID()}`;
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS build`,
        // BuildKit caches a step whose input snapshot it has seen, whatever the secrets: the nonce
        // must change the filesystem.
        `RUN echo ${nonce} > /nonce`,
        `RUN --mount=type=secret,id=token --mount=type=secret,id=API_TOKEN mkdir /out && sha256sum /run/secrets/token /run/secrets/API_TOKEN | cut -d' ' -f1 > /out/sums && cat /run/secrets/token`,
        `FROM scratch AS out`,
        `COPY --from=build /out/ /`,
      ].join("\n"),
      "token.txt": fileSecret,
    });
    try {
      const run = await runStagecraft(
        [
          "build",
          ".",
          "--target",
          "out",
          "--progress",
          "plain",
          "--secret",
          "id=token,src=token.txt",
          "--secret",
          "id=API_TOKEN",
          "-o",
          "type=tar,dest=out.tar",
          "--report",
          "report.json",
        ],
        { cwd: project.dir, env: { API_TOKEN: envSecret } },
      );
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain(fileSecret);
      expect(run.stdout, run.stdout).toContain("***");
      expect(readFileSync(join(project.dir, "report.json"), "utf8")).not.toContain(fileSecret);
      const sums = execFileSync("tar", ["-xOf", "out.tar", "sums"], { cwd: project.dir })
        .toString()
        .trim()
        .split("\n");
      expect(sums).toEqual([sha256(fileSecret), sha256(envSecret)]);
    } finally {
      project.remove();
    }
  });

  it("refuses bad --secret, --ssh and --output flags before building", async () => {
    const project = makeProject({ Dockerfile: `FROM ${BUSYBOX} AS a\nFROM ${BUSYBOX} AS b\n` });
    try {
      const cases: [string[], Record<string, string | undefined>, string][] = [
        [["--secret", "token"], {}, 'stagecraft: --secret token: "token" is not a key=value pair'],
        [
          ["--secret", "id=token,src=missing.txt"],
          {},
          `--secret id=token,src=missing.txt: cannot read ${join(project.dir, "missing.txt")} (ENOENT)`,
        ],
        [
          ["--secret", "id=token,env=NOPE_UNSET"],
          {},
          "the environment variable NOPE_UNSET is not set",
        ],
        [["--ssh", "default"], { SSH_AUTH_SOCK: undefined }, "SSH_AUTH_SOCK is not set"],
        [
          ["--ssh", "deploy=Dockerfile"],
          {},
          "is not an agent socket; stagecraft forwards SSH agents, not key files",
        ],
        [
          ["--target", "a,b", "-o", "type=tar,dest=x.tar"],
          {},
          "--output works with one target at a time",
        ],
        [["-o", "type=registry"], {}, "stagecraft exports type=tar and type=local, not registry"],
      ];
      for (const [args, env, message] of cases) {
        const run = await runStagecraft(["build", ".", ...args], { cwd: project.dir, env });
        expect(run.code, args.join(" ")).toBe(2);
        expect(run.stderr).toContain(message);
      }
    } finally {
      project.remove();
    }
  });
});

/** The binary and every shared library it loads (as `ldd` lists them), loader included. */
function sharedLibraries(binary: string): string[] {
  const paths = execFileSync("ldd", [binary])
    .toString()
    .split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  return [binary, ...paths];
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((done) => setTimeout(done, 20));
  if (!check()) throw new Error("timed out waiting");
}

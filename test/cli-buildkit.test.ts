// The CLI on a standalone buildkitd: `--engine buildkit+unix://…` and `buildkit+tcp://…` (TLS files as
// options) for build, plan and engine, and a pool of the main engine with such an address. The
// buildkitd is the test proxy (support/buildkit-proxy.ts): it hands each connection to a Docker
// Engine's BuildKit through POST /grpc, so its worker is moby's and images land in that Engine.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runStagecraft } from "./support/cli.js";
import { startBuildkitProxy, type BuildkitProxy } from "./support/buildkit-proxy.js";
import { BUSYBOX, makeProject, removeImages, runInImage } from "./support/engine.js";
import {
  deleteRepositoryTags,
  poolEngines,
  registryAddress,
  type ExtraEngine,
} from "./support/infra.js";

const id = randomUUID().slice(0, 8);
const PREFIX = `stagecraft-it/bk-pool-${id}`;
const made: string[] = [];
const proxies: BuildkitProxy[] = [];
const projects: (() => void)[] = [];
let unix: BuildkitProxy;
let tls: BuildkitProxy;

beforeAll(async () => {
  unix = await startBuildkitProxy({ unix: true });
  tls = await startBuildkitProxy({ tls: true });
  proxies.push(unix, tls);
});

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  for (const remove of projects) remove();
  await removeImages(made);
});

/** A project whose one target reads its context and a secret, and writes a value of its own. */
function secretProject(nonce: string, greeting: string): { dir: string } {
  const project = makeProject({
    Dockerfile: [
      `FROM ${BUSYBOX} AS final`,
      `COPY hello.txt /hello.txt`,
      `RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-length`,
      `RUN echo ${nonce} > /nonce`,
      ``,
    ].join("\n"),
    "hello.txt": `${greeting}\n`,
  });
  projects.push(project.remove);
  return project;
}

describe("stagecraft on a standalone buildkitd", () => {
  it("build --engine buildkit+unix://: context and secret through the session, image in the Engine", async () => {
    const nonce = randomUUID();
    const secret = `secret-${nonce}`;
    const project = secretProject(nonce, "cli over unix");
    const tag = `sc-it/cli-bk-unix:${nonce}`;
    made.push(tag);
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "-t",
        tag,
        "--secret",
        "id=token,env=TOKEN",
        "--label",
        "org.stagecraft.test=1",
        "--progress",
        "plain",
        "--engine",
        unix.address,
      ],
      { env: { TOKEN: secret } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`1 at a time on BuildKit v0.0.0+unknown at ${unix.address}`);
    expect(run.stdout).not.toContain(secret);
    expect(unix.connections()).toBeGreaterThan(0);
    expect(
      (await runInImage(tag, ["cat", "/hello.txt", "/token-length", "/nonce"])).split("\n"),
    ).toEqual(["cli over unix", String(secret.length), nonce, ""]);
  });

  it("build --engine buildkit+unix:// -o type=local: the files come back through the session", async () => {
    const nonce = randomUUID();
    const project = secretProject(nonce, "exported");
    const dest = join(project.dir, "out");
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "--secret",
        "id=token,env=TOKEN",
        "--progress",
        "quiet",
        "--engine",
        unix.address,
        "-o",
        `type=local,dest=${dest}`,
      ],
      { env: { TOKEN: "t" } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(readFileSync(join(dest, "nonce"), "utf8")).toBe(`${nonce}\n`);
    expect(readFileSync(join(dest, "hello.txt"), "utf8")).toBe("exported\n");
  });

  it("build --engine buildkit+tcp://…,cacert=,cert=,key=: the same over TLS with a client certificate", async () => {
    const files = tls.tls;
    if (files === undefined) throw new Error("the TLS proxy made no certificates");
    const nonce = randomUUID();
    const secret = `secret-${nonce}`;
    const project = secretProject(nonce, "cli over tls");
    const tag = `sc-it/cli-bk-tls:${nonce}`;
    made.push(tag);
    const run = await runStagecraft(
      [
        "build",
        project.dir,
        "-t",
        tag,
        "--secret",
        "id=token,env=TOKEN",
        "--label",
        "org.stagecraft.test=1",
        "--progress",
        "json",
        "--engine",
        `${tls.address},cacert=${files.ca},cert=${files.cert},key=${files.key}`,
      ],
      { env: { TOKEN: secret } },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const started = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { type: string; engine?: { endpoint: string } })
      .find((event) => event.type === "run-started");
    expect(started?.engine?.endpoint).toBe(`${tls.address} (TLS)`);
    expect(
      (await runInImage(tag, ["cat", "/hello.txt", "/token-length", "/nonce"])).split("\n"),
    ).toEqual(["cli over tls", String(secret.length), nonce, ""]);
  });

  it("refuses a TLS address without its client certificate, and a missing TLS file by its option", async () => {
    const files = tls.tls;
    if (files === undefined) throw new Error("the TLS proxy made no certificates");
    const project = secretProject(randomUUID(), "refused");
    const refused = await runStagecraft([
      "build",
      project.dir,
      "--engine",
      `${tls.address},cacert=${files.ca}`,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`BuildKit at ${tls.address} (TLS) did not answer`);
    const missing = await runStagecraft([
      "build",
      project.dir,
      "--engine",
      `${tls.address},cacert=${join(project.dir, "no-ca.pem")}`,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cacert=${join(project.dir, "no-ca.pem")} names no file`);
  });

  it("engine --engine buildkit+unix:// shows the workers, where images go and the platforms", async () => {
    const text = await runStagecraft(["engine", "--engine", unix.address]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`engine:            ${unix.address} (standalone buildkitd`);
    expect(text.stdout).toMatch(/worker: +\S+ \(moby\)/);
    expect(text.stdout).toContain("image store:       the Docker Engine's (moby worker)");
    expect(text.stdout).toMatch(/platforms: +linux\/amd64/);
    const json = await runStagecraft(["engine", "--engine", unix.address, "--format", "json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: "buildkit",
      endpoint: unix.address,
      store: { kind: "docker-engine" },
    });
  });

  it("plan --engine buildkit+unix:// says why it asks the buildkitd no image questions", async () => {
    const project = secretProject(randomUUID(), "plan");
    const run = await runStagecraft(["plan", project.dir, "--engine", unix.address]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("a standalone buildkitd has no image store to ask");
  });
});

describe("a pool of the main engine and a standalone buildkitd", () => {
  let registry: string;
  let pool1: ExtraEngine;
  let toPool1: BuildkitProxy;
  beforeAll(async () => {
    registry = await registryAddress();
    const engines = await poolEngines();
    if (engines[0] === undefined) throw new Error("no pool engine");
    pool1 = engines[0];
    // The buildkitd is pool1's BuildKit, so what it builds lands in pool1, not in the main engine.
    toPool1 = await startBuildkitProxy({ unix: true, socketPath: pool1.socketPath });
    proxies.push(toPool1);
  });
  afterAll(async () => {
    await deleteRepositoryTags(registry, `${PREFIX}/stagecraft-bases/stagecraft/busybox`).catch(
      () => undefined,
    );
    for (const tag of made)
      await pool1.docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
  });

  it("build --engine main=unix://… --engine bk=buildkit+unix://… builds a target on each", async () => {
    const nonce = randomUUID();
    const project = makeProject({
      Dockerfile: [
        `FROM ${BUSYBOX} AS a`,
        `RUN echo a-${nonce} > /out.txt`,
        `FROM ${BUSYBOX} AS b`,
        `RUN echo b-${nonce} > /out.txt`,
        ``,
      ].join("\n"),
    });
    projects.push(project.remove);
    const tags = { a: `sc-it/cli-bk-pool-a:${nonce}`, b: `sc-it/cli-bk-pool-b:${nonce}` };
    made.push(tags.a, tags.b);
    const report = join(project.dir, "pool.json");
    const run = await runStagecraft([
      "build",
      project.dir,
      "--target",
      "a,b",
      "-t",
      `a=${tags.a}`,
      "-t",
      `b=${tags.b}`,
      "--label",
      "org.stagecraft.test=1",
      "--progress",
      "plain",
      "--engine",
      "main=unix:///var/run/docker.sock",
      "--engine",
      `bk=${toPool1.address}`,
      "--registry",
      `${registry}/${PREFIX}`,
      "--report",
      report,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const json = JSON.parse(readFileSync(report, "utf8")) as {
      targets: { target: string; engine: string; status: string }[];
    };
    expect(json.targets.every((target) => target.status === "succeeded")).toBe(true);
    const onBk = json.targets.filter((target) => target.engine === "bk").map((t) => t.target);
    const onMain = json.targets.filter((target) => target.engine === "main").map((t) => t.target);
    expect(onBk).toHaveLength(1);
    expect(onMain).toHaveLength(1);
    expect(toPool1.connections()).toBeGreaterThan(0);
    // bk's target is in pool1's store (its BuildKit is pool1's), main's in the main engine.
    const bkTarget = onBk[0] as "a" | "b";
    const mainTarget = onMain[0] as "a" | "b";
    const inPool1 = await pool1.docker.getImage(tags[bkTarget]).inspect();
    expect(inPool1.Config.Labels).toMatchObject({ "org.stagecraft.target": bkTarget });
    expect(await runInImage(tags[mainTarget], ["cat", "/out.txt"])).toBe(
      `${mainTarget}-${nonce}\n`,
    );
  });
});

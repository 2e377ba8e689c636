// The containerd image store of Docker 26.1 cannot read a context uploaded as a tar through
// POST /build (moby/moby#47717): stagecraft sends a small context through a session there, and
// refuses an explicit tar transfer before sending anything.
import { afterAll, describe, expect, it } from "vitest";
import { makeProject } from "./support/engine.js";
import { runStagecraft } from "./support/cli.js";
import { TEST_ENGINES, extraEngine, removeLabelled } from "./support/infra.js";

const LABEL = ["--label", "org.stagecraft.test=1"];
const removals: (() => void)[] = [];

afterAll(async () => {
  for (const remove of removals) remove();
  const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
  await removeLabelled(c8d.docker);
});

describe("a small context on the containerd image store", () => {
  it("travels through a session by default and builds; a forced tar is refused before sending", async () => {
    const c8d = await extraEngine(TEST_ENGINES.containerdStore.name);
    const project = makeProject({
      Dockerfile: "FROM stagecraft/busybox:latest\nCOPY hello.txt /hello.txt\n",
      "hello.txt": "hello\n",
    });
    removals.push(project.remove);
    const env = { env: { DOCKER_HOST: c8d.host } };

    const auto = await runStagecraft(["build", project.dir, ...LABEL, "--progress", "json"], env);
    expect(auto.stderr).toBe("");
    expect(auto.code).toBe(0);
    const started = auto.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { type: string; context?: { transfer: string } })
      .find((event) => event.type === "run-started");
    expect(started?.context?.transfer).toBe("session");

    const tar = await runStagecraft(
      ["build", project.dir, ...LABEL, "--context-transfer", "tar", "--progress", "plain"],
      env,
    );
    expect(tar.code).not.toBe(0);
    expect(tar.stderr).toContain("cannot read a context uploaded as a tar (moby/moby#47717");
    expect(tar.stderr).not.toContain("failed to read downloaded context");
  });
});

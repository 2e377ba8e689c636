// Integration tests need a real Docker Engine. This makes sure one answers (installing and starting it
// through docker/ensure-engine.sh when this machine allows) and that the seeded base images exist.
// It fails loudly otherwise: integration tests are never skipped. As root it also starts the registries
// and extra engines of support/infra.ts (idempotent: parts that answer are left alone); where it cannot,
// the tests that need a part fail with the command that starts it.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { TEST_ENGINES, extraEngineSocket, removeLabelled } from "./support/infra.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

async function pings(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

export async function setup(): Promise<void> {
  const docker = new Docker();
  if (!(await pings(docker))) {
    try {
      execFileSync("bash", ["docker/ensure-engine.sh"], { cwd: repoRoot, stdio: "inherit" });
    } catch (error) {
      throw new Error(
        "Integration tests need a Docker Engine and none answers. Run `bash docker/ensure-engine.sh` " +
          "(root on Debian) or set DOCKER_HOST to a reachable engine.",
        { cause: error },
      );
    }
  }
  execFileSync("bash", ["docker/seed-images.sh"], { cwd: repoRoot, stdio: "inherit" });
  startTestParts();
}

function startTestParts(): void {
  if (process.getuid?.() !== 0) {
    console.warn(
      "[stagecraft] not root: the registries and extra engines are not started here; tests that need them fail until `sudo bash .ci/setup` has run",
    );
    return;
  }
  const engines = [TEST_ENGINES.containerdStore, ...TEST_ENGINES.pool];
  const commands: string[][] = [
    ["docker/start-registry.sh"],
    ...engines.map((engine) => ["docker/start-engine.sh", engine.name, ...engine.flags]),
  ];
  for (const command of commands) {
    try {
      execFileSync("bash", command, { cwd: repoRoot, stdio: "inherit" });
    } catch {
      // The script said why on stderr; the tests that need this part fail with the command to run.
      console.warn(`[stagecraft] \`bash ${command.join(" ")}\` failed (see above)`);
    }
  }
}

export async function teardown(): Promise<void> {
  await removeLabelled(new Docker());
  for (const engine of [TEST_ENGINES.containerdStore, ...TEST_ENGINES.pool]) {
    const docker = new Docker({ socketPath: extraEngineSocket(engine.name) });
    if (await pings(docker)) await removeLabelled(docker);
  }
}

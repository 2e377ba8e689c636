// Integration tests need a real Docker Engine. This makes sure one answers (installing and starting it
// through docker/ensure-engine.sh when this machine allows) and that the seeded base images exist.
// It fails loudly otherwise: integration tests are never skipped.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { TEST_LABEL } from "./support/engine.js";

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
}

export async function teardown(): Promise<void> {
  const docker = new Docker();
  const containers = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const images = await docker.listImages({ filters: { label: [TEST_LABEL] } });
  await Promise.all(
    images.map((i) =>
      docker
        .getImage(i.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

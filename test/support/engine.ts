import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Docker from "dockerode";

/** Every image and container a test makes carries this label, so teardown can remove them all. */
export const TEST_LABEL = "org.stagecraft.test=1";
export const TEST_LABELS = { "org.stagecraft.test": "1" } as const;

/** The seeded base image (docker/seed-images.sh). */
export const BUSYBOX = "stagecraft/busybox:latest";

export const docker = new Docker();

/** A throw-away directory holding the given files; returns its path and a remover. */
export function makeProject(files: Record<string, string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-it-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes the images a test made (by tag), ignoring ones already gone. */
export async function removeImages(refs: readonly string[]): Promise<void> {
  await Promise.all(
    refs.map((ref) =>
      docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/** Runs a command in a fresh container of the image and returns its stdout (the container is removed). */
export async function runInImage(
  image: string,
  cmd: string[],
  on: Docker = docker,
): Promise<string> {
  const container = await on.createContainer({
    Image: image,
    Cmd: cmd,
    Labels: TEST_LABELS,
    HostConfig: { AutoRemove: false },
  });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: false });
    return demux(logs);
  } finally {
    await container.remove({ force: true });
  }
}

/** Strips Docker's 8-byte stream headers from a non-TTY log buffer. */
function demux(buffer: Buffer): string {
  let out = "";
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return out;
}

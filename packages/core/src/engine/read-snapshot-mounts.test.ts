import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WireWriter } from "../progress/protobuf-wire.js";
import {
  decodeMountsResponse,
  encodeMountsRequest,
  findContainerdSockets,
  layerDirsOfMounts,
} from "./read-snapshot-mounts.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const SNAPSHOTS = "/data/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots";
const text = new TextEncoder();

describe("layerDirsOfMounts", () => {
  // As containerd 1.6.20 answered for a container created from a 4-layer image on Docker 26.1.5.
  const mount = {
    type: "overlay",
    source: "overlay",
    options: [
      "index=off",
      `workdir=${SNAPSHOTS}/23/work`,
      `upperdir=${SNAPSHOTS}/23/fs`,
      `lowerdir=${[22, 21, 20, 19, 2].map((id) => `${SNAPSHOTS}/${id}/fs`).join(":")}`,
    ],
  };

  it("gives the image's layers oldest first, without the container's init layer on top", () => {
    expect(layerDirsOfMounts([mount], 4)).toEqual(
      [2, 19, 20, 21].map((id) => `${SNAPSHOTS}/${id}/fs`),
    );
  });

  it("gives none when the lower directories are not the image's layers and one more", () => {
    expect(layerDirsOfMounts([mount], 5)).toBeUndefined();
    expect(layerDirsOfMounts([mount], 3)).toBeUndefined();
    expect(layerDirsOfMounts([{ ...mount, type: "bind" }], 4)).toBeUndefined();
    expect(layerDirsOfMounts([mount, mount], 4)).toBeUndefined();
    expect(layerDirsOfMounts([], 0)).toBeUndefined();
  });
});

describe("the Snapshots.Mounts messages", () => {
  it("writes the snapshotter as field 1 and the key as field 2", () => {
    const expected = new WireWriter(32);
    expected.bytes(1, text.encode("overlayfs"));
    expected.bytes(2, text.encode("abc"));
    expect(Buffer.from(encodeMountsRequest("overlayfs", "abc"))).toEqual(
      Buffer.from(expected.finish()),
    );
  });

  it("reads each mount's type, source and options, skipping its target", () => {
    const writer = new WireWriter(128);
    writer.message(1, (mount) => {
      mount.bytes(1, text.encode("overlay"));
      mount.bytes(2, text.encode("overlay"));
      mount.bytes(3, text.encode("/ignored"));
      mount.bytes(4, text.encode("index=off"));
      mount.bytes(4, text.encode("lowerdir=/a:/b"));
    });
    expect(decodeMountsResponse(writer.finish())).toEqual([
      { type: "overlay", source: "overlay", options: ["index=off", "lowerdir=/a:/b"] },
    ]);
  });
});

describe("findContainerdSockets", () => {
  /** A /proc holding these processes (pid → argv). */
  function procWith(processes: Record<string, string[]>): string {
    const proc = mkdtempSync(join(tmpdir(), "stagecraft-proc-"));
    dirs.push(proc);
    for (const [pid, argv] of Object.entries(processes)) {
      mkdirSync(join(proc, pid));
      writeFileSync(join(proc, pid, "cmdline"), `${argv.join("\0")}\0`);
    }
    mkdirSync(join(proc, "self"));
    return proc;
  }

  /** A containerd.toml as dockerd writes it for its own containerd. */
  function configFor(root: string, address: string): string {
    const dir = mkdtempSync(join(tmpdir(), "stagecraft-containerd-"));
    dirs.push(dir);
    const file = join(dir, "containerd.toml");
    writeFileSync(
      file,
      [
        `root = ${JSON.stringify(root)}`,
        'state = "/run/x/containerd/daemon"',
        "",
        "[debug]",
        '  address = "/run/x/containerd/containerd-debug.sock"',
        "",
        "[grpc]",
        `  address = ${JSON.stringify(address)}`,
        "  gid = 0",
        "",
      ].join("\n"),
    );
    return file;
  }

  it("finds the containerd dockerd started for this data root, by its config's root", async () => {
    const mine = configFor("/srv/engine/containerd/daemon", "/run/mine/containerd.sock");
    const other = configFor("/var/lib/docker/containerd/daemon", "/run/other/containerd.sock");
    const proc = procWith({
      "10": ["containerd", "--config", other],
      "11": ["/usr/bin/containerd", "--config", mine],
      "12": ["dockerd", "--config", mine],
    });
    expect(await findContainerdSockets("/srv/engine", {}, proc)).toEqual([
      "/run/mine/containerd.sock",
      "/run/containerd/containerd.sock",
    ]);
  });

  it("puts CONTAINERD_ADDRESS first and the system containerd last", async () => {
    const proc = procWith({});
    expect(
      await findContainerdSockets(undefined, { CONTAINERD_ADDRESS: "unix:///run/c.sock" }, proc),
    ).toEqual(["/run/c.sock", "/run/containerd/containerd.sock"]);
  });
});

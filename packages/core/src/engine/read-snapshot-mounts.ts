// The layer directories of an image on the containerd image store, which `docker image inspect`
// does not name there (`GraphDriver.Data` is null on Docker 26.1). containerd's overlayfs
// snapshotter keeps each layer as a directory (`…/snapshots/N/fs`) and names them, for an active
// snapshot, in the mount it would make: `lowerdir=` lists the layers below, the nearest first.
// Asked of the engine's own containerd over gRPC (Snapshots.Mounts, read-only).
import { readdir, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { eachField, WIRE_BYTES, WireReader, WireWriter } from "../progress/protobuf-wire.js";
import { GRPC_UNKNOWN, GrpcError, openGrpcConnection } from "./buildkit/grpc-connection.js";

/** One mount as containerd describes it (containerd/api types/mount.proto). */
export interface SnapshotMount {
  type: string;
  source: string;
  options: string[];
}

const utf8 = new TextEncoder();

/** `MountsRequest` (containerd/api services/snapshots/v1/snapshots.proto): snapshotter 1, key 2. */
export function encodeMountsRequest(snapshotter: string, key: string): Uint8Array {
  const writer = new WireWriter(64 + key.length);
  writer.bytes(1, utf8.encode(snapshotter));
  writer.bytes(2, utf8.encode(key));
  return writer.finish();
}

/** `MountsResponse`: repeated Mount mounts 1; Mount: type 1, source 2, target 3, options 4. */
export function decodeMountsResponse(bytes: Uint8Array): SnapshotMount[] {
  const mounts: SnapshotMount[] = [];
  eachField(new WireReader(bytes), (field, wire, reader) => {
    if (field !== 1 || wire !== WIRE_BYTES) return false;
    const mount: SnapshotMount = { type: "", source: "", options: [] };
    eachField(reader.nested(), (f, w, r) => {
      if (w !== WIRE_BYTES) return false;
      if (f === 1) mount.type = r.string();
      else if (f === 2) mount.source = r.string();
      else if (f === 4) mount.options.push(r.string());
      else return false;
      return true;
    });
    mounts.push(mount);
    return true;
  });
  return mounts;
}

/**
 * The directories of an image's layers, oldest first, from the mounts of a container's snapshot on
 * containerd's overlayfs snapshotter; undefined unless they are one overlay mount whose lower
 * directories are the image's `layers` and, on top, the container's `-init` layer (moby
 * daemon/containerd/image_snapshot.go `PrepareSnapshot` makes `ID-init` on the image, then `ID`).
 */
export function layerDirsOfMounts(
  mounts: readonly SnapshotMount[],
  layers: number,
): string[] | undefined {
  const [mount] = mounts;
  if (mounts.length !== 1 || mount?.type !== "overlay") return undefined;
  const lower = mount.options.find((option) => option.startsWith("lowerdir="));
  if (lower === undefined) return undefined;
  const dirs = lower.slice("lowerdir=".length).split(":");
  if (dirs.length !== layers + 1 || dirs.some((dir) => dir === "")) return undefined;
  return dirs.slice(1).reverse();
}

/**
 * The gRPC sockets of the containerd that may hold an engine's snapshots, on this machine:
 * `CONTAINERD_ADDRESS` (ctr's variable), the one dockerd started for this data root (found by its
 * `--config` file, whose `root` is `DATA-ROOT/containerd/daemon`; its socket is beside it), the
 * system one (`/run/containerd/containerd.sock`).
 */
export async function findContainerdSockets(
  dataRoot: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  proc = "/proc",
): Promise<string[]> {
  const sockets: string[] = [];
  const address = env.CONTAINERD_ADDRESS;
  if (address !== undefined && address !== "") sockets.push(address.replace(/^unix:\/\//, ""));
  if (dataRoot !== undefined) {
    const root = `${dataRoot}/containerd/daemon`;
    const pids = await readdir(proc).catch(() => [] as string[]);
    for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
      const args = await readFile(join(proc, pid, "cmdline"), "utf8").catch(() => "");
      const argv = args.split("\0");
      if (!(argv[0] ?? "").endsWith("containerd")) continue;
      const config = argv[argv.indexOf("--config") + 1];
      if (!argv.includes("--config") || config === undefined) continue;
      const text = await readFile(config, "utf8").catch(() => "");
      if (!text.split("\n").includes(`root = ${JSON.stringify(root)}`)) continue;
      const grpc = /^\[grpc\]\n(?:[ \t]+.*\n)*?[ \t]+address = "([^"]+)"/m.exec(text)?.[1];
      sockets.push(grpc ?? join(dirname(config), "containerd.sock"));
    }
  }
  sockets.push("/run/containerd/containerd.sock");
  return [...new Set(sockets)];
}

/** containerd's `Snapshots.Mounts` of `key` in `namespace`, asked on the socket at `path`. */
export async function askSnapshotMounts(
  path: string,
  request: { namespace: string; snapshotter: string; key: string },
  signal?: AbortSignal,
): Promise<SnapshotMount[]> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const connection = await openGrpcConnection({ kind: "socket", socket });
  try {
    const call = connection.bidi("/containerd.services.snapshots.v1.Snapshots/Mounts", {
      "containerd-namespace": request.namespace,
    });
    const answers: Uint8Array[] = [];
    call.onMessage((message) => answers.push(message));
    const onAbort = (): void => {
      call.cancel();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      call.send(encodeMountsRequest(request.snapshotter, request.key));
      call.end();
      await call.done;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    const [answer] = answers;
    if (answer === undefined)
      throw new GrpcError(GRPC_UNKNOWN, "Snapshots/Mounts answered no message");
    return decodeMountsResponse(answer);
  } finally {
    connection.close();
  }
}

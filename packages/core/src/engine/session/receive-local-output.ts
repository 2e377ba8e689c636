import { createWriteStream, type WriteStream } from "node:fs";
import { chmod, link, lstat, mkdir, symlink, utimes } from "node:fs/promises";
import { once } from "node:events";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { goFileKind, goModeToUnix } from "./go-file-mode.js";
import { PacketType, type Packet, type Stat } from "./session-protos.js";

/**
 * Receives a `type=local` output into `dir` with fsutil's packet protocol (fsutil `receive.go`): the
 * daemon sends one STAT per entry (directories before their contents) and an empty STAT, this side
 * asks for each regular file's bytes with REQ{id} and gets DATA packets ending in an empty one, then
 * sends FIN. Every path must stay inside `dir`, also through symlinks the output itself made.
 */
export async function receiveLocalOutput(
  call: ServerDuplexStream<Packet, Packet>,
  dir: string,
): Promise<void> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const files = new Map<number, { stream: WriteStream; stat: Stat; path: string }>();
  const links = new Set<string>();
  const dirTimes: { path: string; stat: Stat }[] = [];
  let nextId = 0;
  // Mutated inside the closure below, so kept in an object the compiler does not narrow.
  const state = { walkEnded: false, finished: false };

  const finishIfDone = async (): Promise<void> => {
    if (!state.walkEnded || files.size > 0 || state.finished) return;
    state.finished = true;
    // Directory times last: writing their contents changed them.
    for (const entry of dirTimes.reverse()) await setTimes(entry.path, entry.stat);
    call.write({ type: PacketType.FIN, ID: 0, data: new Uint8Array() });
  };

  try {
    for await (const packet of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Packet>) {
      switch (packet.type) {
        case PacketType.STAT: {
          const stat = packet.stat;
          if (stat === undefined || stat === null || stat.path === "") {
            state.walkEnded = true;
            await finishIfDone();
            break;
          }
          const id = nextId++;
          const path = insidePath(root, stat.path, links);
          const kind = goFileKind(stat.mode);
          if (kind === "dir") {
            await mkdir(path, { recursive: true });
            await chmod(path, goModeToUnix(stat.mode));
            dirTimes.push({ path, stat });
          } else if (kind === "symlink") {
            await symlink(stat.linkname, path);
            links.add(stat.path);
          } else if (kind === "file" && stat.linkname !== "") {
            await link(insidePath(root, stat.linkname, links), path);
          } else if (kind === "file") {
            const stream = createWriteStream(path, { mode: goModeToUnix(stat.mode) });
            files.set(id, { stream, stat, path });
            call.write({ type: PacketType.REQ, ID: id, data: new Uint8Array() });
          }
          // Devices, pipes and sockets are skipped, as fsutil does without privileges.
          break;
        }
        case PacketType.DATA: {
          const file = files.get(packet.ID);
          if (file === undefined) throw new Error(`data for unknown file id ${packet.ID}`);
          if (packet.data.length > 0) {
            if (!file.stream.write(packet.data)) await once(file.stream, "drain");
            break;
          }
          file.stream.end();
          await once(file.stream, "finish");
          await chmod(file.path, goModeToUnix(file.stat.mode));
          await setTimes(file.path, file.stat);
          files.delete(packet.ID);
          await finishIfDone();
          break;
        }
        case PacketType.ERR:
          throw new Error(
            `the daemon failed sending the output: ${Buffer.from(packet.data).toString()}`,
          );
        case PacketType.FIN:
          break;
        default:
          throw new Error(`unexpected packet type ${packet.type}`);
      }
    }
    if (!state.finished) throw new Error("the daemon ended the output before sending every file");
    call.end();
  } catch (error) {
    for (const file of files.values()) file.stream.destroy();
    call.write({
      type: PacketType.ERR,
      ID: 0,
      data: Buffer.from((error as Error).message),
    });
    call.end();
    throw error;
  }
}

/** The absolute path of `entry` under `root`; throws when it would leave `root` (`..`, absolute, via a symlink). */
function insidePath(root: string, entry: string, links: ReadonlySet<string>): string {
  const path = resolve(root, entry);
  const rel = relative(root, path);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
    throw new Error(`output path "${entry}" is outside the destination directory`);
  }
  const parts = rel.split(sep);
  for (let i = 1; i < parts.length; i++) {
    if (links.has(parts.slice(0, i).join("/"))) {
      throw new Error(`output path "${entry}" goes through a symlink`);
    }
  }
  return join(root, rel);
}

async function setTimes(path: string, stat: Stat): Promise<void> {
  const seconds = Number(stat.modTime) / 1e9;
  if (!Number.isFinite(seconds) || seconds <= 0) return;
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  await utimes(path, seconds, seconds);
}

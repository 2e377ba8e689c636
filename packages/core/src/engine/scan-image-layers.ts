// The files each layer of a built image adds, for the image-aware half of ShippedBuildTools. On an
// engine on this machine, in place: overlay2's layer directories (`GraphDriver.Data`), else those
// of containerd's overlayfs snapshotter (`Engine.findLayerDirs`), else the layer blobs of a
// containerd content store (only the tar headers count); any other engine exports the image
// (`docker save`). The same paths and sizes every way. Measured on a 1.02 GB, 4-layer image
// (bench/image-check.mjs, docs/decisions/image-scan.md, load 8-12): overlay2's directories 0.6 s,
// the snapshotter's 1.3-1.9 s, the content store 1.8-3.5 s, the export 42-49 s (the daemon streams
// it at 20-60 MB/s).
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import type { Engine, ImageDetails } from "./engine.js";

/** One layer of an image, oldest first. */
export interface ScannedLayer {
  /** 0 for the oldest layer. */
  index: number;
  /** The regular files, links and devices it adds, absolute (`/usr/bin/gcc`); deletions left out. */
  paths: string[];
  /** The sizes of what it adds, as the engine counts a layer's size (hard links once). */
  bytes: number;
  /**
   * Why the layer's files could not be read (a zstd-compressed layer, a blob that is no tar), when
   * they could not: its `paths` are then empty and say nothing of what it adds.
   */
  unreadable?: string;
}

/** What `scanImageLayers` found, and how. */
export interface ImageScan {
  /**
   * `layer-dirs`: the engine's layer directories were read (overlay2's, or containerd's overlayfs
   * snapshotter's); `content-store`: the layer blobs of its containerd content store were read in
   * place; `export`: the image was exported.
   */
  method: "layer-dirs" | "content-store" | "export";
  layers: ScannedLayer[];
}

/**
 * Lists the files of each layer of an image. Reads the layer directories when the engine is on this
 * machine and names them (overlay2) or can find them (containerd's overlayfs snapshotter), else its
 * layer blobs when it keeps them on this machine (a containerd content store), else the export.
 *
 * @example
 * const scan = await scanImageLayers(new DockerEngine(), "sha256:…");
 * console.log(scan.layers.map((layer) => `${layer.index}: ${layer.paths.length} files`));
 * @throws EngineError when the engine cannot inspect or export the image.
 */
export async function scanImageLayers(
  engine: Pick<
    Engine,
    "local" | "inspectImage" | "exportImage" | "contentStoreDirs" | "findLayerDirs"
  >,
  ref: string,
  options: { signal?: AbortSignal | undefined; method?: ImageScan["method"] } = {},
): Promise<ImageScan> {
  const wanted = options.method ?? (engine.local ? "in-place" : "export");
  if (wanted !== "export") {
    const image = await engine.inspectImage(ref, options.signal);
    const dirs =
      image?.layerDirs ??
      (image?.diffIds === undefined || wanted === "content-store"
        ? undefined
        : await engine.findLayerDirs?.(ref, image.diffIds.length, options.signal));
    if (dirs !== undefined && wanted !== "content-store") {
      try {
        return {
          method: "layer-dirs",
          layers: await Promise.all(dirs.map((dir, index) => readLayerDir(dir, index))),
        };
      } catch (error) {
        // Not readable here (another user, another machine's paths): the blobs or the export.
        if (engine.exportImage === undefined) throw error;
      }
    }
    if (image !== undefined && wanted !== "layer-dirs") {
      for (const store of (await engine.contentStoreDirs?.(options.signal)) ?? []) {
        const layers = await readContentStore(store, image);
        if (layers !== undefined) return { method: "content-store", layers };
      }
    }
  }
  if (engine.exportImage === undefined) {
    throw new Error("the engine can neither name its layer directories nor export an image");
  }
  const stream = await engine.exportImage(ref, options.signal);
  return { method: "export", layers: await readImageExport(stream) };
}

/** The media types of an image index: Docker's manifest list and OCI's index. */
const INDEX_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
]);

/** What an image manifest or index says, as far as the scan reads it. */
interface ManifestBlob {
  mediaType?: string;
  manifests?: {
    digest?: string;
    platform?: { os?: string; architecture?: string; variant?: string };
  }[];
  layers?: { digest?: string }[];
}

/**
 * Each layer of the image from the blobs of a containerd content store (`blobs/sha256/HEX`), the
 * layer tars as they are kept (gzip, plain or zstd) read as an export's are, all at once; undefined
 * when the store does not hold the image: its id, on the containerd image store the digest of its
 * manifest or index, names no blob there whose bytes have that digest, the manifest's layers do not
 * match the image's `RootFS.Layers`, or a layer blob is missing or unreadable (the export then
 * reads the image, or says why it cannot).
 */
async function readContentStore(
  store: string,
  image: ImageDetails,
): Promise<ScannedLayer[] | undefined> {
  let manifest = await readManifestBlob(store, image.id);
  if (manifest !== undefined && (INDEX_TYPES.has(manifest.mediaType ?? "") || manifest.manifests)) {
    // An index: the manifest for the image's own platform (attestations are unknown/unknown).
    const entry = manifest.manifests?.find(
      ({ platform }) =>
        platform?.os === image.os &&
        platform?.architecture === image.architecture &&
        (platform?.variant ?? "") === (image.variant ?? ""),
    );
    manifest =
      entry?.digest === undefined ? undefined : await readManifestBlob(store, entry.digest);
  }
  const digests = (manifest?.layers ?? []).map((layer) => layer.digest ?? "");
  if (manifest?.layers === undefined || digests.some((digest) => !isSha256(digest))) {
    return undefined;
  }
  if (image.diffIds !== undefined && image.diffIds.length !== digests.length) return undefined;
  try {
    const layers = await Promise.all(
      digests.map((digest) =>
        readLayerTar(
          createReadStream(join(store, "sha256", digest.slice("sha256:".length)), {
            highWaterMark: 1024 * 1024,
          }),
        ),
      ),
    );
    return layers.map((layer, index) =>
      "unreadable" in layer
        ? { index, paths: [], bytes: 0, unreadable: layer.unreadable }
        : { index, paths: layer.paths, bytes: layer.bytes },
    );
  } catch {
    // A blob gone (garbage-collected, never fetched) or not readable by this user.
    return undefined;
  }
}

function isSha256(digest: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(digest);
}

/** The manifest or index blob of this digest, its bytes checked against it; undefined when absent. */
async function readManifestBlob(store: string, digest: string): Promise<ManifestBlob | undefined> {
  if (!isSha256(digest)) return undefined;
  const hex = digest.slice("sha256:".length);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(store, "sha256", hex));
  } catch {
    return undefined;
  }
  if (createHash("sha256").update(bytes).digest("hex") !== hex) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as ManifestBlob | null;
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** overlay2's whiteouts: a character device 0:0 named after the deleted file, or `.wh.` files. */
async function readLayerDir(root: string, index: number): Promise<ScannedLayer> {
  const paths: string[] = [];
  const inodes = new Set<number>();
  let bytes = 0;
  const pending = [""];
  while (pending.length > 0) {
    const dir = pending.pop() ?? "";
    const entries = await readdir(join(root, dir), { withFileTypes: true });
    const stats = await Promise.all(
      entries.map((entry) =>
        entry.isDirectory()
          ? Promise.resolve(undefined)
          : lstat(join(root, dir, entry.name), { bigint: false }),
      ),
    );
    for (const [position, entry] of entries.entries()) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        pending.push(path);
        continue;
      }
      const stat = stats[position];
      if (stat === undefined) continue;
      if (entry.isCharacterDevice() && stat.rdev === 0) continue;
      if (entry.name.startsWith(".wh.")) continue;
      paths.push(path);
      // moby pkg/directory.Size: every non-directory's size, a hard-linked inode once.
      if (stat.nlink > 1) {
        if (inodes.has(stat.ino)) continue;
        inodes.add(stat.ino);
      }
      bytes += stat.size;
    }
  }
  paths.sort();
  return { index, paths, bytes };
}

/**
 * Reads a `docker save` tar: `manifest.json` names the layer tars in order (`blobs/sha256/…` or
 * `ID/layer.tar`); each layer tar's headers give its paths. Blobs that are no tar (the config,
 * the OCI manifests) are skipped.
 */
async function readImageExport(stream: Readable): Promise<ScannedLayer[]> {
  const outer = extract();
  const byName = new Map<string, LayerTar>();
  let manifest: { Layers?: string[] }[] | undefined;
  const done = new Promise<void>((resolve, reject) => {
    outer.on("entry", (header, entry, next) => {
      if (header.name === "manifest.json") {
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: unknown) => {
          chunks.push(chunk as Buffer);
        });
        entry.on("end", () => {
          manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof manifest;
          next();
        });
        return;
      }
      // Every file may be a layer, however small: a compressed one holding a single short file
      // can be under the 512 bytes of one tar header.
      if (header.type !== "file" || header.size === 0) {
        entry.on("end", () => {
          next();
        });
        entry.resume();
        return;
      }
      readLayerTar(entry as unknown as AsyncIterable<Buffer>).then(
        (layer) => {
          byName.set(header.name, layer);
          next();
        },
        (error: unknown) => {
          next(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    outer.on("finish", resolve);
    outer.on("error", reject);
    stream.on("error", reject);
  });
  stream.pipe(outer);
  await done;
  const layers = manifest?.[0]?.Layers ?? [];
  return layers.map((name, index) => {
    const layer = byName.get(name) ?? { unreadable: `the export holds no ${name}` };
    return "unreadable" in layer
      ? { index, paths: [], bytes: 0, unreadable: layer.unreadable }
      : { index, paths: layer.paths, bytes: layer.bytes };
  });
}

/** A layer tar's paths and sizes, or why it could not be read. */
type LayerTar = { paths: string[]; bytes: number } | { unreadable: string };

/** The frame magic of zstd (RFC 8878 §3.1.1), which BuildKit can compress layers with. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * The paths and sizes a layer tar adds, the tar plain or gzip-compressed (the containerd image
 * store of Docker 26 exports the layers BuildKit made as their gzip blobs: measured, every layer of
 * a build on it); why not when it is neither (the config and the OCI manifests are blobs of the
 * export too, and no layers).
 */
async function readLayerTar(source: AsyncIterable<Buffer>): Promise<LayerTar> {
  const inner = extract();
  const paths: string[] = [];
  let bytes = 0;
  const state = { isTar: true, why: "it is neither a tar nor a gzip-compressed tar" };
  const finished = new Promise<void>((resolve) => {
    inner.on("entry", (header, entry, next) => {
      const name = header.name.replace(/^\.?\/*/, "").replace(/\/$/, "");
      const base = name.slice(name.lastIndexOf("/") + 1);
      if (header.type !== "directory" && name !== "" && !base.startsWith(".wh.")) {
        paths.push(`/${name}`);
        if (header.type === "file") bytes += header.size;
        else if (header.type === "symlink") bytes += Buffer.byteLength(header.linkname);
      }
      entry.on("end", () => {
        next();
      });
      entry.resume();
    });
    inner.on("finish", resolve);
    inner.on("error", () => {
      // Not a tar (a config or manifest blob): the rest of it is read and dropped.
      state.isTar = false;
      resolve();
    });
  });
  const readable = (): boolean => state.isTar;
  /** Where the blob's bytes go, chosen by its first bytes; undefined for one that cannot be read. */
  const open = (head: Buffer): NodeJS.WritableStream | undefined => {
    if (head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) {
      // Node 20's zlib has no zstd (zlib.createZstdDecompress came with Node 22.15).
      state.isTar = false;
      state.why = `it is compressed with zstd, which the zlib of Node ${process.version} cannot decompress`;
      return undefined;
    }
    if (head[0] !== 0x1f || head[1] !== 0x8b) return inner;
    // 256 kB pieces: 16 kB ones (the default) cost calls, 1 MB ones the collector's time (a 1 GB
    // image read from the content store at load ~9: 3.3 s with 64 kB, 2.6-3.5 s with 1 MB, 1.8-2.4 s).
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    state.why = "it is gzip-compressed but holds no tar";
    gunzip.on("error", () => {
      // Not gzip after all, or cut short: not a layer that can be read.
      state.isTar = false;
      state.why = "its gzip stream is corrupt or cut short";
      inner.destroy(new Error("not a gzip stream"));
    });
    // The tar ended early (not a tar): what is left is decompressed and dropped.
    inner.on("error", () => gunzip.resume());
    gunzip.pipe(inner);
    return gunzip;
  };
  let sink: NodeJS.WritableStream | undefined;
  // The first bytes say what the blob is, and a chunk may hold fewer than zstd's four.
  let head = Buffer.alloc(0);
  for await (const chunk of source) {
    if (!state.isTar) continue;
    let data = chunk;
    if (sink === undefined) {
      head = Buffer.concat([head, chunk]);
      if (head.length < ZSTD_MAGIC.length) continue;
      sink = open(head);
      if (sink === undefined) continue;
      data = head;
    }
    // Decompressing may fall behind the export: wait rather than hold a layer in memory.
    // (`readable()`: the handlers above may have cleared `isTar` while a chunk was written.)
    if (!sink.write(data) && sink !== inner && readable()) {
      await once(sink, "drain").catch(() => undefined);
    }
  }
  if (sink === undefined && state.isTar && head.length > 0) {
    sink = open(head);
    sink?.write(head);
  }
  if (sink === undefined) inner.end(undefined);
  else if (state.isTar || sink !== inner) sink.end();
  await finished;
  if (!state.isTar) return { unreadable: state.why };
  paths.sort();
  return { paths, bytes };
}

import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { attributeLayerFiles } from "../checks/attribute-layer-files.js";
import { FakeEngine, type FakeBuildScript } from "../testing/fake-engine.js";
import type { ImageDetails } from "./engine.js";
import { scanImageLayers } from "./scan-image-layers.js";

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A layer directory holding these files (path → content). */
function layerDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stagecraft-layer-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function builtImage(script: FakeBuildScript): Promise<{ engine: FakeEngine; id: string }> {
  const engine = new FakeEngine({ app: script });
  const { imageId } = await engine.build({
    context: () => Readable.from([]),
    dockerfile: "Dockerfile",
    target: "app",
    buildId: "scan",
  });
  return { engine, id: imageId };
}

/**
 * A `docker save` tar (OCI layout, as Docker 25+ writes it) of these layers (a Buffer: the blob as
 * it is); `gzip` compresses the layers it names, as the containerd image store exports the layers
 * BuildKit made.
 */
async function savedImage(
  layers: (Record<string, string | Buffer> | Buffer)[],
  gzip: readonly number[] = [],
): Promise<Buffer> {
  const tarOf = async (entries: (archive: ReturnType<typeof pack>) => void): Promise<Buffer> => {
    const archive = pack();
    entries(archive);
    archive.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  const blobs = await Promise.all(
    layers.map((files) =>
      Buffer.isBuffer(files)
        ? Promise.resolve(files)
        : tarOf((archive) => {
            archive.entry({ name: "usr/", type: "directory" });
            for (const [path, content] of Object.entries(files))
              archive.entry({ name: path }, content);
          }),
    ),
  );
  for (const index of gzip) blobs[index] = gzipSync(blobs[index] ?? Buffer.alloc(0));
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: {} }).padEnd(600);
  return await tarOf((archive) => {
    // The manifest comes last, as docker writes it: the layers must be read before it is known.
    archive.entry({ name: "blobs/sha256/config" }, config);
    blobs.forEach((blob, index) => archive.entry({ name: `blobs/sha256/layer${index}` }, blob));
    archive.entry(
      { name: "manifest.json" },
      JSON.stringify([
        {
          Config: "blobs/sha256/config",
          Layers: blobs.map((_, index) => `blobs/sha256/layer${index}`),
        },
      ]),
    );
  });
}

/** A layer tar holding these files (path → content). */
async function layerTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const archive = pack();
  archive.entry({ name: "usr/", type: "directory" });
  for (const [path, content] of Object.entries(files)) archive.entry({ name: path }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Writes a blob into a containerd content store's `blobs` directory; returns its digest. */
function putBlob(store: string, bytes: Buffer | string): string {
  const hex = createHash("sha256").update(bytes).digest("hex");
  mkdirSync(join(store, "sha256"), { recursive: true });
  writeFileSync(join(store, "sha256", hex), bytes);
  return `sha256:${hex}`;
}

/** A content store holding an image manifest of these layer blobs; its digest is the image's id. */
function storedImage(blobs: Buffer[]): { store: string; id: string; layers: string[] } {
  const store = mkdtempSync(join(tmpdir(), "stagecraft-content-"));
  dirs.push(store);
  const layers = blobs.map((blob) => putBlob(store, blob));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { digest: putBlob(store, "{}") },
    layers: layers.map((digest) => ({ digest })),
  });
  return { store, id: putBlob(store, manifest), layers };
}

/** An engine on this machine whose image store is these content stores; it cannot export. */
function storeEngine(stores: string[], image: Partial<ImageDetails> & { id: string }) {
  const exported: string[] = [];
  return {
    exported,
    engine: {
      local: true,
      inspectImage: () =>
        Promise.resolve({ sizeBytes: 0, tags: [], labels: {}, created: "", ...image }),
      contentStoreDirs: () => Promise.resolve(stores),
      exportImage: (ref: string) => {
        exported.push(ref);
        return Promise.reject(new Error("no export here"));
      },
    },
  };
}

describe("scanImageLayers", () => {
  it("reads each overlay2 layer directory: files, links once, whiteouts left out", async () => {
    const base = layerDir({ "bin/sh": "#!", "usr/bin/apt-get": "apt" });
    const tools = layerDir({ "usr/bin/gcc": "gcc-binary", "usr/lib/.wh.old": "" });
    linkSync(join(tools, "usr/bin/gcc"), join(tools, "usr/bin/cc"));
    symlinkSync("gcc", join(tools, "usr/bin/c99"));
    const { engine, id } = await builtImage({ layerDirs: [base, tools] });
    const scan = await scanImageLayers(engine, id);
    expect(scan).toEqual({
      method: "layer-dirs",
      layers: [
        { index: 0, paths: ["/bin/sh", "/usr/bin/apt-get"], bytes: 5 },
        // gcc and its hard link cc count once; the symlink counts its target's length.
        { index: 1, paths: ["/usr/bin/c99", "/usr/bin/cc", "/usr/bin/gcc"], bytes: 10 + 3 },
      ],
    });
  });

  it("reads an export's layer tars when the engine names no layer directories", async () => {
    const saved = await savedImage([{ "bin/sh": "#!" }, { "usr/bin/make": "make" }]);
    const { engine, id } = await builtImage({ exportTar: () => Readable.from([saved]) });
    const scan = await scanImageLayers(engine, id);
    expect(scan).toEqual({
      method: "export",
      layers: [
        { index: 0, paths: ["/bin/sh"], bytes: 2 },
        { index: 1, paths: ["/usr/bin/make"], bytes: 4 },
      ],
    });
  });

  it("reads gzip-compressed layers of an export, however small, and skips a blob that is no tar", async () => {
    // Random, so that the compressed layer is as big as it and decompressing has to keep up.
    const big = randomBytes(3 * 1024 * 1024);
    const saved = await savedImage(
      [{ "bin/sh": "#!" }, { "usr/bin/gcc": "gcc", "data/big": big }, { "usr/bin/make": "m" }],
      [1, 2],
    );
    const { engine, id } = await builtImage({ exportTar: () => Readable.from([saved]) });
    const scan = await scanImageLayers(engine, id);
    expect(scan.layers).toEqual([
      { index: 0, paths: ["/bin/sh"], bytes: 2 },
      { index: 1, paths: ["/data/big", "/usr/bin/gcc"], bytes: big.length + 3 },
      { index: 2, paths: ["/usr/bin/make"], bytes: 1 },
    ]);
  });

  it("says which layers it could not read and why: zstd, a blob that is no tar", async () => {
    // A zstd frame's magic (RFC 8878) and a little more: nothing here can decompress it.
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(600)]);
    const saved = await savedImage(
      [{ "bin/sh": "#!" }, zstd, Buffer.from("x".repeat(600)), { "usr/bin/gcc": "gcc" }],
      [3],
    );
    // Three bytes a chunk: a layer's first chunk holds fewer bytes than zstd's magic.
    const chunks = Array.from({ length: Math.ceil(saved.length / 3) }, (_, index) =>
      saved.subarray(index * 3, index * 3 + 3),
    );
    for (const exported of [[saved], chunks]) {
      const { engine, id } = await builtImage({ exportTar: () => Readable.from(exported) });
      const scan = await scanImageLayers(engine, id);
      expect(scan.layers).toEqual([
        { index: 0, paths: ["/bin/sh"], bytes: 2 },
        {
          index: 1,
          paths: [],
          bytes: 0,
          unreadable: `it is compressed with zstd, which the zlib of Node ${process.version} cannot decompress`,
        },
        {
          index: 2,
          paths: [],
          bytes: 0,
          unreadable: "it is neither a tar nor a gzip-compressed tar",
        },
        { index: 3, paths: ["/usr/bin/gcc"], bytes: 3 },
      ]);
    }
  });

  it("reads the layer blobs of a containerd content store in place: the export's paths and sizes", async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const files = [
      { "bin/sh": "#!" },
      { "usr/bin/gcc": "gcc", "data/big": big },
      { "usr/bin/make": "m" },
    ];
    const tars = await Promise.all(files.map((layer) => layerTar(layer)));
    // As BuildKit keeps them: the base layer plain (as `docker load` stored it), its own gzip.
    const { store, id } = storedImage(
      tars.map((tar, index) => (index === 0 ? tar : gzipSync(tar))),
    );
    const elsewhere = mkdtempSync(join(tmpdir(), "stagecraft-content-"));
    dirs.push(elsewhere);
    const { engine, exported } = storeEngine([elsewhere, store], {
      id,
      diffIds: ["sha256:a", "sha256:b", "sha256:c"],
    });
    const scan = await scanImageLayers(engine, "app");
    expect(exported).toEqual([]);
    const saved = await savedImage(files, [1, 2]);
    const { engine: exporter, id: built } = await builtImage({
      exportTar: () => Readable.from([saved]),
    });
    expect(scan).toEqual({
      method: "content-store",
      layers: (await scanImageLayers(exporter, built)).layers,
    });
    expect(scan.layers[1]).toEqual({
      index: 1,
      paths: ["/data/big", "/usr/bin/gcc"],
      bytes: big.length + 3,
    });
  });

  it("takes the image's own platform from an index in the content store", async () => {
    const { store, layers } = storedImage([await layerTar({ "usr/bin/make": "make" })]);
    const other = putBlob(
      store,
      JSON.stringify({
        layers: [{ digest: putBlob(store, await layerTar({ "usr/bin/cc": "cc" })) }],
      }),
    );
    const own = putBlob(store, JSON.stringify({ layers: layers.map((digest) => ({ digest })) }));
    const index = putBlob(
      store,
      JSON.stringify({
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { digest: other, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
          { digest: own, platform: { os: "linux", architecture: "amd64" } },
        ],
      }),
    );
    const { engine } = storeEngine([store], {
      id: index,
      os: "linux",
      architecture: "amd64",
      variant: "",
    });
    expect(await scanImageLayers(engine, "app")).toEqual({
      method: "content-store",
      layers: [{ index: 0, paths: ["/usr/bin/make"], bytes: 4 }],
    });
  });

  it("exports when the content store does not hold the image as inspected", async () => {
    const tar = await layerTar({ "usr/bin/make": "make" });
    const cases: {
      name: string;
      image: () => { store: string; id: string; diffIds?: string[] };
    }[] = [
      {
        name: "a layer blob is missing",
        image: () => {
          const stored = storedImage([tar, tar.subarray(0, 1024)]);
          rmSync(join(stored.store, "sha256", (stored.layers[1] ?? "").slice("sha256:".length)));
          return stored;
        },
      },
      {
        name: "the manifest's bytes are not its digest",
        image: () => {
          const stored = storedImage([tar]);
          writeFileSync(join(stored.store, "sha256", stored.id.slice("sha256:".length)), "{}");
          return stored;
        },
      },
      {
        name: "its layers are not the image's",
        image: () => ({ ...storedImage([tar]), diffIds: ["sha256:a", "sha256:b"] }),
      },
    ];
    for (const { name, image } of cases) {
      const { store, ...details } = image();
      const { engine, exported } = storeEngine([store], details);
      await expect(scanImageLayers(engine, "app"), name).rejects.toThrow("no export here");
      expect(exported, name).toEqual(["app"]);
    }
  });

  it("asks the engine for the layer directories inspect does not name, before its content store", async () => {
    const base = layerDir({ "bin/sh": "#!" });
    const tools = layerDir({ "usr/bin/make": "make" });
    const asked: [string, number][] = [];
    const { engine, exported } = storeEngine([], {
      id: "sha256:1",
      diffIds: ["sha256:a", "sha256:b"],
    });
    const scan = await scanImageLayers(
      {
        ...engine,
        contentStoreDirs: () =>
          Promise.reject(new Error("not asked when the directories are found")),
        findLayerDirs: (ref: string, layers: number) => {
          asked.push([ref, layers]);
          return Promise.resolve([base, tools]);
        },
      },
      "app",
    );
    expect(asked).toEqual([["app", 2]]);
    expect(exported).toEqual([]);
    expect(scan).toEqual({
      method: "layer-dirs",
      layers: [
        { index: 0, paths: ["/bin/sh"], bytes: 2 },
        { index: 1, paths: ["/usr/bin/make"], bytes: 4 },
      ],
    });
  });

  it("exports when the layer directories cannot be read", async () => {
    const saved = await savedImage([{ "usr/bin/pip": "pip" }]);
    const { engine, id } = await builtImage({
      layerDirs: [join(tmpdir(), "stagecraft-no-such-layer")],
      exportTar: () => Readable.from([saved]),
    });
    expect((await scanImageLayers(engine, id)).method).toBe("export");
  });
});

describe("attributeLayerFiles", () => {
  it("names each layer's stage and line, skipping config-only history entries", () => {
    const layers = [0, 1, 2, 3].map((index) => ({ index, paths: [`/layer${index}`] }));
    const history = [
      {
        createdBy: "/bin/sh -c #(nop) ADD file:abc in / ",
        origin: "base",
        stage: null,
        line: null,
      },
      { createdBy: '/bin/sh -c #(nop)  CMD ["bash"]', origin: "base", stage: null, line: null },
      { createdBy: "RUN /bin/sh -c apt-get install gcc", origin: "stage", stage: "build", line: 3 },
      { createdBy: "ENV PATH=/x", origin: "stage", stage: "build", line: 4 },
      { createdBy: "WORKDIR /src", origin: "stage", stage: "build", line: 5 },
      { createdBy: "USER app", origin: "stage", stage: "runtime", line: 8 },
      { createdBy: "COPY / /", origin: "stage", stage: "runtime", line: 9 },
    ] as const;
    expect(attributeLayerFiles(layers, history)).toEqual([
      { index: 0, line: undefined, stage: undefined, paths: ["/layer0"] },
      { index: 1, line: 3, stage: "build", paths: ["/layer1"] },
      { index: 2, line: 5, stage: "build", paths: ["/layer2"] },
      { index: 3, line: 9, stage: "runtime", paths: ["/layer3"] },
    ]);
  });
});

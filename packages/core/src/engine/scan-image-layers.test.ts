import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { attributeLayerFiles } from "../checks/attribute-layer-files.js";
import { FakeEngine, type FakeBuildScript } from "../testing/fake-engine.js";
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

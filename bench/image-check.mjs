// node bench/image-check.mjs (after `pnpm build`; under flock /tmp/stagecraft-bench.lock): the
// image-aware half of `stagecraft build --check` on a ~1 GB image: scanImageLayers (the overlay2
// layer directories read in place, and the `docker save` export for engines that do not name
// them), attributeLayerFiles and checkDockerfile with the layers. Goal (issue 16): under 3 s.
// Builds the image once (labelled org.stagecraft.bench=image-check) and removes it at the end.
// ROUNDS (default 5) medians; the export is slower, EXPORT_ROUNDS (default 1).
// IMAGE_CHECK_HOST=unix:///run/stagecraft/engines/c8d.sock runs it on another engine, into
// results/image-check-NAME.json: on a containerd image store the layer directories its containerd
// names (through a container created and removed each round) and its content store's layer blobs
// (ROUNDS each), and the export.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { analyzeDockerfile, DockerEngine, runBuild } from "../packages/core/dist/index.js";
import { attributeLayerFiles, checkDockerfile } from "../packages/core/dist/checks/index.js";
import { scanImageLayers } from "../packages/core/dist/engine/index.js";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const EXPORT_ROUNDS = Number(process.env.EXPORT_ROUNDS ?? 1);
const GOAL_MS = 3000;
// ~1 GB over 3 layers of 4,000 files each, on the seeded Debian image (117 MB, ~5,900 files), and
// a make binary copied in as a tool to find.
const DOCKERFILE = `FROM stagecraft/debian:bookworm AS runtime
RUN mkdir -p /data/a && cd /data/a && i=0; while [ $i -lt 4000 ]; do head -c 75000 /dev/urandom > f$i; i=$((i+1)); done
RUN mkdir -p /data/b && cd /data/b && i=0; while [ $i -lt 4000 ]; do head -c 75000 /dev/urandom > f$i; i=$((i+1)); done
ENV MODE=bench
RUN mkdir -p /data/c && cd /data/c && i=0; while [ $i -lt 4000 ]; do head -c 75000 /dev/urandom > f$i; i=$((i+1)); done && cp /bin/true /usr/bin/make
USER 1000
`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = mkdtempSync(join(tmpdir(), "stagecraft-bench-image-check-"));
writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
const host = process.env.IMAGE_CHECK_HOST;
const engine = new DockerEngine(host === undefined ? {} : { env: { DOCKER_HOST: host } });
const resultsName =
  host === undefined ? "image-check" : `image-check-${basename(host).replace(/\.sock$/, "")}`;
const analysis = analyzeDockerfile(DOCKERFILE, { targets: ["runtime"] });
let imageId;
try {
  const outcome = await runBuild({
    engine,
    analysis,
    context: { dir, dockerfile: join(dir, "Dockerfile") },
    labels: { "org.stagecraft.bench": "image-check" },
  });
  if (outcome.status !== "succeeded") throw new Error(`the bench image did not build`);
  const target = outcome.report.targets[0];
  imageId = target.imageId;
  const sizeBytes = target.sizeBytes;

  const once = async (method) => {
    const start = performance.now();
    const scan = await scanImageLayers(engine, imageId, { method });
    if (scan.method !== method)
      throw new Error(`asked for ${method}, the scan took ${scan.method}`);
    const scannedAt = performance.now();
    const layers = attributeLayerFiles(scan.layers, target.layers ?? []);
    const report = checkDockerfile(DOCKERFILE, {
      targets: ["runtime"],
      imageLayers: new Map([["runtime", layers]]),
    });
    const end = performance.now();
    const found = report.findings.filter(
      (finding) => finding.rule === "ShippedBuildTools" && finding.message.includes("layer "),
    );
    if (!found.some((finding) => finding.message.includes("/usr/bin/make"))) {
      throw new Error("the scan did not find /usr/bin/make");
    }
    return {
      totalMs: end - start,
      scanMs: scannedAt - start,
      files: scan.layers.reduce((sum, layer) => sum + layer.paths.length, 0),
      layers: scan.layers.length,
    };
  };

  const loadAtStart = readFileSync("/proc/loadavg", "utf8").trim();
  const results = {};
  for (const [method, rounds] of [
    ["layer-dirs", ROUNDS],
    ...(host === undefined ? [] : [["content-store", ROUNDS]]),
    ["export", EXPORT_ROUNDS],
  ]) {
    const runs = [];
    for (let round = 0; round < rounds; round += 1) runs.push(await once(method));
    results[method] = {
      rounds,
      medianMs: Math.round(median(runs.map((run) => run.totalMs))),
      scanMedianMs: Math.round(median(runs.map((run) => run.scanMs))),
      files: runs[0].files,
      layers: runs[0].layers,
    };
  }
  const row = {
    benchmark: "image-check",
    date: new Date().toISOString(),
    loadAtStart,
    load: readFileSync("/proc/loadavg", "utf8").trim(),
    engine: host ?? "default",
    imageBytes: sizeBytes,
    goalMs: GOAL_MS,
    ...results,
  };
  console.log(
    `image ${(sizeBytes / 1e9).toFixed(2)} GB, ${results.export.layers} layers, ${results.export.files} files${host === undefined ? "" : ` on ${host}`}`,
  );
  for (const [method, result] of Object.entries(results)) {
    console.log(
      `${method}: scan + attribution + check ${result.medianMs} ms (scan ${result.scanMedianMs} ms), median of ${result.rounds}; goal ${GOAL_MS} ms ${result.medianMs < GOAL_MS ? "met" : "NOT met"}`,
    );
  }
  writeFileSync(
    new URL(`results/${resultsName}.json`, import.meta.url),
    `${JSON.stringify(row, null, 2)}\n`,
  );
} finally {
  if (imageId !== undefined) await engine.removeImage(imageId).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

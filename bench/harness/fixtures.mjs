// Build contexts the scenarios generate into a scratch directory.
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const BUSYBOX = "stagecraft/busybox:latest";

/** examples/demo with `ARG NONCE` consumed by the first step of its base stage. */
export function makeDemoContext(dir) {
  cpSync(join(EXAMPLES, "demo"), dir, { recursive: true });
  const dockerfile = readFileSync(join(dir, "Dockerfile"), "utf8");
  const from = "FROM ${BASE_IMAGE} AS base\n";
  if (!dockerfile.includes(from)) throw new Error(`examples/demo/Dockerfile has no "${from}"`);
  writeFileSync(
    join(dir, "Dockerfile"),
    dockerfile.replace(from, `${from}ARG NONCE\nRUN echo "nonce $NONCE" > /nonce\n`),
  );
  return dir;
}

/** A base stage whose step takes `baseSeconds`, and `leaves` targets t1… that each take `leafSeconds`. */
export function makeFanOutContext(dir, { leaves, baseSeconds, leafSeconds }) {
  mkdirSync(dir, { recursive: true });
  const stages = [
    `FROM ${BUSYBOX} AS base`,
    "ARG NONCE",
    `RUN echo "nonce $NONCE" && sleep ${baseSeconds} && echo base > /base`,
  ];
  for (let leaf = 1; leaf <= leaves; leaf += 1) {
    stages.push("", `FROM base AS t${leaf}`, `RUN sleep ${leafSeconds} && echo t${leaf} > /leaf`);
  }
  writeFileSync(join(dir, "Dockerfile"), stages.join("\n") + "\n");
  return dir;
}

/**
 * A context of `dirs` × `filesPerDir` random files of `fileBytes` each (50 × 100 × 10 KiB = 50 MB
 * in 5,000 files by default), copied whole into a base stage that four targets a–d build on.
 */
export function makeContextCopyContext(dir, { dirs = 50, filesPerDir = 100, fileBytes = 10_240 }) {
  mkdirSync(dir, { recursive: true });
  for (let d = 0; d < dirs; d += 1) {
    const sub = join(dir, `dir${String(d).padStart(2, "0")}`);
    mkdirSync(sub);
    for (let f = 0; f < filesPerDir; f += 1) {
      writeFileSync(join(sub, `file${String(f).padStart(3, "0")}.bin`), randomBytes(fileBytes));
    }
  }
  const stages = [
    `FROM ${BUSYBOX} AS base`,
    "ARG NONCE",
    "COPY . /ctx",
    `RUN echo "nonce $NONCE" && find /ctx -type f | wc -l`,
  ];
  for (const target of ["a", "b", "c", "d"]) {
    stages.push("", `FROM base AS ${target}`, `RUN echo ${target} > /target`);
  }
  writeFileSync(join(dir, "Dockerfile"), stages.join("\n") + "\n");
  return dir;
}

/** A copy of examples/NAME, so that the edit runs never touch the repository. */
export function copyExample(name, dir) {
  cpSync(join(EXAMPLES, name), dir, {
    recursive: true,
    filter: (source) => !/\/(node_modules|dist|dist-test)(\/|$)/.test(source),
  });
  return dir;
}

/**
 * The ci-cache project: a busybox base stage (`ARG NONCE`, `payloadKB` of /dev/urandom, a shell loop
 * of `baseIterations`) and three targets t1–t3 on it, each a loop of `leafIterations` and a file of
 * its own. Only the seeded busybox image; no step needs the network.
 */
export function makeCiCacheContext(dir, { payloadKB, baseIterations, leafIterations }) {
  mkdirSync(dir, { recursive: true });
  const loop = (count) => `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); done`;
  const stages = [
    `FROM ${BUSYBOX} AS base`,
    "ARG NONCE",
    `RUN echo "nonce $NONCE" > /nonce && head -c ${payloadKB * 1024} /dev/urandom > /payload && ${loop(baseIterations)}`,
  ];
  for (const leaf of ["t1", "t2", "t3"]) {
    stages.push(
      "",
      `FROM base AS ${leaf}`,
      `RUN ${loop(leafIterations)}; echo ${leaf} > /leaf && head -c 262144 /dev/urandom > /${leaf}.bin`,
    );
  }
  writeFileSync(join(dir, "Dockerfile"), stages.join("\n") + "\n");
  return dir;
}

// Bundles the CLI (packages/cli/dist/main.js, after `tsc -b`) with its dependencies into
// dist/bin/stagecraft-bundle.cjs, and puts the launcher (src/launcher.cts) beside it as
// dist/bin/stagecraft.cjs, the `stagecraft` bin. One file starts faster than ~300 modules resolved
// and compiled one by one (a cached one-target build: ~0.21 s from dist/main.js, ~0.16 s bundled),
// and one CommonJS script can run from V8's code cache (another ~13 ms).
//
// The libraries only some commands need are bundled apart (CHUNKS): the main bundle `require`s
// them by name and the launcher runs their bundle, through a code cache of its own, the first time
// one is required. They hold third-party code only, so no module of stagecraft's exists twice (one
// `StagecraftError` class for `instanceof`). docs/decisions/cli-start-up.md has the numbers.
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..");
const core = join(cli, "..", "core");
const outdir = join(cli, "dist", "bin");
rmSync(outdir, { recursive: true, force: true });

/** Each chunk: its file's name, the packages in it, and the package.json folder that depends on them. */
const CHUNKS = [
  // The BuildKit session's gRPC server and its protobuf codec (a build with --secret, --ssh, …).
  { name: "session", packages: ["@grpc/grpc-js", "protobufjs"], from: core },
  // Compose files for `stagecraft bake`.
  { name: "yaml", packages: ["yaml"], from: core },
  // The stage graph's layout in an HTML report.
  { name: "dagre", packages: ["@dagrejs/dagre"], from: cli },
  // The structured log of --log-file.
  { name: "pino", packages: ["pino"], from: cli },
];

const common = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  legalComments: "linked",
  // Without comments and indentation the bundle is a third smaller to read and hash on every start;
  // names are kept, so a stack trace still says which function failed.
  minifyWhitespace: true,
  // The launcher runs the bundle as a vm.Script, where `import()` has no loader to call ("A dynamic
  // import callback was not specified"): lazy imports become require() calls, and imports of
  // stagecraft's own modules are evaluated on first use, inside the bundle.
  supported: { "dynamic-import": false },
  metafile: true,
  logLevel: "warning",
};

const main = "stagecraft-bundle.cjs";
const outputs = [
  await build({
    ...common,
    entryPoints: [join(cli, "dist", "main.js")],
    outfile: join(outdir, main),
    external: CHUNKS.flatMap((chunk) => chunk.packages),
  }),
];
// `stagecraft check` runs a bundle of its own: main.js with the check command in place of run-cli.js
// (src/run-check.ts), so that it holds only the modules a check runs. Stagecraft's own modules only
// declare, so they are marked free of side effects: esbuild then leaves out the modules whose exports
// the check does not use (through the core's index, the whole engine and scheduler, and with them
// node:http, node:crypto, node:zlib …). A check that asks the engine imports its code when it does.
const checkBundle = "stagecraft-check.cjs";
const ownModules = [join(cli, "dist"), join(core, "dist")];
outputs.push(
  await build({
    ...common,
    entryPoints: [join(cli, "dist", "main.js")],
    outfile: join(outdir, checkBundle),
    external: CHUNKS.flatMap((chunk) => chunk.packages),
    plugins: [
      {
        name: "check-only",
        setup(build) {
          const entry = join(cli, "dist", "main.js");
          build.onResolve({ filter: /^(\.|@stagecraft\/)/ }, async (args) => {
            if (args.pluginData === "check-only") return undefined;
            const wanted =
              args.path === "./run-cli.js" && args.importer === entry
                ? "./run-check.js"
                : args.path;
            const { path, errors } = await build.resolve(wanted, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: "check-only",
            });
            if (errors.length > 0) return { errors };
            const own = ownModules.some((dir) => path.startsWith(dir + sep));
            return own && path !== entry ? { path, sideEffects: false } : { path };
          });
        },
      },
    ],
  }),
);
for (const chunk of CHUNKS) {
  // The chunk's exports: each package's module by its name, as the main bundle requires it.
  const entry = `module.exports = {${chunk.packages
    .map((name) => `${JSON.stringify(name)}: require(${JSON.stringify(name)})`)
    .join(", ")}};\n`;
  outputs.push(
    await build({
      ...common,
      stdin: { contents: entry, resolveDir: chunk.from, sourcefile: `${chunk.name}-chunk.cjs` },
      outfile: join(outdir, `stagecraft-${chunk.name}.cjs`),
    }),
  );
}

const manifest = {
  main: { file: main, hash: finish(main) },
  check: { file: checkBundle, hash: finish(checkBundle) },
  chunks: CHUNKS.map((chunk) => {
    const file = `stagecraft-${chunk.name}.cjs`;
    return { file, hash: finish(file), packages: chunk.packages };
  }),
};

// What the main and check bundles require from outside must be Node's or a chunk's.
const chunked = new Set(manifest.chunks.flatMap((chunk) => chunk.packages));
const imports = [outputs[0], outputs[1]].flatMap((result) =>
  Object.values(result?.metafile.outputs ?? {}).flatMap((output) => output.imports),
);
for (const { path, external } of imports) {
  if (external && !chunked.has(path) && !/^(node:)?[a-z_/0-9]+$/.test(path)) {
    throw new Error(`a bundle requires "${path}", which is neither Node's nor in a chunk`);
  }
}

// The launcher names code caches after each bundle's content and finds the chunks (launcher.cts).
const launcher = join(outdir, "stagecraft.cjs");
const launcherCode = readFileSync(join(cli, "dist", "launcher.cjs"), "utf8");
if (launcherCode.split('"STAGECRAFT_BUNDLES"').length !== 2) {
  throw new Error("dist/launcher.cjs does not hold the bundle manifest placeholder exactly once");
}
writeFileSync(
  launcher,
  launcherCode.replace('"STAGECRAFT_BUNDLES"', JSON.stringify(JSON.stringify(manifest))),
);
chmodSync(launcher, 0o755);

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const sizes = outputs.map((result) =>
  Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(".cjs")),
);
console.log(
  `bundled the CLI: ${sizes.map(([path, { bytes }]) => `${path.split("/").pop()} ${kib(bytes)}`).join(", ")}`,
);

/** Makes a bundle something the launcher can run (see below); returns its SHA-256. */
function finish(file) {
  const path = join(outdir, file);
  // The launcher compiles the bundle as a function body, where a `#!` line is a syntax error.
  const code = readFileSync(path, "utf8")
    .replace(/^#![^\n]*\n/, "")
    // Dependencies' bundled code holds raw control characters in string literals (@dagrejs/dagre a
    // U+0001, yaml its CST markers): written as a \xNN escape they mean the same there, and nothing
    // else in a bundle can hold them.
    .replace(
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
  // The launcher reads it as Latin-1 (one byte per character, no UTF-8 decoding): esbuild escapes
  // every non-ASCII character in code, and with the comments gone none may be left.
  const nonAscii = /[^\t\n\r\x20-\x7e]/.exec(code);
  if (nonAscii !== null) {
    throw new Error(
      `${file} has a character other than printable ASCII, tab or newline at offset ${nonAscii.index}`,
    );
  }
  if (/[^\w$.]import\(/.test(code)) {
    throw new Error(`${file} still holds an import(), which fails under the launcher's vm.Script`);
  }
  writeFileSync(path, code);
  return createHash("sha256").update(code).digest("hex");
}

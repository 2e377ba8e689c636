// Bundles the CLI (packages/cli/dist/main.js, after `tsc -b`) with its dependencies into
// dist/bin/stagecraft-bundle.cjs, and puts the launcher (src/launcher.cts) beside it as
// dist/bin/stagecraft.cjs, the `stagecraft` bin. One file starts faster than ~300 modules resolved
// and compiled one by one (a cached one-target build: ~0.21 s from dist/main.js, ~0.16 s bundled),
// and one CommonJS script can run from V8's code cache (another ~13 ms). Code only some runs need
// (the BuildKit session with gRPC, pino) is in the bundle but only evaluated when used.
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(cli, "dist", "bin");
rmSync(outdir, { recursive: true, force: true });

const bundle = join(outdir, "stagecraft-bundle.cjs");
const result = await build({
  entryPoints: [join(cli, "dist", "main.js")],
  outfile: bundle,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  legalComments: "linked",
  // Without comments and indentation the bundle is a third smaller to read and hash on every start;
  // names are kept, so a stack trace still says which function failed.
  minifyWhitespace: true,
  // The launcher runs the bundle as a vm.Script, where `import()` has no loader to call ("A dynamic
  // import callback was not specified"): lazy imports of Node's modules become require() calls.
  supported: { "dynamic-import": false },
  metafile: true,
  logLevel: "warning",
});
// The launcher compiles the bundle as a function body, where a `#!` line is a syntax error.
const code = readFileSync(bundle, "utf8")
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
    `the bundle has a character other than printable ASCII, tab or newline at offset ${nonAscii.index}`,
  );
}
if (/[^\w$.]import\(/.test(code)) {
  throw new Error("the bundle still holds an import(), which fails under the launcher's vm.Script");
}
writeFileSync(bundle, code);

// The launcher names its code caches after the bundle's content (see launcher.cts).
const launcher = join(outdir, "stagecraft.cjs");
const hash = createHash("sha256").update(code).digest("hex");
const launcherCode = readFileSync(join(cli, "dist", "launcher.cjs"), "utf8");
if (launcherCode.split('"STAGECRAFT_BUNDLE_HASH"').length !== 2) {
  throw new Error("dist/launcher.cjs does not hold the bundle hash placeholder exactly once");
}
writeFileSync(launcher, launcherCode.replace('"STAGECRAFT_BUNDLE_HASH"', JSON.stringify(hash)));
chmodSync(launcher, 0o755);

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const bytes = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(".cjs"))?.[1]
  .bytes;
console.log(`bundled the CLI: dist/bin/stagecraft-bundle.cjs ${kib(bytes ?? 0)}`);

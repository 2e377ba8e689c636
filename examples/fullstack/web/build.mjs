// Builds the static site: strips comments and blank lines from CSS and JS, names each asset after
// its content hash, rewrites index.html to point at the hashed names, and writes a manifest.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const out = "dist";
mkdirSync(out, { recursive: true });
const minify = (text) =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n");

let html = readFileSync("src/index.html", "utf8");
const manifest = {};
for (const asset of ["app.css", "app.js"]) {
  const body = minify(readFileSync(`src/${asset}`, "utf8"));
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 10);
  const name = asset.replace(/\.(\w+)$/, `.${hash}.$1`);
  writeFileSync(`${out}/${name}`, body);
  html = html.replace(`"${asset}"`, `"${name}"`);
  manifest[asset] = name;
}
writeFileSync(`${out}/index.html`, html);
writeFileSync(`${out}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
console.log(`built ${Object.keys(manifest).length + 1} files into ${out}/`);

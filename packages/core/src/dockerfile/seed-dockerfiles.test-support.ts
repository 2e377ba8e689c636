// Seeds for the fuzz tests, all from the repository: the example projects' Dockerfiles, the
// Dockerfiles the recorded daemon streams were made with, and the parser's case texts.
import { readdirSync, readFileSync } from "node:fs";
import { PARSER_CASES, PARSER_ERRORS } from "./parser-cases.test-support.js";

const folders = [
  new URL("../../../../examples/", import.meta.url),
  new URL("../progress/__fixtures__/buildkit-streams/", import.meta.url),
];

function isDockerfile(name: string): boolean {
  return name === "Dockerfile" || name.endsWith(".Dockerfile");
}

/** Every `Dockerfile` and `*.Dockerfile` under the folders above, in a stable order. */
function readRepositoryDockerfiles(): string[] {
  const texts: string[] = [];
  const walk = (folder: URL): void => {
    const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name !== "node_modules") {
        walk(new URL(`${entry.name}/`, folder));
      } else if (entry.isFile() && isDockerfile(entry.name)) {
        texts.push(readFileSync(new URL(entry.name, folder), "utf8"));
      }
    }
  };
  for (const folder of folders) walk(folder);
  return texts;
}

/** The seed texts: the repository's Dockerfiles, then the parser cases (accepted and refused). */
export function readSeedDockerfiles(): string[] {
  return [
    ...readRepositoryDockerfiles(),
    ...PARSER_CASES.map((entry) => entry.text),
    ...PARSER_ERRORS.map((entry) => entry.text),
  ];
}

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { runCli } from "../run-cli.js";
import { createMemoryIo } from "../renderers/memory-io.test-support.js";

// Real-world Dockerfiles under their projects' licences, outside the repository
// (test/conformance-setup.ts).
const corpus = new URL("corpus/dockerfiles/", pathToFileURL(`${inject("sharedDir")}/`));

interface CorpusEntry {
  file: string;
  stages: unknown[];
  defaultTarget: string;
  reachable: string[];
}

const entries = JSON.parse(readFileSync(new URL("expected.json", corpus), "utf8")) as CorpusEntry[];

describe("stagecraft plan --format json on the real-world corpus", () => {
  it("has the 17 files", () => {
    expect(entries).toHaveLength(17);
  });

  it.each(entries)("$file: the corpus schema (and more)", async (entry) => {
    const io = { ...createMemoryIo(), cwd: corpus.pathname } as ReturnType<typeof createMemoryIo>;
    const code = await runCli(["plan", "-f", entry.file, "--format", "json"], io);
    expect(code, io.stderr.text()).toBe(0);
    const plan = JSON.parse(io.stdout.text()) as Record<string, unknown>;
    expect(plan.stages).toEqual(entry.stages);
    expect(plan.defaultTarget).toBe(entry.defaultTarget);
    expect(plan.reachable).toEqual(entry.reachable);
  });
});

import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Unit tests run against the core's source, so they never depend on a stale build.
const coreSource = (path: string): string =>
  fileURLToPath(new URL(`packages/core/src/${path}`, import.meta.url));
const coreAliases = [
  { find: /^@stagecraft\/core$/, replacement: coreSource("index.ts") },
  ...["dockerfile", "progress", "report", "engine", "testing"].map((subpath) => ({
    find: new RegExp(`^@stagecraft/core/${subpath}$`),
    replacement: coreSource(`${subpath}/index.ts`),
  })),
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          alias: coreAliases,
          include: ["packages/*/src/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/global-setup.ts"],
          // Testcontainers runs built images; there is no Ryuk image here (nothing can be pulled), and the
          // tests remove what they start themselves.
          env: { TESTCONTAINERS_RYUK_DISABLED: "true" },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One engine, two cores: files run one after another so timings inside a test stay meaningful.
          fileParallelism: false,
        },
      },
    ],
  },
});

import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

// Unit and conformance tests run against the core's source, so they never depend on a stale build.
const coreSource = (path: string): string =>
  fileURLToPath(new URL(`packages/core/src/${path}`, import.meta.url));
const coreAliases = [
  { find: /^@stagecraft\/core$/, replacement: coreSource("index.ts") },
  { find: /^@stagecraft\/core\/errors$/, replacement: coreSource("errors.ts") },
  ...[
    "dockerfile",
    "progress",
    "report",
    "checks",
    "bake",
    "placement",
    "pool",
    "engine",
    "testing",
  ].map((subpath) => ({
    find: new RegExp(`^@stagecraft/core/${subpath}$`),
    replacement: coreSource(`${subpath}/index.ts`),
  })),
];
const conformanceFiles = "packages/*/src/**/*.conformance.test.ts";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          alias: coreAliases,
          include: ["packages/*/src/**/*.test.ts"],
          // Every input a unit test reads is in the repository; the suites made of other projects'
          // files are the conformance project's.
          exclude: [...configDefaults.exclude, conformanceFiles],
          environment: "node",
        },
      },
      {
        test: {
          // BuildKit's parser vectors and the real-world Dockerfile corpus, kept outside the
          // repository (STAGECRAFT_SHARED_DIR, default ../shared): `npm run conformance`.
          name: "conformance",
          alias: coreAliases,
          include: [conformanceFiles],
          environment: "node",
          globalSetup: ["test/conformance-setup.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/global-setup.ts"],
          // Testcontainers runs built images; there is no Ryuk image here (nothing can be pulled), and the
          // tests remove what they start themselves. No stage size is remembered between runs of the
          // CLI (a file in ~/.cache would make a test's probes depend on what ran before it).
          env: { TESTCONTAINERS_RYUK_DISABLED: "true", STAGECRAFT_CACHE_DIR: "" },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One engine, two cores: files run one after another so their builds do not compete.
          fileParallelism: false,
        },
      },
    ],
  },
});

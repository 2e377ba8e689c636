// @ts-check
import { builtinModules } from "node:module";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const pureFolders = [
  "dockerfile",
  "stages",
  "plan",
  "progress",
  "report",
  "checks",
  "placement",
].map((folder) => `packages/core/src/${folder}/**/*.ts`);

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/node_modules/**", "coverage/**", "bench/results/**", "examples/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ["./tsconfig.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "ExportAllDeclaration",
          message: "Use explicit named re-exports, not `export *`.",
        },
      ],
    },
  },
  {
    files: pureFolders,
    ignores: ["**/*.test.ts", "**/*.test-support.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              // Every Node built-in, with or without `node:` (fs, path, http, https, net, tls,
              // child_process, stream, crypto, os, worker_threads …).
              group: ["node:*", ...builtinModules],
              message: "Pure folders do no I/O: take strings and objects, return values.",
            },
            {
              // The libraries stagecraft uses for I/O today (package.json of core, cli and test):
              // the session's gRPC and its wire codec, logging, tar, ignore files, concurrency, and
              // the Docker clients of the tests.
              group: [
                ...["@grpc/grpc-js", "protobufjs", "pino", "tar-fs", "@balena/dockerignore"],
                ...["p-limit", "dockerode", "docker-modem", "testcontainers"],
              ],
              message:
                "Only engine/, context/ and scheduler/ talk to the outside or schedule work; pure folders get their results as values.",
            },
            {
              group: ["**/engine/**", "**/scheduler/**", "**/context/**", "**/testing/**"],
              message: "Pure folders import nothing from the I/O layers or the test engine.",
            },
            {
              group: ["@stagecraft/*"],
              message: "Import the module itself: the package root pulls in the I/O layers.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Plain scripts (benchmarks, config) run on Node; TypeScript-checked code does not need this rule.
    files: ["**/*.js", "**/*.mjs"],
    rules: { "no-undef": "off" },
  },
  {
    // CommonJS TypeScript (the bin's launcher): `import x = require(…)` is how it imports.
    files: ["**/*.cts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);

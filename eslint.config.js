// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const pureFolders = ["dockerfile", "stages", "plan", "progress", "report"].map(
  (folder) => `packages/core/src/${folder}/**/*.ts`,
);

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
              group: ["node:*", "fs", "path", "child_process", "net", "http"],
              message: "Pure folders do no I/O.",
            },
            {
              group: ["dockerode", "docker-modem", "tar-fs"],
              message: "Only engine/ and context/ talk to the outside.",
            },
            {
              group: ["**/engine/**", "**/scheduler/**", "**/context/**"],
              message: "Pure folders import nothing from the I/O layers.",
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

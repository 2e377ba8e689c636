import type { DockerfileInstruction } from "../dockerfile/ast.js";
import { expandShellWord } from "../dockerfile/expand-words.js";
import { toLowerGo } from "../dockerfile/go/strings.js";
import { parseInstruction } from "../dockerfile/parse-instructions.js";
import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import { locationOf } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";

/** Token formats whose shape alone gives them away, with what they are. */
const TOKEN_FORMATS: readonly (readonly [RegExp, string])[] = [
  [/^gh[pousr]_[A-Za-z0-9]{36,}$/, "a GitHub token"],
  [/^github_pat_[A-Za-z0-9_]{22,}$/, "a GitHub token"],
  [/^glpat-[A-Za-z0-9_-]{20,}$/, "a GitLab token"],
  [/^xox[abposr]-[A-Za-z0-9-]{10,}$/, "a Slack token"],
  [/^(?:AKIA|ASIA)[0-9A-Z]{16}$/, "an AWS access key id"],
  [/^sk_(?:live|test)_[A-Za-z0-9]{16,}$/, "a Stripe key"],
  [/^sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}$/, "an API secret key"],
  [/^AIza[0-9A-Za-z_-]{35}$/, "a Google API key"],
  [/^npm_[A-Za-z0-9]{36}$/, "an npm token"],
  [/^pypi-[A-Za-z0-9_-]{50,}$/, "a PyPI token"],
  [/^hf_[A-Za-z0-9]{30,}$/, "a Hugging Face token"],
  [/^dop_v1_[a-f0-9]{64}$/, "a DigitalOcean token"],
  [/^-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/, "a JSON Web Token"],
  [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@$]+@/, "a URL with a password"],
];

/** Names that say the value is a secret (broader than BuildKit's word-bounded list). */
const SECRET_WORDS =
  /(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|auth|credential|private[_-]?key|access[_-]?key|client[_-]?key)/i;

/** What a literal value looks like when it is a secret, or undefined. */
export function describeSecretValue(key: string, value: string): string | undefined {
  for (const [pattern, what] of TOKEN_FORMATS) if (pattern.test(value)) return what;
  if (!SECRET_WORDS.test(key) || /(?:_file|_path|_dir|_url|_version)$/i.test(key)) return undefined;
  if (value.length < 16 || /\s/.test(value) || /^[./~]/.test(value) || value.includes("://"))
    return undefined;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((pattern) =>
    pattern.test(value),
  ).length;
  if (classes < 2 || !/[0-9]/.test(value) || entropy(value) < 3.5) return undefined;
  return "a random secret";
}

/** Shannon entropy in bits per character. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * SecretValueInArgOrEnv: an `ARG` default or `ENV` value written out literally (no `$`) that looks
 * like a token or key, anywhere in the file (it is in the repository either way). The value itself
 * is never repeated in the message.
 */
export function checkSecretValues(analysis: DockerfileAnalysis, emit: Emit): void {
  const escapeToken = analysis.graph.escapeToken;
  const check = (
    node: DockerfileInstruction,
    instruction: "ARG" | "ENV",
    pairs: readonly { key: string; value: string | undefined }[],
    stage: string | undefined,
  ): void => {
    for (const { key, value } of pairs) {
      if (value === undefined || value.length < 10 || value.includes("$")) continue;
      let literal: string;
      try {
        literal = expandShellWord(value, NO_ENV, { escapeToken }).value;
      } catch {
        continue;
      }
      const what = describeSecretValue(key, literal);
      if (what === undefined) continue;
      const id = toLowerGo(key);
      emit({
        rule: "SecretValueInArgOrEnv",
        message: `${instruction} ${key} holds a literal value that looks like ${what}: it is in the Dockerfile and in the image's history`,
        fix: `Remove the value from the Dockerfile, revoke it, and read it in RUN --mount=type=secret,id=${id} (build --secret id=${id},env=${key}).`,
        location: locationOf(node.range),
        stage,
        comments: node.prevComment,
      });
    }
  };
  // The meta ARGs (before the first FROM), then every stage's ARG and ENV, already typed.
  for (const node of analysis.ast.children) {
    const keyword = toLowerGo(node.keyword);
    if (keyword === "from") break;
    if (keyword !== "arg") continue;
    let instruction;
    try {
      instruction = parseInstruction(node);
    } catch {
      continue;
    }
    if (instruction.kind === "arg") check(node, "ARG", instruction.args, undefined);
  }
  for (const stage of analysis.graph.stages) {
    for (const instruction of stage.instructions) {
      if (instruction.kind === "arg") check(instruction.node, "ARG", instruction.args, stage.id);
      else if (instruction.kind === "env")
        check(instruction.node, "ENV", instruction.pairs, stage.id);
    }
  }
}

const NO_ENV: ReadonlyMap<string, string> = new Map();

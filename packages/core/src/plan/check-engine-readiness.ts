import type { Instruction } from "../dockerfile/instructions.js";
import type { DockerfileAnalysis } from "./analyze-dockerfile.js";

/** The rules of {@link checkEngineReadiness}, one per way an engine can refuse a build before it runs. */
export type EngineCheckRule =
  /** A base or `--from` image the engine does not have. */
  | "ImageNotInEngine"
  /** A reference pinned by digest whose manifest the engine does not have (a tag alone does not count). */
  | "DigestNotInEngine"
  /** A `# syntax=` directive: the engine resolves a frontend image before it reads the Dockerfile. */
  | "SyntaxFrontendImage"
  /** `RUN --network=host` without the `network.host` entitlement. */
  | "NetworkHostNotAllowed"
  /** `RUN --security=insecure`, which `POST /build` cannot ask the entitlement for. */
  | "SecurityInsecureNotAllowed";

/** One thing the engine will do or refuse, said before the build is sent, with what to do about it. */
export interface EngineCheck {
  readonly rule: EngineCheckRule;
  /** `error`: the build fails before any step runs; `warning`: it depends on what the engine can reach. */
  readonly severity: "error" | "warning";
  /** The stage that needs it (its id); undefined for the whole Dockerfile (`# syntax=`). */
  readonly stage: string | undefined;
  /** The 1-based Dockerfile line. */
  readonly line: number;
  /** The image reference concerned, when there is one. */
  readonly reference: string | undefined;
  readonly message: string;
  /** One sentence: what the user can do. */
  readonly fix: string;
}

/** One image the checks need to know about: the reference as written and the name to look it up by. */
export interface EngineImageQuery {
  readonly reference: string;
  /** What to ask the engine for: `name@digest` for a pinned reference (a tag beside a digest is ignored, as the engine does). */
  readonly lookup: string;
}

/** What the engine has and allows, gathered by the caller (`readEngineReadiness` asks a real engine). */
export interface EngineReadinessFacts {
  /** For each reference of {@link listEngineImages}: whether the engine has it. Missing keys count as absent. */
  readonly present: ReadonlyMap<string, boolean>;
  /** False when nothing can be pulled (`--no-pull`, an engine that reaches no registry): a missing image is then an error. */
  readonly canPull: boolean;
  /** The build's network mode (`--network`); `host` is what grants `RUN --network=host`. */
  readonly network?: "default" | "host" | "none" | undefined;
  /**
   * For a reference the engine lacks: what its registry said when the engine was asked for it
   * (`readEngineReadiness` asks `GET /distribution/{name}/json`). Missing keys: not asked.
   */
  readonly pull?: ReadonlyMap<string, PullProbe> | undefined;
}

/** What the engine learnt from an image's registry before the build, without pulling it. */
export interface PullProbe {
  /** The registry host, `docker.io` for Docker Hub. */
  readonly registry: string;
  /**
   * `found`: a pull will succeed; `absent`: the registry has no such name or tag; `denied`: it wants
   * a login or refused the one sent; `unreachable`: the engine cannot reach it; `timeout`: no answer
   * within the budget (it may still answer a pull).
   */
  readonly answer: "found" | "absent" | "denied" | "unreachable" | "timeout";
  /** The registry's or the daemon's own words (for `found`, the manifest digest). */
  readonly message: string;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/i;

/** The images the planned stages (and a `# syntax=` directive) need from the engine, each once, in file order. */
export function listEngineImages(analysis: DockerfileAnalysis): EngineImageQuery[] {
  const references = [...syntaxImages(analysis), ...analysis.plan.externalImages];
  return [...new Set(references)].map((reference) => ({
    reference,
    lookup: lookupName(reference),
  }));
}

/**
 * Says offline what the engine will refuse or fetch for the planned targets: base and `--from` images
 * it does not have, digest pins it lacks, a `# syntax=` frontend image, and `RUN` flags that need an
 * entitlement the build does not carry. Errors mean the build fails before any step runs.
 *
 * @example
 * const facts = { present: new Map([["debian:12", true]]), canPull: false };
 * checkEngineReadiness(analyzeDockerfile(text), facts).filter((check) => check.severity === "error");
 */
export function checkEngineReadiness(
  analysis: DockerfileAnalysis,
  facts: EngineReadinessFacts,
): EngineCheck[] {
  const checks: EngineCheck[] = [];
  const syntax = analysis.ast.directives.find((directive) => directive.name === "syntax");
  if (syntax !== undefined && syntax.value !== "" && facts.present.get(syntax.value) !== true) {
    const pull = judgePull(syntax.value, facts);
    checks.push({
      rule: "SyntaxFrontendImage",
      severity: pull.severity,
      stage: undefined,
      line: syntax.line,
      reference: syntax.value,
      message: `# syntax=${syntax.value} makes the engine fetch that frontend image before it reads the Dockerfile, and the engine does not have it: ${pull.clause}`,
      fix:
        pull.fix === undefined
          ? `Remove the # syntax= line to use the engine's built-in Dockerfile frontend, or docker pull ${syntax.value} where a registry is reachable.`
          : `Remove the # syntax= line to use the engine's built-in Dockerfile frontend. ${pull.fix}`,
    });
  }
  const reported = new Set<string>();
  for (const index of analysis.plan.stages) {
    const stage = analysis.graph.stages[index];
    if (stage === undefined) continue;
    for (const use of stage.imageUses) {
      if (reported.has(use.reference) || facts.present.get(use.reference) === true) continue;
      reported.add(use.reference);
      const how =
        use.kind === "base" ? "FROM" : use.kind === "copy" ? "COPY --from" : "RUN --mount from=";
      const pinned = DIGEST.test(use.reference);
      const pull = judgePull(use.reference, facts);
      checks.push({
        rule: pinned ? "DigestNotInEngine" : "ImageNotInEngine",
        severity: pull.severity,
        stage: stage.id,
        line: use.position.line,
        reference: use.reference,
        message: pinned
          ? `${how} ${use.reference} is pinned to a digest the engine does not have (an image under the same tag does not count): ${pull.clause}`
          : `${how} ${use.reference} is not in the engine: ${pull.clause}`,
        fix:
          pull.fix ??
          (pinned
            ? `docker pull ${lookupName(use.reference)} where a registry is reachable (or docker load it), or pin the digest the engine has (docker image inspect --format '{{.RepoDigests}}').`
            : `docker pull ${use.reference} where a registry is reachable (or docker load it), or change the reference to an image the engine has.`),
      });
    }
    const runs = [...stage.inheritedTriggers, ...stage.instructions].filter(isRun);
    for (const run of runs) {
      if (run.network === "host" && facts.network !== "host") {
        checks.push({
          rule: "NetworkHostNotAllowed",
          severity: "error",
          stage: stage.id,
          line: run.position.line,
          reference: undefined,
          // The daemon's words: "failed to load LLB: network.host is not allowed".
          message:
            'RUN --network=host needs the network.host entitlement, which a build gets only with --network host: the engine refuses it with "network.host is not allowed"',
          fix: "Build with --network host, or drop --network=host from the RUN.",
        });
      }
      if (run.security === "insecure") {
        checks.push({
          rule: "SecurityInsecureNotAllowed",
          severity: "error",
          stage: stage.id,
          line: run.position.line,
          reference: undefined,
          // The built-in frontend answers "unknown flag: security" (the flag is labs-only); a labs
          // frontend needs security.insecure, which POST /build has no field to ask for.
          message:
            syntax?.value.includes("labs") === true
              ? "RUN --security=insecure needs the security.insecure entitlement, which a build sent through POST /build cannot ask for"
              : 'RUN --security=insecure is a labs flag: the engine\'s built-in frontend refuses the Dockerfile with "unknown flag: security"',
          fix: "Drop --security=insecure (and give the step what it needs through a mount or a capability-free command).",
        });
      }
    }
  }
  return checks;
}

/** How bad a missing image is, the clause that says why, and a fix when the registry's answer gives one. */
function judgePull(
  reference: string,
  facts: EngineReadinessFacts,
): { severity: "error" | "warning"; clause: string; fix: string | undefined } {
  if (!facts.canPull) {
    return {
      severity: "error",
      clause: "nothing can be pulled, so the build fails before any step runs",
      fix: undefined,
    };
  }
  const probe = facts.pull?.get(reference);
  const load = `docker load -i FILE (a docker save of it from where it exists), or --build-context ${reference}=docker-image://REF naming an image the engine has (or =DIR)`;
  switch (probe?.answer) {
    case undefined:
      return {
        severity: "warning",
        clause: "the engine pulls it, and the build fails there if it reaches no registry",
        fix: undefined,
      };
    case "found":
      return {
        severity: "warning",
        clause: `its registry (${probe.registry}) has it (${probe.message}), so the engine pulls it when the build starts`,
        fix: undefined,
      };
    case "timeout":
      return {
        severity: "warning",
        clause: `its registry (${probe.registry}) did not answer the engine within ${probe.message}: the engine pulls it when the build starts, and the build fails there if it reaches no registry`,
        fix: undefined,
      };
    case "unreachable":
      return {
        severity: "error",
        clause: `the engine cannot reach its registry (${probe.registry}), so the build fails before any step runs: ${probe.message}`,
        fix: `Seed the engine: ${load}${probe.registry === "docker.io" ? ", or a Docker Hub mirror the engine can reach (registry-mirrors in daemon.json)" : ""}.`,
      };
    case "absent":
      return {
        severity: "error",
        clause: `its registry (${probe.registry}) has no such image, so the build fails before any step runs: ${probe.message}`,
        fix: `Check the name and tag, push the image to ${probe.registry}, or ${load}.`,
      };
    case "denied":
      return {
        severity: "error",
        clause: `its registry (${probe.registry}) refused the engine, so the build fails before any step runs: ${probe.message}`,
        fix: `docker login ${probe.registry} with an account that may pull it (stagecraft hands the docker CLI's login to the engine), or ${load}.`,
      };
  }
}

function isRun(instruction: Instruction): instruction is Extract<Instruction, { kind: "run" }> {
  return instruction.kind === "run";
}

function syntaxImages(analysis: DockerfileAnalysis): string[] {
  const syntax = analysis.ast.directives.find((directive) => directive.name === "syntax");
  return syntax === undefined || syntax.value === "" ? [] : [syntax.value];
}

/** `name:tag@sha256:…` → `name@sha256:…`: the engine looks a pinned image up by its digest alone. */
function lookupName(reference: string): string {
  const at = reference.indexOf("@");
  if (at < 0) return reference;
  const name = reference.slice(0, at);
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return `${colon > slash ? name.slice(0, colon) : name}${reference.slice(at)}`;
}

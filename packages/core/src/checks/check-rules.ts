import type { CheckRule, CheckRuleName } from "./check-types.js";

const BUILDKIT_DOCS = "https://docs.docker.com/go/dockerfile/rule/";

function buildkit(
  name: CheckRuleName,
  slug: string,
  description: string,
  fix: string,
  experimental = false,
): CheckRule {
  return {
    name,
    origin: "buildkit",
    severity: "warning",
    description,
    fix,
    url: `${BUILDKIT_DOCS}${slug}/`,
    experimental,
  };
}

function own(
  name: CheckRuleName,
  severity: CheckRule["severity"],
  description: string,
  fix: string,
): CheckRule {
  return {
    name,
    origin: "stagecraft",
    severity,
    description,
    fix,
    url: undefined,
    experimental: false,
  };
}

/**
 * Every rule `checkDockerfile` runs, by name. BuildKit's rules keep BuildKit's names, descriptions
 * and documentation links (moby/buildkit `frontend/dockerfile/linter/ruleset.go`); stagecraft's
 * own rules are the ones that know which stages ship.
 */
export const CHECK_RULES: Readonly<Record<CheckRuleName, CheckRule>> = {
  StageNameCasing: buildkit(
    "StageNameCasing",
    "stage-name-casing",
    "Stage names should be lowercase",
    "Write the stage name in lower case (BuildKit lower-cases it anyway).",
  ),
  FromAsCasing: buildkit(
    "FromAsCasing",
    "from-as-casing",
    "The 'as' keyword should match the case of the 'from' keyword",
    "Write AS in the same case as FROM.",
  ),
  NoEmptyContinuation: buildkit(
    "NoEmptyContinuation",
    "no-empty-continuation",
    "Empty continuation lines will become errors in a future release",
    "Remove the blank line inside the continued instruction, or end the instruction before it.",
  ),
  ConsistentInstructionCasing: buildkit(
    "ConsistentInstructionCasing",
    "consistent-instruction-casing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)",
    "Write every instruction keyword in the case most of the file uses.",
  ),
  DuplicateStageName: buildkit(
    "DuplicateStageName",
    "duplicate-stage-name",
    "Stage names should be unique",
    "Rename one of the stages; references resolve to the last stage of a name.",
  ),
  ReservedStageName: buildkit(
    "ReservedStageName",
    "reserved-stage-name",
    "Reserved words should not be used as stage names",
    "Rename the stage: scratch and context mean something else in FROM and --from.",
  ),
  JSONArgsRecommended: buildkit(
    "JSONArgsRecommended",
    "json-args-recommended",
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
    'Use the exec form, e.g. CMD ["app", "serve"], so the program is PID 1 and receives signals.',
  ),
  MaintainerDeprecated: buildkit(
    "MaintainerDeprecated",
    "maintainer-deprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    'Replace it with LABEL org.opencontainers.image.authors="…".',
  ),
  UndefinedArgInFrom: buildkit(
    "UndefinedArgInFrom",
    "undefined-arg-in-from",
    "FROM command must use declared ARGs",
    "Declare the ARG before the first FROM (with a default), or fix the name.",
  ),
  WorkdirRelativePath: buildkit(
    "WorkdirRelativePath",
    "workdir-relative-path",
    "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
    "Use an absolute path in the stage's first WORKDIR.",
  ),
  UndefinedVar: buildkit(
    "UndefinedVar",
    "undefined-var",
    "Variables should be defined before their use",
    "Declare the variable with ARG or ENV before this line, or fix its name.",
  ),
  MultipleInstructionsDisallowed: buildkit(
    "MultipleInstructionsDisallowed",
    "multiple-instructions-disallowed",
    "Multiple instructions of the same type should not be used in the same stage",
    "Keep only the last one: the earlier ones have no effect.",
  ),
  LegacyKeyValueFormat: buildkit(
    "LegacyKeyValueFormat",
    "legacy-key-value-format",
    "Legacy key/value format with whitespace separator should not be used",
    "Write KEY=value (quote values with spaces).",
  ),
  RedundantTargetPlatform: buildkit(
    "RedundantTargetPlatform",
    "redundant-target-platform",
    "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
    "Remove --platform=$TARGETPLATFORM from FROM.",
  ),
  SecretsUsedInArgOrEnv: buildkit(
    "SecretsUsedInArgOrEnv",
    "secrets-used-in-arg-or-env",
    "Sensitive data should not be used in the ARG or ENV commands",
    "Pass the secret with RUN --mount=type=secret,id=… (and build --secret id=…); ARG and ENV values stay in the image.",
  ),
  InvalidDefaultArgInFrom: buildkit(
    "InvalidDefaultArgInFrom",
    "invalid-default-arg-in-from",
    "Default value for global ARG results in an empty or invalid base image name",
    "Give the ARG used in FROM a default that makes a valid image name.",
  ),
  FromPlatformFlagConstDisallowed: buildkit(
    "FromPlatformFlagConstDisallowed",
    "from-platform-flag-const-disallowed",
    "FROM --platform flag should not use a constant value",
    "Drop --platform, or use $BUILDPLATFORM / $TARGETPLATFORM, or name the stage after the platform.",
  ),
  CopyIgnoredFile: buildkit(
    "CopyIgnoredFile",
    "copy-ignored-file",
    "Attempting to Copy file that is excluded by .dockerignore",
    "Remove the path from .dockerignore, or stop copying it.",
  ),
  InvalidDefinitionDescription: buildkit(
    "InvalidDefinitionDescription",
    "invalid-definition-description",
    "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
    "Start the comment with the stage or ARG name, or put a blank line between it and the instruction.",
    true,
  ),
  ExposeProtoCasing: buildkit(
    "ExposeProtoCasing",
    "expose-proto-casing",
    "Protocol in EXPOSE instruction should be lowercase",
    "Write the protocol in lower case, e.g. 53/udp.",
  ),
  ExposeInvalidFormat: buildkit(
    "ExposeInvalidFormat",
    "expose-invalid-format",
    "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
    "EXPOSE only the container port (e.g. 8080); publish host ports with docker run -p.",
  ),
  InvalidBaseImagePlatform: buildkit(
    "InvalidBaseImagePlatform",
    "invalid-base-image-platform",
    "Base image platform does not match expected target platform",
    "Pull the base image for the platform the stage is built for, or set FROM --platform to the image's.",
  ),
  StageRootUser: own(
    "StageRootUser",
    "warning",
    "A stage that ships (the final stage of a requested target) runs as root, set so or inherited from its base image.",
    "Add a USER with a non-root user (e.g. USER 65532:65532) at the end of the stage.",
  ),
  ShippedBuildTools: own(
    "ShippedBuildTools",
    "warning",
    "A stage that ships contains compilers or package managers, installed there, inherited from a build stage, or copied in from one.",
    "Build in an earlier stage and COPY --from it only the artefacts into a stage without build tools.",
  ),
  CacheBustingCopyOrder: own(
    "CacheBustingCopyOrder",
    "warning",
    "The whole build context is copied before the dependency install of the same stage, so any source change re-runs the install.",
    "Copy only the dependency manifests first, install, then copy the rest of the sources.",
  ),
  SecretValueInArgOrEnv: own(
    "SecretValueInArgOrEnv",
    "error",
    "An ARG default or ENV value is written out literally and looks like a token or key: it is in the Dockerfile and in the image's history.",
    "Remove the value, revoke it, and pass it with RUN --mount=type=secret,id=… (build --secret id=…).",
  ),
  StageNameTypo: own(
    "StageNameTypo",
    "error",
    "A FROM or --from names no stage but is a typo away from one: BuildKit will pull it as an image.",
    "Correct the name to the stage's.",
  ),
  UnpinnedBaseImage: own(
    "UnpinnedBaseImage",
    "warning",
    "A base image is untagged or tagged latest, so builds change whenever the registry's tag moves.",
    "Pin a version tag, and for reproducible builds and cross-engine cache hits a digest (image:tag@sha256:…).",
  ),
  SharedCacheMountRace: own(
    "SharedCacheMountRace",
    "warning",
    "Stages of different targets built at the same time write the same cache mount with sharing=shared (the default).",
    "Use sharing=locked for caches that are not safe for concurrent writers (apt, apk, …), or give each stage its own id.",
  ),
  ContextNotIgnored: own(
    "ContextNotIgnored",
    "warning",
    "The build context holds version-control data, installed dependencies or build output that no ignore file excludes.",
    "Add the directories to .dockerignore.",
  ),
};

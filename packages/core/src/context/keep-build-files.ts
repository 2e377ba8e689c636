import type { IgnoreMatcher } from "./create-ignore-matcher.js";

/**
 * Adds the exceptions docker adds so that `.dockerignore` and the Dockerfile are sent even when the
 * patterns exclude them: `!.dockerignore` when `.dockerignore` matches, then `!<dockerfile>` when the
 * Dockerfile matches (docker/cli `cli/command/image/build/dockerignore.go`
 * `TrimBuildFilesFromExcludes`). Only a matching file gets its exception, and it is added after every
 * other pattern, so it wins; `!sub/Dockerfile` also makes the walk enter an excluded `sub`, which
 * docker then does not send as a directory entry of its own.
 *
 * @param dockerfile the Dockerfile's context-relative, slash-separated path; undefined when it lives
 * outside the context (docker's check can never match a `../` path).
 * @example
 * keepBuildFiles(createIgnoreMatcher(["*"], ".dockerignore"), "Dockerfile"); // ["*", "!.dockerignore", "!Dockerfile"]
 */
export function keepBuildFiles(matcher: IgnoreMatcher, dockerfile: string | undefined): string[] {
  const patterns = [...matcher.patterns];
  if (matcher.ignores(".dockerignore")) patterns.push("!.dockerignore");
  // Docker tests the Dockerfile against the list that already holds "!.dockerignore"; the only path
  // for which that differs is ".dockerignore" itself, which then needs no second exception.
  if (dockerfile !== undefined && dockerfile !== ".dockerignore" && matcher.ignores(dockerfile)) {
    patterns.push(`!${dockerfile}`);
  }
  return patterns;
}

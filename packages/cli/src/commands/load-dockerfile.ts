import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ContextError } from "@stagecraft/core/errors";

/** A Dockerfile read from disk: where it is, how to name it to the user, and its text. */
export interface LoadedDockerfile {
  /** Absolute path. */
  path: string;
  /** The path as the user would write it (relative to the working directory when inside it). */
  displayPath: string;
  text: string;
}

/**
 * Finds and reads the Dockerfile the way `docker build` does: `-f` relative to the working
 * directory, else `Dockerfile` (or `dockerfile`) in the context. The context is checked first, so
 * a context that is missing, a file or unreadable is named as such (not as a Dockerfile or a
 * `.stagecraft/` file that cannot be read inside it). Errors name the path and what to do.
 */
export function loadDockerfile(
  cwd: string,
  contextDir: string,
  file: string | undefined,
): LoadedDockerfile {
  const context = resolve(cwd, contextDir);
  checkContextDirectory(context, display(cwd, context));
  let path: string;
  if (file !== undefined) {
    path = resolve(cwd, file);
  } else {
    path = join(context, "Dockerfile");
    if (!exists(path) && exists(join(context, "dockerfile"))) path = join(context, "dockerfile");
  }
  const displayPath = display(cwd, path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ContextError(
        "CONTEXT_NOT_FOUND",
        `cannot find the Dockerfile ${displayPath}`,
        path,
        {
          cause: error,
          hint:
            file === undefined
              ? `Name it with -f, or check that ${display(cwd, context)} is the build context you meant.`
              : "Check the path given to -f (it is relative to the working directory, as with docker build).",
        },
      );
    }
    if (code === "EISDIR") {
      throw new ContextError(
        "CONTEXT_NOT_FOUND",
        `${displayPath} is a directory, not a Dockerfile`,
        path,
        {
          hint: "Give -f the Dockerfile's path, and the build context as the positional argument.",
        },
      );
    }
    throw new ContextError(
      "CONTEXT_UNREADABLE",
      `cannot read the Dockerfile ${displayPath}: ${String(code)}`,
      path,
      {
        cause: error,
        hint: "Check the file's permissions.",
      },
    );
  }
  return { path, displayPath, text };
}

/** The build context must be a directory that can be listed, as `docker build` requires. */
function checkContextDirectory(path: string, displayPath: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new ContextError(
        "CONTEXT_NOT_FOUND",
        `build context ${displayPath} does not exist`,
        path,
        {
          cause: error,
          hint: "Pass the directory that holds the files your Dockerfile copies (the last argument of `docker build`).",
        },
      );
    }
    throw unreadableContext(path, displayPath, error);
  }
  if (!isDirectory) {
    throw new ContextError(
      "CONTEXT_NOT_FOUND",
      `build context ${displayPath} is a file, not a directory`,
      path,
      {
        hint: "Pass the directory that holds the files your Dockerfile copies; name the Dockerfile itself with -f.",
      },
    );
  }
  try {
    accessSync(path, constants.R_OK | constants.X_OK);
  } catch (error) {
    throw unreadableContext(path, displayPath, error);
  }
}

function unreadableContext(path: string, displayPath: string, error: unknown): ContextError {
  const code = (error as NodeJS.ErrnoException).code;
  return new ContextError(
    "CONTEXT_UNREADABLE",
    `cannot read the build context ${displayPath}: ${code === "EACCES" ? "permission denied" : String(code)}`,
    path,
    { cause: error, hint: "Make the directory readable by the user running stagecraft." },
  );
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function display(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

import { UsageError } from "@stagecraft/core";

/** A `--secret` flag as docker buildx reads it: where the value comes from is resolved later. */
export interface SecretFlag {
  id: string;
  /** `src=`/`source=` (or, without a type, the id itself when no such env var exists). */
  file?: string | undefined;
  /** `env=` (or `type=env,src=NAME`). */
  env?: string | undefined;
}

/** A `--ssh` flag: an id and the agent sockets (none: `$SSH_AUTH_SOCK`). */
export interface SshFlag {
  id: string;
  paths: readonly string[];
}

/** An `-o/--output` flag. */
export interface OutputFlag {
  type: string;
  dest: string | undefined;
}

/**
 * Reads `--secret id=ID[,src=FILE|,env=VAR][,type=file|env]` with docker buildx's rules
 * (`util/buildflags/secrets.go`): CSV fields, keys case-insensitive, `type=env` turns `src` into the
 * variable's name. Which source an id-only flag uses is decided by `resolveSecretSource`.
 */
export function parseSecretFlag(text: string): SecretFlag {
  let type: string | undefined;
  let id = "";
  let file: string | undefined;
  let env: string | undefined;
  for (const field of splitCsv(text, "--secret")) {
    const equals = field.indexOf("=");
    if (equals === -1) {
      throw new UsageError(`--secret ${text}: "${field}" is not a key=value pair`, {
        hint: "Write --secret id=ID,src=FILE or --secret id=ID,env=VARIABLE.",
      });
    }
    const key = field.slice(0, equals).toLowerCase();
    const value = field.slice(equals + 1);
    switch (key) {
      case "type":
        if (value !== "file" && value !== "env") {
          throw new UsageError(`--secret ${text}: unsupported secret type "${value}"`, {
            hint: "The types are file and env.",
          });
        }
        type = value;
        break;
      case "id":
        id = value;
        break;
      case "src":
      case "source":
        file = value;
        break;
      case "env":
        env = value;
        break;
      default:
        throw new UsageError(`--secret ${text}: unexpected key "${key}"`, {
          hint: "The keys are id, src (or source), env and type.",
        });
    }
  }
  if (id === "") {
    throw new UsageError(`--secret ${text}: the secret has no id`, {
      hint: "Name it as the Dockerfile does: --secret id=ID,src=FILE (RUN --mount=type=secret,id=ID).",
    });
  }
  if (type === "env" && env === undefined) {
    env = file;
    file = undefined;
  }
  return { id, file, env };
}

/**
 * Where a secret's value comes from, as BuildKit's secrets provider decides (`secretsprovider/store.go`):
 * `env` wins over `src`; with neither, the environment variable named like the id when it is set,
 * else the file named like the id.
 */
export function resolveSecretSource(
  flag: SecretFlag,
  env: Readonly<Record<string, string | undefined>>,
): { kind: "env"; name: string } | { kind: "file"; path: string } {
  if (flag.env !== undefined && flag.env !== "") return { kind: "env", name: flag.env };
  if (flag.file !== undefined && flag.file !== "") return { kind: "file", path: flag.file };
  if (env[flag.id] !== undefined) return { kind: "env", name: flag.id };
  return { kind: "file", path: flag.id };
}

/** Reads `--ssh ID[=SOCKET[,SOCKET…]]` as docker buildx does (`default` is the Dockerfile's default id). */
export function parseSshFlag(text: string): SshFlag {
  const equals = text.indexOf("=");
  const id = equals === -1 ? text : text.slice(0, equals);
  if (id === "" || /[\s,]/.test(id)) {
    throw new UsageError(`--ssh ${text}: "${id}" is not an SSH id`, {
      hint: "Write --ssh default (forwards $SSH_AUTH_SOCK) or --ssh ID=/path/to/agent.sock.",
    });
  }
  const paths = equals === -1 ? [] : text.slice(equals + 1).split(",");
  if (paths.some((path) => path === "")) {
    throw new UsageError(`--ssh ${text}: an empty path`, {
      hint: "Write --ssh ID=/path/to/agent.sock.",
    });
  }
  return { id, paths };
}

/**
 * Reads `-o/--output` as docker buildx does (`util/buildflags/export.go`): CSV `type=…,dest=…`, or a
 * bare `-` (a tar on stdout) or a bare path (a local directory).
 */
export function parseOutputFlag(text: string): OutputFlag {
  if (!text.includes("=")) {
    return text === "-" ? { type: "tar", dest: "-" } : { type: "local", dest: text };
  }
  let type: string | undefined;
  let dest: string | undefined;
  for (const field of splitCsv(text, "--output")) {
    const equals = field.indexOf("=");
    if (equals === -1) {
      throw new UsageError(`--output ${text}: "${field}" is not a key=value pair`, {
        hint: "Write -o type=tar,dest=FILE or -o type=local,dest=DIR.",
      });
    }
    const key = field.slice(0, equals).toLowerCase();
    const value = field.slice(equals + 1);
    if (key === "type") type = value;
    else if (key === "dest") dest = value;
    else {
      throw new UsageError(`--output ${text}: stagecraft does not know the key "${key}"`, {
        hint: "The keys are type and dest.",
      });
    }
  }
  if (type === undefined) {
    throw new UsageError(`--output ${text}: the output has no type`, {
      hint: "Write -o type=tar,dest=FILE or -o type=local,dest=DIR.",
    });
  }
  return { type, dest };
}

/** Splits one CSV record (double quotes group, `""` is a quote), as Go's encoding/csv does. */
function splitCsv(text: string, flag: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && atStart) {
      quoted = true;
      atStart = false;
    } else if (char === ",") {
      fields.push(field);
      field = "";
      atStart = true;
    } else {
      field += char;
      atStart = false;
    }
  }
  if (quoted) {
    throw new UsageError(`${flag} ${text}: an unclosed quote`, {
      hint: 'Close the quote, e.g. "src=my file".',
    });
  }
  fields.push(field);
  return fields.filter((item) => item !== "");
}

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "@stagecraft/core";
import type { BuildkitTlsFiles } from "@stagecraft/core/engine";
import { listOption, stringOption, type ParsedOptions } from "../parse-command-line.js";
import {
  DOCKER_HOST_SCHEMES,
  checkBuildkitAddress,
  isBuildkitAddress,
  isEngineAddress,
  parseEngineAddress,
  readTlsOption,
  type EngineAddress,
} from "./engine-address.js";

/** One engine of the pool, as configured. */
export interface PoolEngineSpec {
  readonly name: string;
  /**
   * `unix://…`, `tcp://…`, `ssh://…` (as DOCKER_HOST takes it), a docker context name, or a
   * standalone buildkitd's `buildkit+tcp://…` or `buildkit+unix://…`.
   */
  readonly address: string;
  readonly addressKind: "host" | "context" | "buildkit";
  /** The TLS files of a `buildkit+tcp://` address (absolute paths). */
  readonly tls?: BuildkitTlsFiles | undefined;
  /** How many stages it builds at once (default 1). */
  readonly capacity: number;
}

/** Where results travel between engines: `HOST[:PORT]/PREFIX`. */
export interface RegistrySpec {
  readonly host: string;
  readonly prefix: string;
  /** `HOST/PREFIX`, as given. */
  readonly reference: string;
}

/** The pool, and where its configuration came from (for messages). */
export interface PoolFlags {
  readonly engines: readonly PoolEngineSpec[];
  readonly registry: RegistrySpec | undefined;
  /** `--engine`, `STAGECRAFT_ENGINES` or the file's path. */
  readonly source: string;
}

/** The options the pool adds to `build` and `plan`. */
export const POOL_OPTIONS = {
  engine: { type: "string", multiple: true },
  "engines-file": { type: "string" },
  registry: { type: "string" },
} as const;

export const POOL_HELP = `      --engine ADDRESS       the one engine to build on, instead of DOCKER_HOST's: a Docker Engine
                             (unix://, tcp://, ssh://) or a standalone buildkitd
                             (buildkit+unix:///PATH, buildkit+tcp://HOST:PORT[,cacert=CA.pem]
                             [,cert=CERT.pem,key=KEY.pem]); also STAGECRAFT_ENGINES=ADDRESS
      --engine NAME=ADDRESS[,capacity=N]
                             an engine of a pool (repeat): ADDRESS as above, or a docker context
                             name; capacity: stages it builds at once (default 1). Also
                             STAGECRAFT_ENGINES (entries separated by ";"), --engines-file FILE or
                             .stagecraft/engines.json ({"engines":[{"name","address","capacity",
                             "cacert","cert","key"}],"registry":"HOST/PREFIX"})
      --engines-file FILE    read the pool from FILE (default: CONTEXT/.stagecraft/engines.json)
      --registry HOST/PREFIX where results travel between the engines of a pool (needed with two
                             or more), e.g. 127.0.0.1:5000/sc; also STAGECRAFT_REGISTRY
`;

/**
 * Reads the pool: `--engine` flags first, else `STAGECRAFT_ENGINES`, else `--engines-file`, else
 * `CONTEXT/.stagecraft/engines.json`. Undefined when none is given (the one default engine).
 * @throws UsageError naming the flag for bad syntax, a name given twice, a pool of several engines
 * without a registry.
 */
export function readPoolFlags(
  values: ParsedOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  contextDir: string,
): PoolFlags | undefined {
  const flags = listOption(values, "engine");
  const fromEnv = env.STAGECRAFT_ENGINES?.trim() ?? "";
  const file = stringOption(values, "engines-file");
  let engines: PoolEngineSpec[];
  let source: string;
  let fileRegistry: string | undefined;
  if (readSingleEngine(values, env, cwd) !== undefined) return undefined;
  if (flags.length > 0) {
    source = "--engine";
    engines = flags.map((text) => parseEngineFlag(text, "--engine", cwd));
  } else if (fromEnv !== "") {
    source = "STAGECRAFT_ENGINES";
    engines = fromEnv
      .split(";")
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .map((text) => parseEngineFlag(text, "STAGECRAFT_ENGINES", cwd));
  } else {
    const path =
      file === undefined
        ? resolve(cwd, contextDir, ".stagecraft", "engines.json")
        : resolve(cwd, file);
    if (file === undefined && !existsSync(path)) {
      const registry = registryText(values, env);
      if (registry !== undefined) parseRegistry(registry, "--registry");
      return undefined;
    }
    source = file === undefined ? path : `--engines-file ${file}`;
    ({ engines, registry: fileRegistry } = readEnginesFile(path, source));
  }
  const seen = new Set<string>();
  for (const engine of engines) {
    if (seen.has(engine.name)) {
      throw new UsageError(`${source}: engine "${engine.name}" is named twice`, {
        hint: "Give each engine of the pool its own name.",
      });
    }
    seen.add(engine.name);
  }
  const registryFlag = registryText(values, env);
  const registry =
    registryFlag !== undefined
      ? parseRegistry(registryFlag, "--registry")
      : fileRegistry === undefined
        ? undefined
        : parseRegistry(fileRegistry, source);
  if (engines.length > 1 && registry === undefined) {
    throw new UsageError(
      `a pool of ${engines.length} engines needs a registry to move results between them`,
      { hint: "Add --registry HOST/PREFIX, e.g. --registry 127.0.0.1:5000/sc." },
    );
  }
  return { engines, registry, source };
}

/**
 * The one engine `--engine ADDRESS` (no `NAME=`) or `STAGECRAFT_ENGINES=ADDRESS` names, in place of
 * the one `DOCKER_HOST` names; undefined when neither does (none, or a pool).
 * @throws UsageError for two such addresses, one mixed with a pool's `NAME=ADDRESS`, or a bad address.
 */
export function readSingleEngine(
  values: ParsedOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): EngineAddress | undefined {
  const flags = listOption(values, "engine");
  const fromEnv = (env.STAGECRAFT_ENGINES ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const [entries, source] =
    flags.length > 0 ? [flags, "--engine"] : [fromEnv, "STAGECRAFT_ENGINES"];
  const lone = entries.filter(isEngineAddress);
  if (lone.length === 0) return undefined;
  if (entries.length > 1) {
    throw new UsageError(
      `${source}: "${lone[0] ?? ""}" names one engine to build on, and ${entries.length - 1} more ${source === "--engine" ? "--engine" : "entries"} were given`,
      {
        hint: "Give one ADDRESS for a build on one engine, or NAME=ADDRESS for each engine of a pool.",
      },
    );
  }
  return parseEngineAddress(lone[0] ?? "", `${source} "${lone[0] ?? ""}"`, cwd);
}

function registryText(
  values: ParsedOptions,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const flag = stringOption(values, "registry");
  if (flag !== undefined) return flag;
  const fromEnv = env.STAGECRAFT_REGISTRY?.trim();
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

/**
 * `NAME=ADDRESS[,capacity=N]`, and for a `buildkit+tcp://` address `cacert=`, `cert=`, `key=`
 * (paths resolved against `cwd`, each checked to exist).
 */
export function parseEngineFlag(text: string, flag: string, cwd?: string): PoolEngineSpec {
  const equals = text.indexOf("=");
  if (equals <= 0) {
    throw new UsageError(`${flag} "${text}" is not NAME=ADDRESS`, {
      // A lone value may be one engine's address: say both forms (buildkit:// lacks +tcp).
      hint:
        `Give one engine as ADDRESS (unix://, tcp://, ssh://, buildkit+unix:///PATH or ` +
        `buildkit+tcp://HOST:PORT), or each engine of a pool as NAME=ADDRESS[,capacity=N] ` +
        `(a docker context name works as ADDRESS there), e.g. ${flag} pool1=unix:///run/pool1.sock.`,
    });
  }
  const name = text.slice(0, equals);
  const where = `${flag} "${text}"`;
  const [address = "", ...options] = text.slice(equals + 1).split(",");
  let capacity = 1;
  const tls: BuildkitTlsFiles = {};
  for (const option of options) {
    const match = /^capacity=(.*)$/i.exec(option.trim());
    if (match !== null) {
      capacity = parseCapacity(match[1] ?? "", where);
    } else if (!readTlsOption(option, address, tls, where, cwd)) {
      throw new UsageError(`${where}: unknown option "${option.trim()}"`, {
        hint: isBuildkitAddress(address)
          ? "A buildkit address takes capacity=N, and a buildkit+tcp:// one cacert=, cert= and key= (PEM files)."
          : "The only option of a Docker Engine is capacity=N.",
      });
    }
  }
  return makeEngine(name, address, capacity, where, tls);
}

function parseCapacity(text: string, where: string): number {
  const capacity = Number(text);
  if (text.trim() === "" || !Number.isInteger(capacity) || capacity < 1) {
    throw new UsageError(`${where}: capacity must be a whole number of at least 1 (got "${text}")`);
  }
  return capacity;
}

function makeEngine(
  name: string,
  address: string,
  capacity: number,
  where: string,
  tls: BuildkitTlsFiles = {},
): PoolEngineSpec {
  if (!NAME.test(name)) {
    throw new UsageError(`${where}: "${name}" is not an engine name`, {
      hint: "Engine names are letters, digits, '.', '_' and '-', e.g. pool1.",
    });
  }
  if (isBuildkitAddress(address)) {
    const checked = checkBuildkitAddress(address, tls, where);
    return {
      name,
      address,
      addressKind: "buildkit",
      ...(checked.kind === "buildkit" && checked.tls !== undefined ? { tls: checked.tls } : {}),
      capacity,
    };
  }
  if (DOCKER_HOST_SCHEMES.some((scheme) => address.startsWith(scheme))) {
    return { name, address, addressKind: "host", capacity };
  }
  if (address.includes("://") || !CONTEXT_NAME.test(address)) {
    throw new UsageError(
      `${where}: "${address}" is neither an engine address nor a docker context name`,
      {
        hint: "Write unix:///path.sock, tcp://HOST:PORT, ssh://USER@HOST, a context name, or a buildkitd's buildkit+tcp://HOST:PORT or buildkit+unix:///path.sock.",
      },
    );
  }
  return { name, address, addressKind: "context", capacity };
}

function readEnginesFile(
  path: string,
  source: string,
): { engines: PoolEngineSpec[]; registry: string | undefined } {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(
      `${source}: cannot read the pool: ${error instanceof Error ? error.message : String(error)}`,
      { hint: 'Write {"engines":[{"name":"a","address":"unix:///…"}],"registry":"HOST/PREFIX"}.' },
    );
  }
  const record = isRecord(data) ? data : {};
  const list = record.engines;
  if (!Array.isArray(list) || list.length === 0) {
    throw new UsageError(`${source}: "engines" must be a list of at least one engine`, {
      hint: 'Write {"engines":[{"name":"a","address":"unix:///…","capacity":2}]}.',
    });
  }
  const engines = list.map((entry: unknown, index): PoolEngineSpec => {
    const where = `${source}: engines[${index}]`;
    if (!isRecord(entry) || typeof entry.name !== "string" || typeof entry.address !== "string") {
      throw new UsageError(`${where} needs a "name" and an "address" (strings)`);
    }
    const capacity =
      entry.capacity === undefined
        ? 1
        : parseCapacity(typeof entry.capacity === "number" ? String(entry.capacity) : "", where);
    const tls: BuildkitTlsFiles = {};
    for (const option of ["cacert", "cert", "key"] as const) {
      const value = entry[option];
      if (value === undefined) continue;
      if (typeof value !== "string") throw new UsageError(`${where}: "${option}" must be a path`);
      // Relative to the file, as the file's other paths would be.
      readTlsOption(`${option}=${value}`, entry.address, tls, `${where} ${option}`, dirname(path));
    }
    return makeEngine(entry.name, entry.address, capacity, where, tls);
  });
  const registry = record.registry;
  if (registry !== undefined && typeof registry !== "string") {
    throw new UsageError(`${source}: "registry" must be a string HOST/PREFIX`);
  }
  return { engines, registry };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `HOST[:PORT]/PREFIX`: a registry host (with a dot, a port or `localhost`) and a repository prefix. */
export function parseRegistry(text: string, flag: string): RegistrySpec {
  const slash = text.indexOf("/");
  const host = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? "" : text.slice(slash + 1).replace(/\/+$/, "");
  const hostOk =
    /^[a-zA-Z0-9.-]+(?::\d{1,5})?$/.test(host) &&
    (host.includes(".") || host.includes(":") || host.startsWith("localhost"));
  const prefixOk = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(prefix);
  if (!hostOk || !prefixOk) {
    throw new UsageError(`${flag} "${text}" is not HOST[:PORT]/PREFIX`, {
      hint: "Write the registry and a repository prefix in lower case, e.g. 127.0.0.1:5000/sc.",
    });
  }
  return { host, prefix, reference: `${host}/${prefix}` };
}

/** A pool engine's address, as `createEngine` takes it. */
export function poolEngineAddress(spec: PoolEngineSpec): EngineAddress {
  return spec.addressKind === "buildkit"
    ? { kind: "buildkit", address: spec.address, tls: spec.tls }
    : { kind: spec.addressKind, address: spec.address };
}

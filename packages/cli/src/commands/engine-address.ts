import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DockerEngine, UsageError, type Engine } from "@stagecraft/core";
import {
  BuildkitEngine,
  parseBuildkitAddress,
  type BuildkitTlsFiles,
  type Logger,
} from "@stagecraft/core/engine";

/**
 * Where an engine is, as the CLI takes it: a Docker Engine by a `DOCKER_HOST` address (`host`) or a
 * docker context name (`context`), or a standalone buildkitd (`buildkit`: `buildkit+tcp://` or
 * `buildkit+unix://`, with the TLS files of a tcp address).
 */
export type EngineAddress =
  | { readonly kind: "host" | "context"; readonly address: string }
  | {
      readonly kind: "buildkit";
      readonly address: string;
      readonly tls: BuildkitTlsFiles | undefined;
    };

/** The schemes `DOCKER_HOST` takes. */
export const DOCKER_HOST_SCHEMES = [
  "unix://",
  "tcp://",
  "ssh://",
  "npipe://",
  "http://",
  "https://",
];

/** The TLS options of a `buildkit+tcp://` address, named as buildx's `remote` driver names them. */
const TLS_OPTIONS = { cacert: "ca", cert: "cert", key: "key" } as const;

/** Whether `text` is a standalone buildkitd's address (`buildkit+…`). */
export function isBuildkitAddress(text: string): boolean {
  return text.startsWith("buildkit+");
}

/** Whether `text` starts with an address scheme (so it is an address, not `NAME=ADDRESS`). */
export function isEngineAddress(text: string): boolean {
  return isBuildkitAddress(text) || DOCKER_HOST_SCHEMES.some((scheme) => text.startsWith(scheme));
}

/**
 * Reads one TLS option (`cacert=`, `cert=`, `key=`) of a buildkit address into `tls`, the path
 * resolved against `cwd` and checked to exist; false when `option` is none of them.
 * @throws UsageError naming `where` and the option for a file that does not exist, or a TLS option
 * on an address that takes none.
 */
export function readTlsOption(
  option: string,
  address: string,
  tls: BuildkitTlsFiles,
  where: string,
  cwd: string | undefined,
): boolean {
  const match = /^(cacert|cert|key)=(.*)$/i.exec(option.trim());
  if (match?.[1] === undefined || match[2] === undefined) return false;
  const name = match[1].toLowerCase() as keyof typeof TLS_OPTIONS;
  if (!address.startsWith("buildkit+tcp://")) {
    throw new UsageError(`${where}: ${name}= applies to buildkit+tcp:// addresses only`, {
      hint: isBuildkitAddress(address)
        ? "A unix socket takes no TLS files: leave the option out."
        : "A Docker Engine's TLS comes from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or its docker context.",
    });
  }
  const path = cwd === undefined ? match[2] : resolve(cwd, match[2]);
  if (match[2] === "" || !existsSync(path)) {
    throw new UsageError(
      `${where}: ${name}=${match[2]} names no file${match[2] === "" ? "" : ` (${path} does not exist)`}`,
      {
        hint: `${name}= names a PEM file: cacert= the CA, cert= and key= the client's certificate and key.`,
      },
    );
  }
  tls[TLS_OPTIONS[name]] = path;
  return true;
}

/**
 * Reads `ADDRESS[,cacert=PATH][,cert=PATH,key=PATH]` as one engine's address: the options are a
 * buildkit address's TLS files.
 * @throws UsageError naming `where` for an address that is none, a bad buildkit address (scheme,
 * port), or a TLS file that does not exist.
 */
export function parseEngineAddress(text: string, where: string, cwd?: string): EngineAddress {
  const [address = "", ...options] = text.split(",");
  const tls: BuildkitTlsFiles = {};
  for (const option of options) {
    if (!readTlsOption(option, address, tls, where, cwd)) {
      throw new UsageError(`${where}: unknown option "${option.trim()}"`, {
        hint: "A buildkit+tcp:// address takes cacert=, cert= and key= (PEM files).",
      });
    }
  }
  if (isBuildkitAddress(address)) return checkBuildkitAddress(address, tls, where);
  if (DOCKER_HOST_SCHEMES.some((scheme) => address.startsWith(scheme))) {
    return { kind: "host", address };
  }
  throw new UsageError(`${where}: "${address}" is not an engine address`, {
    hint: "Write unix:///path.sock, tcp://HOST:PORT, ssh://USER@HOST (a Docker Engine), or buildkit+tcp://HOST:PORT, buildkit+unix:///path.sock (a buildkitd).",
  });
}

/**
 * Checks a buildkit address's syntax and TLS files now (a bad port is a usage error before anything
 * is read or sent); the files are read when the engine is made.
 */
export function checkBuildkitAddress(
  address: string,
  tls: BuildkitTlsFiles,
  where: string,
): EngineAddress {
  const hasTls = Object.keys(tls).length > 0;
  try {
    parseBuildkitAddress(address);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `${where}: ${error.message}`,
      error.hint === undefined ? {} : { hint: error.hint },
    );
  }
  if (hasTls && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new UsageError(
      `${where}: ${tls.cert === undefined ? "key=" : "cert="} needs ${tls.cert === undefined ? "cert=" : "key="} too`,
      {
        hint: "A client certificate (cert=) and its key (key=) go together.",
      },
    );
  }
  return { kind: "buildkit", address, tls: hasTls ? tls : undefined };
}

/** What engines are made with: the build path of a Docker Engine, and the logger. */
export interface CreateEngineOptions {
  readonly builder?: "build" | "control" | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * The engine at an address: a `DockerEngine` with `DOCKER_HOST` or `DOCKER_CONTEXT` set to it, or a
 * `BuildkitEngine` (which always builds through the Control API).
 */
export function createEngine(
  address: EngineAddress,
  env: Readonly<Record<string, string | undefined>>,
  options: CreateEngineOptions = {},
): Engine & { close?(): void } {
  if (address.kind === "buildkit") {
    return new BuildkitEngine({
      address: address.address,
      tls: address.tls,
      env,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }
  return new DockerEngine({
    env: engineEnv(address, env),
    ...(options.builder === undefined ? {} : { builder: options.builder }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

/** The environment that points the docker client at a Docker Engine: `DOCKER_HOST` or a context. */
export function engineEnv(
  address: { readonly kind: "host" | "context"; readonly address: string },
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return address.kind === "host"
    ? { ...env, DOCKER_HOST: address.address, DOCKER_CONTEXT: undefined }
    : { ...env, DOCKER_HOST: undefined, DOCKER_CONTEXT: address.address };
}

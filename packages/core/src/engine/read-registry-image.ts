import { createHash } from "node:crypto";
import type { RegistryLogin } from "./registry-auth.js";
import { registryOfReference } from "./registry-auth.js";
import { runConfigKey } from "./run-config-key.js";

/** What a registry holds under a tag: the digest the tag names, and the image config it leads to. */
export interface RegistryImage {
  /** The digest the tag names (`sha256:…`): a manifest, or an index of them. */
  digest: string;
  /** The image config's digest, of the manifest for the platform asked for. */
  configDigest: string;
  /** The config's `rootfs.diff_ids`: each layer's uncompressed digest, oldest first. */
  diffIds: string[];
  /** What a build `FROM` the image inherits of its config (`runConfigKey` of its `config`). */
  runConfig: string;
}

/** The platform to pick from an index; an empty field matches any. */
export interface RegistryPlatform {
  os?: string | undefined;
  architecture?: string | undefined;
  variant?: string | undefined;
}

const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");

interface Manifest {
  mediaType?: string;
  config?: { digest?: string };
  manifests?: {
    digest?: string;
    mediaType?: string;
    platform?: { os?: string; architecture?: string; variant?: string };
  }[];
}

/**
 * Reads what the registry holds under `ref` (`registry/name:tag`) through the registry API: the
 * manifest (OCI and Docker media types; from an index, the one for `platform`) and its config blob,
 * with `login` (Basic, or a Bearer token from the registry's realm). Loopback registries are spoken
 * to over http (Docker trusts 127.0.0.0/8 as an insecure registry), others over https.
 * Resolves undefined when the registry has no such tag; rejects when it cannot be asked or refuses.
 */
export async function readRegistryImage(
  ref: string,
  options: {
    login?: RegistryLogin | undefined;
    platform?: RegistryPlatform | undefined;
    signal?: AbortSignal | undefined;
  } = {},
): Promise<RegistryImage | undefined> {
  const host = registryOfReference(ref);
  const rest = ref.slice(host.length + 1);
  const colon = rest.lastIndexOf(":");
  const repository = colon > rest.lastIndexOf("/") ? rest.slice(0, colon) : rest;
  const tag = colon > rest.lastIndexOf("/") ? rest.slice(colon + 1) : "latest";
  const loopback = /^(127\.|localhost(:|$)|\[::1\])/.test(host);
  const base = `${loopback ? "http" : "https"}://${host}/v2/${repository}`;
  const client = new RegistryClient(repository, options.login, options.signal);

  const top = await client.get(`${base}/manifests/${encodeURIComponent(tag)}`, ACCEPT);
  if (top === undefined) return undefined;
  const digest = top.headers.get("docker-content-digest") ?? sha256Of(top.body);
  let manifest = parseManifest(top.body);
  if (manifest.manifests !== undefined) {
    const wanted = options.platform ?? {};
    const entry = manifest.manifests.find(
      (candidate) =>
        candidate.platform !== undefined &&
        matches(candidate.platform.os, wanted.os) &&
        matches(candidate.platform.architecture, wanted.architecture) &&
        matches(candidate.platform.variant, wanted.variant) &&
        candidate.platform.os !== "unknown",
    );
    if (entry?.digest === undefined) return undefined;
    const child = await client.get(`${base}/manifests/${entry.digest}`, ACCEPT);
    if (child === undefined) return undefined;
    manifest = parseManifest(child.body);
  }
  const configDigest = manifest.config?.digest;
  if (configDigest === undefined) return undefined;
  const blob = await client.get(`${base}/blobs/${configDigest}`, "*/*");
  if (blob === undefined) return undefined;
  const config = JSON.parse(blob.body.toString("utf8")) as {
    rootfs?: { diff_ids?: unknown };
    config?: unknown;
  };
  const diffIds = config.rootfs?.diff_ids;
  return {
    digest,
    configDigest,
    diffIds: Array.isArray(diffIds) ? diffIds.filter((id) => typeof id === "string") : [],
    runConfig: runConfigKey(config.config),
  };
}

function matches(actual: string | undefined, wanted: string | undefined): boolean {
  return wanted === undefined || wanted === "" || (actual ?? "") === wanted;
}

function parseManifest(body: Buffer): Manifest {
  return JSON.parse(body.toString("utf8")) as Manifest;
}

function sha256Of(body: Buffer): string {
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** GETs from one repository, answering the registry's 401 challenge once and keeping the answer. */
class RegistryClient {
  #authorization: string | undefined;
  readonly #repository: string;
  readonly #login: RegistryLogin | undefined;
  readonly #signal: AbortSignal | undefined;

  constructor(repository: string, login: RegistryLogin | undefined, signal?: AbortSignal) {
    this.#repository = repository;
    this.#login = login;
    this.#signal = signal;
  }

  /** The body and headers of a 200; undefined on 404; throws on any other answer. */
  async get(url: string, accept: string): Promise<{ body: Buffer; headers: Headers } | undefined> {
    let response = await this.#fetch(url, accept);
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate") ?? "";
      await response.body?.cancel();
      this.#authorization = await this.#answer(challenge);
      response = await this.#fetch(url, accept);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the registry answered ${response.status} to GET ${url}`);
    }
    return { body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
  }

  async #fetch(url: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization;
    return await fetch(url, {
      headers,
      ...(this.#signal === undefined ? {} : { signal: this.#signal }),
    });
  }

  /** The `Authorization` header for a challenge: Basic from the login, or a token from the realm. */
  async #answer(challenge: string): Promise<string> {
    const login = this.#login;
    const basic =
      login?.username !== undefined && login.password !== undefined
        ? `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`
        : undefined;
    if (/^basic\b/i.test(challenge)) {
      if (basic === undefined) throw new Error("the registry wants a login and there is none");
      return basic;
    }
    if (!/^bearer\b/i.test(challenge)) throw new Error(`unknown registry challenge: ${challenge}`);
    const params = new Map<string, string>();
    for (const [, key, value] of challenge.matchAll(/(\w+)="([^"]*)"/g)) {
      if (key !== undefined && value !== undefined) params.set(key, value);
    }
    const realm = params.get("realm");
    if (realm === undefined) throw new Error(`registry challenge without a realm: ${challenge}`);
    const url = new URL(realm);
    const service = params.get("service");
    const scope = params.get("scope") ?? `repository:${this.#repository}:pull`;
    const signal = this.#signal === undefined ? {} : { signal: this.#signal };
    let response: Response;
    if (login?.identitytoken !== undefined) {
      // An identity token is an OAuth2 refresh token (distribution's docs/spec/auth/oauth.md).
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: login.identitytoken,
        client_id: "stagecraft",
        scope,
        ...(service === undefined ? {} : { service }),
      });
      response = await fetch(url, { method: "POST", body: form, ...signal });
    } else {
      if (service !== undefined) url.searchParams.set("service", service);
      url.searchParams.set("scope", scope);
      response = await fetch(url, {
        headers: basic === undefined ? {} : { Authorization: basic },
        ...signal,
      });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the registry's token service answered ${response.status}`);
    }
    const answer = (await response.json()) as { token?: string; access_token?: string };
    const token = answer.token ?? answer.access_token;
    if (token === undefined) throw new Error("the registry's token service sent no token");
    return `Bearer ${token}`;
  }
}

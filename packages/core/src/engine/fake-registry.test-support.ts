import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Stored {
  mediaType: string;
  body: Buffer;
}

/** The login a fake registry wants: checked directly (Basic) or through its token realm (Bearer). */
export interface FakeRegistryAuth {
  kind: "basic" | "bearer";
  username: string;
  password: string;
}

/** What a fake registry holds of one image: its config's digest, its manifest's and the tag's. */
export interface StoredImage {
  configDigest: string;
  manifestDigest: string;
  /** The digest the tag names: the index's when the image was stored under one. */
  digest: string;
}

/**
 * A registry API on 127.0.0.1 for unit tests: manifests by tag or digest (served only in a media
 * type the client accepts), blobs, and an optional login (Basic, or Bearer through a token realm on
 * the same server). Every request is recorded.
 */
export class FakeRegistry {
  readonly requests: { method: string; url: string; authorization: string | undefined }[] = [];
  readonly #manifests = new Map<string, Stored>();
  readonly #tags = new Map<string, string>();
  readonly #blobs = new Map<string, Buffer>();
  readonly #server: Server;
  readonly #auth: FakeRegistryAuth | undefined;

  private constructor(auth: FakeRegistryAuth | undefined) {
    this.#auth = auth;
    this.#server = createServer((request, response) => {
      this.#serve(request, response);
    });
  }

  /** Starts a registry on a free port of 127.0.0.1. */
  static async start(auth?: FakeRegistryAuth): Promise<FakeRegistry> {
    const registry = new FakeRegistry(auth);
    await new Promise<void>((resolve) => registry.#server.listen(0, "127.0.0.1", resolve));
    return registry;
  }

  /** `127.0.0.1:PORT`. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /**
   * Stores an image under `repository:tag`: a config with these diff IDs (and `extra` fields), an
   * OCI manifest, and, with `platform`, an OCI index holding it and an attestation-like entry.
   */
  putImage(
    repository: string,
    tag: string,
    image: {
      diffIds: string[];
      extra?: Record<string, unknown>;
      platform?: { os: string; architecture: string };
    },
  ): StoredImage {
    const config = Buffer.from(
      JSON.stringify({ ...image.extra, rootfs: { type: "layers", diff_ids: image.diffIds } }),
    );
    const configDigest = digestOf(config);
    this.#blobs.set(`${repository}@${configDigest}`, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: config.length,
        },
        layers: [],
      }),
    );
    const manifestDigest = digestOf(manifest);
    this.#manifests.set(`${repository}@${manifestDigest}`, {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      body: manifest,
    });
    let digest = manifestDigest;
    if (image.platform !== undefined) {
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            {
              mediaType: "application/vnd.oci.image.manifest.v1+json",
              digest: `sha256:${"0".repeat(64)}`,
              size: 1,
              platform: { os: "unknown", architecture: "unknown" },
            },
            {
              mediaType: "application/vnd.oci.image.manifest.v1+json",
              digest: manifestDigest,
              size: manifest.length,
              platform: image.platform,
            },
          ],
        }),
      );
      digest = digestOf(index);
      this.#manifests.set(`${repository}@${digest}`, {
        mediaType: "application/vnd.oci.image.index.v1+json",
        body: index,
      });
    }
    this.#tags.set(`${repository}:${tag}`, digest);
    return { configDigest, manifestDigest, digest };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? "/";
    const authorization = request.headers.authorization;
    this.requests.push({ method: request.method ?? "GET", url, authorization });
    const auth = this.#auth;
    const basic =
      auth && `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    if (url.startsWith("/token")) {
      if (authorization !== basic) return void response.writeHead(401).end();
      response.writeHead(200, { "Content-Type": "application/json" });
      return void response.end(JSON.stringify({ token: "t0ken" }));
    }
    if (auth !== undefined) {
      const wanted = auth.kind === "basic" ? basic : "Bearer t0ken";
      if (authorization !== wanted) {
        const challenge =
          auth.kind === "basic"
            ? 'Basic realm="fake"'
            : `Bearer realm="http://${this.host}/token",service="fake"`;
        return void response.writeHead(401, { "WWW-Authenticate": challenge }).end();
      }
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
    if (match === null) return void response.writeHead(404).end();
    const [, repository, kind, name] = match as unknown as [string, string, string, string];
    const reference = decodeURIComponent(name);
    if (kind === "blobs") {
      const blob = this.#blobs.get(`${repository}@${reference}`);
      if (blob === undefined) return void response.writeHead(404).end();
      return void response.writeHead(200).end(blob);
    }
    const digest = reference.startsWith("sha256:")
      ? reference
      : this.#tags.get(`${repository}:${reference}`);
    const stored =
      digest === undefined ? undefined : this.#manifests.get(`${repository}@${digest}`);
    const accepted = (request.headers.accept ?? "").split(",").map((type) => type.trim());
    if (digest === undefined || stored === undefined || !accepted.includes(stored.mediaType)) {
      response.writeHead(404, { "Content-Type": "application/json" });
      return void response.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    }
    response.writeHead(200, { "Content-Type": stored.mediaType, "Docker-Content-Digest": digest });
    response.end(stored.body);
  }
}

function digestOf(body: Buffer): string {
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

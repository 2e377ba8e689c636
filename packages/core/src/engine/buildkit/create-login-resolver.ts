import type { SessionCredentialResolver } from "../session/create-session-server.js";
import type { DockerConfig } from "../docker-config.js";
import { resolveRegistryLogin, type CredentialHelperRunner } from "../registry-auth.js";

/** The hosts BuildKit asks for Docker Hub's login by (its resolver's `registry-1.docker.io`). */
const DOCKER_HUB_HOSTS = new Set(["registry-1.docker.io", "index.docker.io", "docker.io"]);

/**
 * Answers a session's `Auth.Credentials` from the docker CLI's logins, as the Engine path's push
 * reads them (`credHelpers`, `credsStore`, `auths` of config.json): a helper runs only when the
 * daemon asks for its host. An identity token goes as the secret with no user name, as buildx's
 * auth provider sends it (BuildKit then trades it for a token with OAuth's refresh_token grant).
 */
export function createLoginResolver(
  config: () => DockerConfig,
  runHelper?: CredentialHelperRunner,
): SessionCredentialResolver {
  return async (host) => {
    const registry = DOCKER_HUB_HOSTS.has(host) ? "docker.io" : host;
    const { login } = await resolveRegistryLogin(registry, config(), runHelper);
    if (login.identitytoken !== undefined) return { username: "", secret: login.identitytoken };
    if (login.username === undefined || login.password === undefined) return undefined;
    return { username: login.username, secret: login.password };
  };
}

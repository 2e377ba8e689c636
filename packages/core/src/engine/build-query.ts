import type { BuildRequest } from "./engine.js";
import type { QueryValue } from "./http-transport.js";

/** Query parameters of `POST /build`, as `queryString` (http-transport.ts) encodes them. */
export type BuildQuery = Record<string, QueryValue>;

/**
 * Maps a build request to `/build` query parameters (moby `api/server/router/build`): `version=2`
 * selects BuildKit; `buildargs` and `labels` are JSON objects, `cachefrom` a JSON array of the
 * registry cache refs, `t` and `extrahosts` repeat; an `inline` cache export is a build arg.
 */
export function buildQuery(request: BuildRequest): BuildQuery {
  const query: BuildQuery = {
    version: "2",
    dockerfile: request.dockerfile,
    buildid: request.buildId,
  };
  if (request.target !== undefined) query.target = request.target;
  if (request.tags !== undefined && request.tags.length > 0) query.t = [...request.tags];
  const buildArgs: Record<string, string> = { ...request.buildArgs };
  // `/build` has no cache export but inline, which moby turns on through this build arg
  // (builder-next/builder.go: "BUILDKIT_INLINE_CACHE").
  if (request.cacheTo?.some((entry) => entry.type === "inline") === true) {
    buildArgs.BUILDKIT_INLINE_CACHE = "1";
  }
  if (Object.keys(buildArgs).length > 0) query.buildargs = buildArgs;
  if (request.labels !== undefined && Object.keys(request.labels).length > 0) {
    query.labels = { ...request.labels };
  }
  if (request.platform !== undefined) query.platform = request.platform;
  if (request.noCache === true) query.nocache = "1";
  if (request.pull === true) query.pull = "1";
  if (request.network !== undefined && request.network !== "default")
    query.networkmode = request.network;
  if (request.extraHosts !== undefined && request.extraHosts.length > 0)
    query.extrahosts = [...request.extraHosts];
  // `/build` imports registry caches by ref only (moby `build_routes.go`).
  const cacheRefs = (request.cacheFrom ?? []).flatMap((entry) =>
    entry.type === "registry" && entry.attrs.ref !== undefined ? [entry.attrs.ref] : [],
  );
  if (cacheRefs.length > 0) query.cachefrom = JSON.stringify(cacheRefs);
  if (request.session !== undefined) {
    query.session = request.session.id;
    if (request.session.contextDockerfile !== undefined) {
      query.remote = "client-session";
      query.dockerfile = request.session.contextDockerfile;
    }
    // An array would go as repeated keys: `outputs` is a JSON array, so it goes as a ready string.
    if (request.session.output !== undefined) {
      query.outputs = JSON.stringify([{ type: request.session.output }]);
    }
  }
  return query;
}

/**
 * The named-context key the Dockerfile frontend looks up for an image a `FROM` or `COPY --from`
 * names: its familiar name without `:latest` (BuildKit `frontend/dockerui/namedcontext.go`,
 * `reference.FamiliarString`), so `docker.io/library/node:latest` is `node`.
 */
export function contextNameOf(reference: string): string {
  let name = reference;
  if (name.startsWith("docker.io/")) name = name.slice("docker.io/".length);
  else if (name.startsWith("index.docker.io/")) name = name.slice("index.docker.io/".length);
  if (name.startsWith("library/") && !name.slice("library/".length).includes("/")) {
    name = name.slice("library/".length);
  }
  return name.endsWith(":latest") ? name.slice(0, -":latest".length) : name;
}

// The grammar of distribution/reference (regexp.go), which BuildKit checks every base image and
// every `--from` image against with `reference.ParseNormalizedNamed`.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|\\[(?:[a-fA-F0-9:]+)\\])`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const name = `(?:${domainAndPort}/)?${remoteName}`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";

const referencePattern = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const anchoredNamePattern = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const identifierPattern = /^[a-f0-9]{64}$/;
const digestPattern = new RegExp(`^${digest}$`);

const digestSizes = new Map([
  ["sha256", 64],
  ["sha384", 96],
  ["sha512", 128],
]);

/**
 * Checks an image reference the way BuildKit does before resolving it
 * (`reference.ParseNormalizedNamed`); returns the library's error text, or undefined when valid.
 *
 * @example
 * validateImageReference("Builder"); // "invalid reference format: repository name (library/Builder) must be lowercase"
 */
export function validateImageReference(reference: string): string | undefined {
  if (identifierPattern.test(reference)) {
    return `invalid repository name (${reference}), cannot specify 64-byte hexadecimal strings`;
  }
  const [domain, remainder] = splitDockerDomain(reference);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    return `invalid reference format: repository name (${remote}) must be lowercase`;
  }
  return parseReference(`${domain}/${remainder}`);
}

function splitDockerDomain(reference: string): [string, string] {
  const slash = reference.indexOf("/");
  if (slash < 0) return ["docker.io", "library/" + reference];
  const maybeDomain = reference.slice(0, slash);
  const maybeRemote = reference.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === "localhost") [domain, remainder] = [maybeDomain, maybeRemote];
  else if (maybeDomain === "index.docker.io") [domain, remainder] = ["docker.io", maybeRemote];
  else if (/[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else [domain, remainder] = ["docker.io", reference];
  if (domain === "docker.io" && !remainder.includes("/")) remainder = "library/" + remainder;
  return [domain, remainder];
}

function parseReference(text: string): string | undefined {
  if (text === "") return "repository name must have at least one component";
  const match = referencePattern.exec(text);
  if (match === null) {
    const lower = text.toLowerCase();
    if (lower !== text && referencePattern.test(lower)) return "repository name must be lowercase";
    return "invalid reference format";
  }
  const named = anchoredNamePattern.exec(match[1] ?? "");
  const path = named === null ? (match[1] ?? "") : (named[2] ?? "");
  if (path.length > 255) return "repository name must not be more than 255 characters";
  const digestText = match[3];
  return digestText === undefined ? undefined : validateDigest(digestText);
}

/** go-digest's `Digest.Validate`, with sha256, sha384 and sha512 available. */
function validateDigest(text: string): string | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon + 1 === text.length) return "invalid checksum digest format";
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  const size = digestSizes.get(algorithm);
  if (size === undefined) {
    return digestPattern.test(text)
      ? "unsupported digest algorithm"
      : "invalid checksum digest format";
  }
  if (encoded.length !== size) return "invalid checksum digest length";
  return /^[a-f0-9]+$/.test(encoded) ? undefined : "invalid checksum digest format";
}

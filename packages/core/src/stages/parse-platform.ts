import { quoteGo } from "../dockerfile/go/strconv.js";

/** An OCI platform, normalized the way containerd's `platforms.Parse` does it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  /** `""` when none, e.g. `v7` for `linux/arm/v7`. */
  readonly variant: string;
  /** `""` unless written as `windows(10.0.17763)`. */
  readonly osVersion: string;
  readonly osFeatures: readonly string[];
}

/** The result of {@link parsePlatform}: the platform, or containerd's error text. */
export type PlatformParseResult =
  | { readonly ok: true; readonly platform: Platform }
  | { readonly ok: false; readonly message: string };

/** linux/amd64, the platform the front end assumes when none is given. */
export const defaultPlatform: Platform = {
  os: "linux",
  architecture: "amd64",
  variant: "",
  osVersion: "",
  osFeatures: [],
};

const specifierPattern = /^[A-Za-z0-9_.-]+$/;
const osPattern = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;
const osPatternText = String.raw`^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$`;

const knownOperatingSystems = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "windows",
  "zos",
]);

const knownArchitectures = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "ppc64",
  "ppc64le",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);

/**
 * Parses `os[/arch[/variant]]` (or a lone OS or architecture) like containerd's `platforms.Parse`,
 * with its error texts. `host` fills a missing OS or architecture (BuildKit uses its own).
 *
 * @example
 * parsePlatform("linux/arm64/v8"); // { ok: true, platform: { os: "linux", architecture: "arm64", variant: "", … } }
 */
export function parsePlatform(
  specifier: string,
  host: Platform = defaultPlatform,
): PlatformParseResult {
  const fail = (message: string): PlatformParseResult => ({ ok: false, message });
  if (specifier.includes("*")) {
    return fail(`${quoteGo(specifier)}: wildcards not yet supported: invalid argument`);
  }
  const parts = splitN(specifier, "/", 4);
  let os = "";
  let osVersion = "";
  let osFeatures: string[] = [];
  for (const [index, part] of parts.entries()) {
    if (index === 0) {
      const match = osPattern.exec(part);
      if (match === null) {
        return fail(
          `${quoteGo(part)} is an invalid OS component of ${quoteGo(specifier)}: OSAndVersion specifier component must match ${quoteGo(osPatternText)}: invalid argument`,
        );
      }
      os = normalizeOs(match[1] ?? "", host);
      const version = decodeOsOption(match[2] ?? "");
      if (version === undefined) {
        return fail(
          `${quoteGo(specifier)} has an invalid OS version ${quoteGo(match[2] ?? "")}: invalid URL escape`,
        );
      }
      osVersion = version;
      const features = match[3] ?? "";
      if (features !== "") {
        const decoded = features
          .slice(1)
          .split("+")
          .map((feature) => decodeOsOption(feature));
        if (decoded.includes(undefined)) {
          return fail(`${quoteGo(specifier)} has invalid OS features: invalid URL escape`);
        }
        osFeatures = decoded.filter(
          (feature): feature is string => feature !== undefined && feature !== "",
        );
      }
    } else if (!specifierPattern.test(part)) {
      return fail(
        `${quoteGo(part)} is an invalid component of ${quoteGo(specifier)}: platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument`,
      );
    }
  }

  const platform = (architecture: string, variant: string, osName = os): PlatformParseResult => ({
    ok: true,
    platform: { os: osName, architecture, variant, osVersion, osFeatures },
  });
  switch (parts.length) {
    case 1: {
      if (knownOperatingSystems.has(os)) return platform(host.architecture, host.variant);
      const [architecture, normalized] = normalizeArch(parts[0] ?? "", "");
      const variant = architecture === "arm" && normalized === "v7" ? "" : normalized;
      if (knownArchitectures.has(architecture)) return platform(architecture, variant, host.os);
      return fail(
        `${quoteGo(specifier)}: unknown operating system or architecture: invalid argument`,
      );
    }
    case 2: {
      const [architecture, normalized] = normalizeArch(parts[1] ?? "", "");
      const variant = architecture === "arm" && normalized === "v7" ? "" : normalized;
      return platform(architecture, variant);
    }
    case 3: {
      const [architecture, normalized] = normalizeArch(parts[1] ?? "", parts[2] ?? "");
      const variant = architecture === "arm64" && normalized === "" ? "v8" : normalized;
      return platform(architecture, variant);
    }
    default:
      return fail(`${quoteGo(specifier)}: cannot parse platform specifier: invalid argument`);
  }
}

/** containerd `platforms.Format`: `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  if (platform.os === "") return "unknown";
  return [platform.os, platform.architecture, platform.variant]
    .filter((part) => part !== "")
    .join("/");
}

/** containerd `platforms.FormatAll`: like {@link formatPlatform}, with `(version+features)` after the OS. */
export function formatPlatformAll(platform: Platform): string {
  if (platform.os === "") return "unknown";
  const version = encodeOsOption(platform.osVersion);
  const features = [...new Set(platform.osFeatures.filter((feature) => feature !== ""))]
    .sort()
    .map(encodeOsOption)
    .join("+");
  const options =
    version === "" && features === "" ? "" : `(${version}${features === "" ? "" : "+" + features})`;
  return [platform.os + options, platform.architecture, platform.variant]
    .filter((part) => part !== "")
    .join("/");
}

function splitN(text: string, separator: string, limit: number): string[] {
  const parts = text.split(separator);
  if (parts.length <= limit) return parts;
  return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(separator)];
}

function normalizeOs(os: string, host: Platform): string {
  if (os === "") return host.os;
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

function normalizeArch(architecture: string, variant: string): [string, string] {
  const arch = architecture.toLowerCase();
  const vari = variant.toLowerCase();
  switch (arch) {
    case "i386":
      return ["386", ""];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", vari === "v1" ? "" : vari];
    case "aarch64":
    case "arm64":
      if (vari === "8" || vari === "v8" || vari === "v8.0") return ["arm64", ""];
      if (vari === "9" || vari === "9.0" || vari === "v9.0") return ["arm64", "v9"];
      return ["arm64", vari];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      if (vari === "" || vari === "7") return ["arm", "v7"];
      if (vari === "5" || vari === "6" || vari === "8") return ["arm", "v" + vari];
      return ["arm", vari];
    default:
      return [arch, vari];
  }
}

function decodeOsOption(value: string): string | undefined {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function encodeOsOption(value: string): string {
  return value
    .replaceAll("%", "%25")
    .replaceAll("+", "%2B")
    .replaceAll("(", "%28")
    .replaceAll(")", "%29")
    .replaceAll("/", "%2F");
}

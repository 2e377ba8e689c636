import { isGoUint32, quoteGo } from "../dockerfile/go/strconv.js";
import { suggestClosest, withSuggestion } from "../dockerfile/parse-flags.js";

const mountTypes = ["bind", "cache", "tmpfs", "secret", "ssh"];
const sharingModes = ["shared", "private", "locked"];
const mountKeys = [
  "type",
  "from",
  "source",
  "target",
  "readonly",
  "id",
  "sharing",
  "required",
  "size",
  "mode",
  "uid",
  "gid",
  "src",
  "dst",
  "destination",
  "ro",
  "rw",
  "readwrite",
  "env",
];

/**
 * The check BuildKit makes of a `RUN --mount` when it builds the stage (`parseMount` with an
 * expander): keys, types, values and their combinations, in its words. Fields holding a variable
 * are skipped, since their value is only known at build time. Returns undefined when valid.
 *
 * @example
 * validateMount(["type=foo"]); // 'unsupported mount type "foo"'
 */
export function validateMount(fields: readonly string[]): string | undefined {
  let type = "bind";
  let from = "";
  let source = "";
  let target = "";
  let id = "";
  let sharing = "";
  const fileInfo = new Set<string>();
  for (const field of fields) {
    const equals = field.indexOf("=");
    const key = (equals < 0 ? field : field.slice(0, equals)).toLowerCase();
    if (equals < 0) {
      if (["readonly", "ro", "readwrite", "rw"].includes(key)) continue;
      if (key === "required") {
        if (type === "secret" || type === "ssh") continue;
        return `unexpected key '${key}' for mount type '${type}'`;
      }
      return `invalid field '${field}' must be a key=value pair`;
    }
    const value = field.slice(equals + 1);
    if (value.includes("$")) continue;
    switch (key) {
      case "type": {
        const lower = value.toLowerCase();
        if (!mountTypes.includes(lower)) {
          return withSuggestion(
            `unsupported mount type ${quoteGo(value)}`,
            suggestClosest(value, mountTypes, true),
          );
        }
        type = lower;
        break;
      }
      case "from":
        from = value;
        break;
      case "source":
      case "src":
        source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        target = value;
        break;
      case "readonly":
      case "ro":
      case "readwrite":
      case "rw":
        if (!isGoBool(value)) return `invalid value for ${key}: ${value}`;
        break;
      case "required":
        if (type !== "secret" && type !== "ssh") {
          return `unexpected key '${key}' for mount type '${type}'`;
        }
        if (!isGoBool(value)) return `invalid value for ${key}: ${value}`;
        break;
      case "size":
        if (type !== "tmpfs") return `unexpected key '${key}' for mount type '${type}'`;
        if (!/^[0-9]+(?:\.[0-9]+)* ?[kKmMgGtTpP]?[iI]?[bB]?$/.test(value)) {
          return `invalid value for ${key}: ${value}`;
        }
        break;
      case "id":
        id = value;
        break;
      case "sharing": {
        const lower = value.toLowerCase();
        if (!sharingModes.includes(lower)) {
          return withSuggestion(
            `unsupported sharing value ${quoteGo(value)}`,
            suggestClosest(value, sharingModes, true),
          );
        }
        sharing = lower;
        break;
      }
      case "mode":
        if (!isGoUint32(value, 8)) return `invalid value ${value} for mode`;
        fileInfo.add("mode");
        break;
      case "uid":
      case "gid":
        if (!isGoUint32(value, 10)) return `invalid value ${value} for ${key}`;
        fileInfo.add(key);
        break;
      case "env":
        break;
      default:
        return withSuggestion(
          `unexpected key '${key}' in '${field}'`,
          suggestClosest(key, mountKeys, true),
        );
    }
  }
  if (type !== "secret" && type !== "ssh" && type !== "cache") {
    // BuildKit checks mode, then uid, then gid.
    const first = ["mode", "uid", "gid"].find((name) => fileInfo.has(name));
    if (first !== undefined) return `${first} not allowed for ${quoteGo(type)} type mounts`;
  }
  if (type === "secret") {
    if (from !== "") return "secret mount should not have a from";
    if (sharing !== "") return "secret mount should not define sharing";
    if (source === "" && target === "" && id === "") {
      return "invalid secret mount. one of source, target required";
    }
    if (source !== "" && id !== "") return "both source and id can't be set";
  }
  if (sharing !== "" && type !== "cache") return `invalid cache sharing set for ${type} mount`;
  return undefined;
}

function isGoBool(value: string): boolean {
  return ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"].includes(
    value,
  );
}

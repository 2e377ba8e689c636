import type { DockerfileInstruction } from "./ast.js";
import { readCsvRecord } from "./go/csv.js";
import { parseGoBool, quoteGo } from "./go/strconv.js";
import { checkFlags, InstructionFault } from "./instruction-fault.js";
import type { InstructionBase, RunDevice, RunInstruction, RunMount } from "./instructions.js";
import { suggestClosest, withSuggestion } from "./parse-flags.js";

/** `RUN [--mount=…] [--network=…] [--security=…] [--device=…] <command>`. */
export function parseRun(node: DockerfileInstruction, base: InstructionBase): RunInstruction {
  // BuildKit registers these in its files' init order: device, mount, network, security.
  const flags = checkFlags(node, {
    device: "strings",
    mount: "strings",
    network: { kind: "string", default: "default" },
    security: { kind: "string", default: "sandbox" },
  });
  const devices = flags.strings("device").map((spec) => parseDevice(spec));
  const mounts = flags.strings("mount").map((spec) => parseMount(spec));
  const network = flags.string("network");
  if (network !== "default" && network !== "none" && network !== "host") {
    throw new InstructionFault("DOCKERFILE_FLAG", `invalid network mode ${quoteGo(network)}`);
  }
  const security = flags.string("security");
  if (security !== "sandbox" && security !== "insecure") {
    throw new InstructionFault("DOCKERFILE_FLAG", `security ${quoteGo(security)} is not valid`);
  }
  return {
    node: base.node,
    position: base.position,
    kind: "run",
    mounts,
    network,
    security,
    devices,
    command: joinShellForm(node),
    prependShell: !node.json,
    heredocs: node.heredocs,
  };
}

function joinShellForm(node: DockerfileInstruction): readonly string[] {
  if (node.args.length === 0 || node.json) return node.args;
  return [node.args.join(" ")];
}

/** `--mount` at instruction-parse time: CSV fields, and only `from` is checked (for `$`). */
function parseMount(spec: string): RunMount {
  const fields = readCsvFlag(spec, "mounts");
  let from: string | undefined;
  for (const field of fields) {
    const equals = field.indexOf("=");
    if (equals < 0) continue;
    if (field.slice(0, equals).toLowerCase() !== "from") continue;
    const value = field.slice(equals + 1);
    const dollar = value.indexOf("$");
    if (dollar !== -1 && dollar !== value.length - 1) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        "'from' doesn't support variable expansion, define alias stage instead",
        spec,
      );
    }
    from = value;
  }
  return { spec, fields, from };
}

function parseDevice(spec: string): RunDevice {
  let name = "";
  let required = false;
  for (const field of readCsvFlag(spec, "devices")) {
    const equals = field.indexOf("=");
    const key = (equals < 0 ? field : field.slice(0, equals)).toLowerCase();
    const value = equals < 0 ? "" : field.slice(equals + 1);
    if (equals < 0) {
      if (key === "required") required = true;
      else if (name === "") name = field;
      else {
        throw new InstructionFault(
          "DOCKERFILE_FLAG",
          `invalid field '${field}' must be a key=value pair`,
          spec,
        );
      }
      continue;
    }
    if (key === "name") {
      if (name !== "") {
        throw new InstructionFault("DOCKERFILE_FLAG", `device name already set to ${name}`, spec);
      }
      name = value;
    } else if (key === "required") {
      const parsed = parseGoBool(value);
      if (parsed === undefined) {
        throw new InstructionFault("DOCKERFILE_FLAG", `invalid value for ${key}: ${value}`, spec);
      }
      required = parsed;
    } else if (name === "") {
      name = field;
    } else {
      const suggestion = suggestClosest(key, ["name", "required"], true);
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        withSuggestion(`unexpected key '${key}' in '${field}'`, suggestion),
        spec,
      );
    }
  }
  return { name, required };
}

/** A `--mount` or `--device` value's CSV fields, or BuildKit's error for it. */
function readCsvFlag(spec: string, what: "mounts" | "devices"): string[] {
  const record = readCsvRecord(spec);
  if (Array.isArray(record)) return record;
  throw new InstructionFault(
    "DOCKERFILE_FLAG",
    `failed to parse csv ${what}: ${record.error}`,
    spec,
  );
}

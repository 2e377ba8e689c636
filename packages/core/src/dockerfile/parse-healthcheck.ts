import type { DockerfileInstruction } from "./ast.js";
import { parseGoInt, quoteGo } from "./go/strconv.js";
import { parseGoDuration } from "./go/time.js";
import { checkFlags, InstructionFault } from "./instruction-fault.js";
import type { HealthcheckInstruction, InstructionBase } from "./instructions.js";

/** `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=…] … CMD <command>`. */
export function parseHealthcheck(
  node: DockerfileInstruction,
  base: InstructionBase,
): HealthcheckInstruction {
  if (node.args.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "HEALTHCHECK requires at least one argument");
  }
  const type = (node.args[0] ?? "").toUpperCase();
  const rest = node.args.slice(1);
  const none = { interval: 0n, timeout: 0n, startPeriod: 0n, startInterval: 0n, retries: 0 };
  if (type === "NONE") {
    // BuildKit does not look at the flags of HEALTHCHECK NONE.
    if (rest.length !== 0) {
      throw new InstructionFault("DOCKERFILE_SYNTAX", "HEALTHCHECK NONE takes no arguments");
    }
    return {
      node: base.node,
      position: base.position,
      kind: "healthcheck",
      test: ["NONE"],
      ...none,
    };
  }
  const flags = checkFlags(node, {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  });
  if (type !== "CMD") {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `Unknown type ${quoteGo(type)} in HEALTHCHECK (try CMD)`,
    );
  }
  const command = rest.length === 0 ? [] : node.json ? rest : [rest.join(" ")];
  if (command.length === 0) {
    throw new InstructionFault("DOCKERFILE_SYNTAX", "Missing command after HEALTHCHECK CMD");
  }
  const interval = (name: string): bigint => {
    const value = flags.string(name);
    if (value === "") return 0n;
    const duration = parseGoDuration(value);
    if (typeof duration === "string") throw new InstructionFault("DOCKERFILE_FLAG", duration);
    if (duration !== 0n && duration < 1_000_000n) {
      throw new InstructionFault(
        "DOCKERFILE_FLAG",
        `Interval ${quoteGo(name)} cannot be less than 1ms`,
      );
    }
    return duration;
  };
  const result = {
    interval: interval("interval"),
    timeout: interval("timeout"),
    startPeriod: interval("start-period"),
    startInterval: interval("start-interval"),
  };
  let retries = 0;
  const retriesText = flags.string("retries");
  if (retriesText !== "") {
    const parsed = parseGoInt(retriesText, 32);
    if (typeof parsed === "string") throw new InstructionFault("DOCKERFILE_FLAG", parsed);
    if (parsed < 0n) {
      throw new InstructionFault("DOCKERFILE_FLAG", `--retries cannot be negative (${parsed})`);
    }
    retries = Number(parsed);
  }
  return {
    node: base.node,
    position: base.position,
    kind: "healthcheck",
    test: [node.json ? "CMD" : "CMD-SHELL", ...command],
    ...result,
    retries,
  };
}

import { describe, expect, it } from "vitest";
import { REDACTED, createRedactor, redactDeep } from "./redact.js";

describe("createRedactor", () => {
  it("masks every occurrence of every secret, longest first", () => {
    const redact = createRedactor(["abc", "abcdef", ""]);
    expect(redact("token=abcdef and abc and abcdef")).toBe(
      `token=${REDACTED} and ${REDACTED} and ${REDACTED}`,
    );
  });

  it("is the identity without secrets", () => {
    expect(createRedactor([])("nothing to hide")).toBe("nothing to hide");
  });

  it("reaches strings deep inside events", () => {
    const redact = createRedactor(["s3cr3t"]);
    const event = {
      type: "log",
      line: "echo s3cr3t",
      step: { name: "RUN echo s3cr3t", index: 2 },
      tags: ["a", "s3cr3t"],
    };
    expect(redactDeep(event, redact)).toEqual({
      type: "log",
      line: `echo ${REDACTED}`,
      step: { name: `RUN echo ${REDACTED}`, index: 2 },
      tags: ["a", REDACTED],
    });
    expect(event.line).toBe("echo s3cr3t");
  });
});

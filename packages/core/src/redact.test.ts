import { describe, expect, it } from "vitest";
import { REDACTED, createRedactor, redactDeep } from "./redact.js";

describe("createRedactor", () => {
  it("masks every occurrence of every secret, longest first", () => {
    const redact = createRedactor(["abc", "abcdef", ""]);
    expect(redact("token=abcdef and abc and abcdef")).toBe(
      `token=${REDACTED} and ${REDACTED} and ${REDACTED}`,
    );
  });

  it("masks each line of a secret of several lines, as output is shown line by line", () => {
    const key =
      "-----BEGIN KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0B\n  indented line  \n\n-----END KEY-----\n";
    const redact = createRedactor([key]);
    // The whole value, and each of its lines printed on its own (a `cat` of the file, a log line).
    expect(redact(`value: ${key}`)).toBe(`value: ${REDACTED}`);
    expect(redact("MIIEvQIBADANBgkqhkiG9w0B")).toBe(REDACTED);
    expect(redact("+ echo -----BEGIN KEY-----")).toBe(`+ echo ${REDACTED}`);
    expect(redact("  indented line  ")).toBe(REDACTED);
    expect(redact("indented line")).toBe(REDACTED);
    expect(redact("-----END KEY-----")).toBe(REDACTED);
    // Blank lines are not secrets: the text around them is left alone.
    expect(redact("a\n\nb")).toBe("a\n\nb");
  });

  it("masks a one-line secret with or without its final line break", () => {
    const redact = createRedactor(["hunter2\n"]);
    expect(redact("password hunter2 here")).toBe(`password ${REDACTED} here`);
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

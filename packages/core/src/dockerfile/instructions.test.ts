import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import type { DockerfileInstructions } from "./instructions.js";
import { parseInstructions } from "./parse-instructions.js";
import { readHeredocWord } from "./read-heredoc-word.js";
import { parseFlags, suggestClosest } from "./parse-flags.js";
import { parseDockerfile } from "./parse-dockerfile.js";

function parse(text: string): DockerfileInstructions {
  return parseInstructions(parseDockerfile(text));
}

function errorOf(text: string): DockerfileError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseInstructions: stages and meta args", () => {
  it("groups instructions by FROM and keeps ARGs before the first FROM as meta args", () => {
    const result = parse(
      "ARG GO=1.26\nARG A B=2\nFROM --platform=$BUILDPLATFORM golang:${GO} AS Build\nRUN make\nARG X\nFROM alpine\nCOPY --from=build /a /b\n",
    );
    expect(result.metaArgs.flatMap((arg) => arg.args)).toEqual([
      { key: "GO", value: "1.26" },
      { key: "A", value: undefined },
      { key: "B", value: "2" },
    ]);
    expect(result.stages.map((stage) => stage.from.stageName)).toEqual(["build", undefined]);
    expect(result.stages[0]?.from).toMatchObject({
      baseName: "golang:${GO}",
      platform: "$BUILDPLATFORM",
      position: { line: 3, column: 1 },
    });
    expect(result.stages[0]?.instructions.map((instruction) => instruction.kind)).toEqual([
      "run",
      "arg",
    ]);
    expect(result.stages[1]?.instructions[0]).toMatchObject({ kind: "copy", from: "build" });
  });

  it("returns no stages for a file of meta ARGs (the graph rejects it)", () => {
    expect(parse("ARG A=1\n").stages).toEqual([]);
  });

  it("rejects an instruction before the first FROM without a line prefix", () => {
    const error = errorOf("# c\nRUN echo hi\nFROM alpine\n");
    expect(error.message).toBe("no build stage in current context");
    expect(error.code).toBe("DOCKERFILE_NO_STAGES");
    expect(error.line).toBe(2);
  });

  it("reports the first error in file order", () => {
    expect(errorOf("RUN --foo x\nFROM alpine\n").message).toBe(
      "dockerfile parse error on line 1: unknown flag: --foo",
    );
  });
});

describe("parseInstructions: BuildKit's error texts", () => {
  const cases: [text: string, message: string, code: string][] = [
    [
      "FROM alpine\nRUNN x\n",
      "unknown instruction: RUNN (did you mean RUN?)",
      "DOCKERFILE_UNKNOWN_INSTRUCTION",
    ],
    [
      "FROM alpine\nrunn x\n",
      "unknown instruction: runn (did you mean run?)",
      "DOCKERFILE_UNKNOWN_INSTRUCTION",
    ],
    [
      "FROM alpine\nRunn x\n",
      "unknown instruction: Runn (did you mean run?)",
      "DOCKERFILE_UNKNOWN_INSTRUCTION",
    ],
    [
      "FROM alpine\nFROBNICATE x\n",
      "unknown instruction: FROBNICATE",
      "DOCKERFILE_UNKNOWN_INSTRUCTION",
    ],
    [
      "FROM alpine\nCOPY --form=x a b\n",
      "unknown flag: --form (did you mean from?)",
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nCOPY --from=a --from=b a b\n",
      "duplicate flag specified: --from",
      "DOCKERFILE_FLAG",
    ],
    ["FROM alpine\nCOPY --from a b\n", "missing a value on flag: --from", "DOCKERFILE_FLAG"],
    [
      "FROM alpine\nCOPY --link=yes a b\n",
      "expecting boolean value for flag --link, not: yes",
      "DOCKERFILE_FLAG",
    ],
    ["FROM alpine\nCOPY --link= a b\n", "missing a value on flag: --link", "DOCKERFILE_FLAG"],
    ["FROM alpine\nADD --from=x a b\n", "unknown flag: --from", "DOCKERFILE_FLAG"],
    ["FROM alpine\nENV --x A=1\n", "unknown flag: --x", "DOCKERFILE_FLAG"],
    ['FROM alpine\nCMD --doit ["a"]\n', "unknown flag: --doit", "DOCKERFILE_FLAG"],
    [
      "FROM --plaform=x alpine\n",
      "unknown flag: --plaform (did you mean platform?)",
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nRUN --network=bridge true\n",
      'invalid network mode "bridge"',
      "DOCKERFILE_FLAG",
    ],
    ["FROM alpine\nRUN --security=root true\n", 'security "root" is not valid', "DOCKERFILE_FLAG"],
    [
      "FROM alpine\nRUN --mount=from=$X,target=/t true\n",
      "'from' doesn't support variable expansion, define alias stage instead",
      "DOCKERFILE_FLAG",
    ],
    [
      'FROM alpine\nRUN --mount=a\\"b true\n',
      'failed to parse csv mounts: parse error on line 1, column 2: bare " in non-quoted-field',
      "DOCKERFILE_FLAG",
    ],
    ["FROM alpine\nRUN --mount= true\n", "failed to parse csv mounts: EOF", "DOCKERFILE_FLAG"],
    [
      "FROM alpine\nRUN --device=a,b true\n",
      "invalid field 'b' must be a key=value pair",
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine AS 1st\n",
      'invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
      "INVALID_STAGE_NAME",
    ],
    [
      "FROM alpine AS my/stage\n",
      'invalid name for build stage: "my/stage", name can\'t start with a number or contain symbols',
      "INVALID_STAGE_NAME",
    ],
    ["FROM alpine AS\n", "FROM requires either one or three arguments", "DOCKERFILE_SYNTAX"],
    ["FROM a b c\n", "FROM requires either one or three arguments", "DOCKERFILE_SYNTAX"],
    [
      "FROM alpine\nCOPY a\n",
      "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nADD a\n",
      "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nCOPY a <<EOF\nx\nEOF\n",
      "COPY cannot accept a heredoc as a destination",
      "DOCKERFILE_SYNTAX",
    ],
    ["FROM alpine\nWORKDIR\n", "WORKDIR requires exactly one argument", "DOCKERFILE_SYNTAX"],
    ["FROM alpine\nUSER\n", "USER requires exactly one argument", "DOCKERFILE_SYNTAX"],
    ["FROM alpine\nEXPOSE\n", "EXPOSE requires at least one argument", "DOCKERFILE_SYNTAX"],
    [
      'FROM alpine\nVOLUME [" "]\n',
      "VOLUME specified can not be an empty string",
      "DOCKERFILE_SYNTAX",
    ],
    ["FROM alpine\nARG =x\n", "ARG names can not be blank", "DOCKERFILE_SYNTAX"],
    ["FROM alpine\nENV =x\n", "ENV names can not be blank", "DOCKERFILE_SYNTAX"],
    [
      "FROM alpine\nSHELL /bin/sh -c\n",
      "SHELL requires the arguments to be in JSON form",
      "DOCKERFILE_SYNTAX",
    ],
    ["FROM alpine\nSHELL []\n", "SHELL requires at least one argument", "DOCKERFILE_SYNTAX"],
    ["FROM alpine\nONBUILD\n", "ONBUILD requires at least one argument", "DOCKERFILE_SYNTAX"],
    [
      "FROM alpine\nONBUILD ONBUILD RUN x\n",
      "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nONBUILD from x\n",
      "FROM isn't allowed as an ONBUILD trigger",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nONBUILD MAINTAINER me\n",
      "MAINTAINER isn't allowed as an ONBUILD trigger",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nHEALTHCHECK NONE x\n",
      "HEALTHCHECK NONE takes no arguments",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nHEALTHCHECK CMD\n",
      "Missing command after HEALTHCHECK CMD",
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nHEALTHCHECK FOO x\n",
      'Unknown type "FOO" in HEALTHCHECK (try CMD)',
      "DOCKERFILE_SYNTAX",
    ],
    [
      "FROM alpine\nHEALTHCHECK --interval=1us CMD x\n",
      'Interval "interval" cannot be less than 1ms',
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nHEALTHCHECK --timeout=5 CMD x\n",
      'time: missing unit in duration "5"',
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nHEALTHCHECK --timeout=5x CMD x\n",
      'time: unknown unit "x" in duration "5x"',
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nHEALTHCHECK --timeout=x CMD x\n",
      'time: invalid duration "x"',
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nHEALTHCHECK --retries=-1 CMD x\n",
      "--retries cannot be negative (-1)",
      "DOCKERFILE_FLAG",
    ],
    [
      "FROM alpine\nHEALTHCHECK --retries=x CMD x\n",
      'strconv.ParseInt: parsing "x": invalid syntax',
      "DOCKERFILE_FLAG",
    ],
  ];

  it.each(cases)("%j", (text, message, code) => {
    const error = errorOf(text);
    // The offending instruction is the second line when there is one.
    const line = text.trimEnd().includes("\n") ? 2 : 1;
    expect(error.message).toBe(`dockerfile parse error on line ${line}: ${message}`);
    expect(error.code).toBe(code);
    expect(error.line).toBe(line);
  });
});

describe("parseInstructions: what BuildKit accepts", () => {
  it("reads COPY flags anywhere in the flag list and an empty --from as none", () => {
    const [stage] = parse(
      "FROM alpine\nCOPY --chown=1:1 --from=0 /a /b\nCOPY --link --from=x --chmod=755 /a /b\nCOPY --from= /c /d\n",
    ).stages;
    expect(stage?.instructions).toMatchObject([
      { kind: "copy", from: "0", chown: "1:1", sources: ["/a"], destination: "/b" },
      { kind: "copy", from: "x", link: true, chmod: "755" },
      { kind: "copy", from: undefined },
    ]);
  });

  it("reads RUN mounts: CSV with quotes, case-insensitive keys, only from= at this layer", () => {
    const [stage] = parse(
      'FROM alpine\nRUN --mount=type=bind,"from=x",target=/t --mount=FROM=y,type=nonsense --mount=type=cache,target=/c,ro true\n',
    ).stages;
    const run = stage?.instructions[0];
    expect(run?.kind).toBe("run");
    if (run?.kind !== "run") return;
    expect(run.mounts.map((mount) => mount.from)).toEqual(["x", "y", undefined]);
    expect(run.mounts[0]?.fields).toEqual(["type=bind", "from=x", "target=/t"]);
    expect(run.network).toBe("default");
    expect(run.security).toBe("sandbox");
  });

  it("accepts a trailing $ in a mount's from", () => {
    const [stage] = parse("FROM alpine\nRUN --mount=from=a$ true\n").stages;
    expect(stage?.instructions[0]).toMatchObject({ mounts: [{ from: "a$" }] });
  });

  it("never validates the flags of ARG, STOPSIGNAL and HEALTHCHECK NONE", () => {
    expect(() =>
      parse("ARG --x A\nFROM alpine\nSTOPSIGNAL --y 9\nHEALTHCHECK --z NONE\n"),
    ).not.toThrow();
  });

  it("lower-cases stage names and accepts `as` in any case", () => {
    expect(parse("FROM alpine aS Build.1-x_y\n").stages[0]?.from.stageName).toBe("build.1-x_y");
  });

  it("stores an ONBUILD trigger as text with its heredoc bodies", () => {
    const [stage] = parse(
      "FROM alpine\nONBUILD COPY --from=tools /x /y\nonbuild RUN <<EOF\necho hi\nEOF\n",
    ).stages;
    expect(
      stage?.instructions.map(
        (instruction) => instruction.kind === "onbuild" && instruction.expression,
      ),
    ).toEqual(["COPY --from=tools /x /y", "RUN <<EOF\necho hi\nEOF"]);
  });

  it("parses HEALTHCHECK durations like Go's time.ParseDuration", () => {
    const [stage] = parse(
      'FROM alpine\nHEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=0 --retries=+3 CMD ["curl", "-f", "x"]\n',
    ).stages;
    expect(stage?.instructions[0]).toMatchObject({
      kind: "healthcheck",
      test: ["CMD", "curl", "-f", "x"],
      interval: 90_000_000_000n,
      timeout: 1_500_000_000n,
      startPeriod: 0n,
      retries: 3,
    });
  });

  it("keeps heredoc sources of COPY apart from paths", () => {
    const [stage] = parse("FROM alpine\nCOPY <<A <<B /dest/\na\nA\nb\nB\n").stages;
    expect(stage?.instructions[0]).toMatchObject({
      kind: "copy",
      sources: [],
      heredocSources: [
        { name: "A", content: "a\n" },
        { name: "B", content: "b\n" },
      ],
      destination: "/dest/",
    });
  });

  it("points a flag error at the flag when the instruction is on one line", () => {
    const error = errorOf("FROM alpine\n  COPY --chown=1 --form=x a b\n");
    expect(error).toMatchObject({ line: 2, column: 18 });
  });
});

describe("readHeredocWord", () => {
  it("recognises heredoc words like BuildKit's MustParseHeredoc", () => {
    expect(readHeredocWord("<<EOF")).toEqual({ name: "EOF", expand: true, chomp: false, fd: 0 });
    expect(readHeredocWord("3<<-'EOF'")).toEqual({
      name: "EOF",
      expand: false,
      chomp: true,
      fd: 3,
    });
    expect(readHeredocWord("<<")).toBeUndefined();
    expect(readHeredocWord("<<<EOF")).toBeUndefined();
    expect(readHeredocWord("x<<EOF")).toBeUndefined();
    expect(readHeredocWord("<<'EOF")).toBeUndefined();
  });
});

describe("parseFlags and suggestClosest", () => {
  it("parses bools, strings and repeated strings", () => {
    const result = parseFlags(
      ["--link", "--exclude=a", "--exclude=b", "--from=x", "--parents=FALSE"],
      {
        link: "bool",
        exclude: "strings",
        from: "string",
        parents: "bool",
      },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.flags.bool("link")).toBe(true);
    expect(result.flags.bool("parents")).toBe(false);
    expect(result.flags.strings("exclude")).toEqual(["a", "b"]);
    expect(result.flags.string("from")).toBe("x");
  });

  it("stops at --", () => {
    expect(parseFlags(["--", "--nope"], {}).ok).toBe(true);
  });

  it("suggests like util/suggest: distance below 3, none on an exact match, user's case", () => {
    expect(suggestClosest("biuld", ["base", "build"], true)).toBe("build");
    expect(suggestClosest("xyzzy", ["build"], true)).toBeUndefined();
    expect(suggestClosest("build", ["buildx", "build"], true)).toBeUndefined();
    expect(suggestClosest("CPY", ["COPY"], false)).toBe("COPY");
    expect(suggestClosest("cpy", ["COPY"], false)).toBe("copy");
  });
});

import { describe, expect, it } from "vitest";
import { DockerfileError } from "../errors.js";
import type { DockerfileInstruction } from "./ast.js";
import { dumpDockerfile, dumpInstruction } from "./dump-dockerfile.js";
import { parseDockerfile } from "./parse-dockerfile.js";

/** The dump lines of a Dockerfile, without the final newline. */
function dump(text: string): string[] {
  return dumpDockerfile(parseDockerfile(text)).slice(0, -1).split("\n");
}

function only(text: string): DockerfileInstruction {
  const children = parseDockerfile(text).children;
  expect(children).toHaveLength(1);
  const [child] = children;
  if (child === undefined) throw new Error("no instruction");
  return child;
}

function failure(text: string): DockerfileError {
  try {
    parseDockerfile(text);
  } catch (error) {
    if (error instanceof DockerfileError) return error;
    throw error;
  }
  throw new Error("expected a DockerfileError");
}

function lines(text: string): [number, number][] {
  return parseDockerfile(text).children.map((child) => [
    child.range.start.line,
    child.range.end.line,
  ]);
}

describe("input and lines", () => {
  it("removes a byte-order mark from the first line only", () => {
    expect(dump('\uFEFFFROM a\nRUN "\uFEFFx"\n')).toEqual(['(from "a")', '(run "\\"\\ufeffx\\"")']);
  });

  it("reads CRLF like LF and drops every trailing CR", () => {
    const ast = parseDockerfile("FROM a\r\nRUN x \\\r\r\n  y\r\n");
    expect(dumpDockerfile(ast)).toBe('(from "a")\n(run "x   y")\n');
    expect(ast.children.map((child) => child.range.end.column)).toEqual([7, 4]);
  });

  it("keeps a carriage return inside a line as a blank", () => {
    expect(dump("FROM a\rb")).toEqual(['(from "a" "b")']);
  });

  it("accepts a line of 65,535 UTF-8 bytes and refuses one of 65,536", () => {
    const fits = "x".repeat(65_535 - "RUN ".length);
    expect(parseDockerfile(`FROM a\nRUN ${fits}`).children[1]?.args).toEqual([fits]);
    expect(parseDockerfile(`FROM a\nRUN ${fits}\n`).children[1]?.args).toEqual([fits]);
    const error = failure(`FROM a\nRUN ${fits}y\nRUN z\n`);
    expect(error.message).toBe("dockerfile line greater than max allowed size of 65535");
    expect(error.line).toBe(2);
  });

  it("counts the line limit in UTF-8 bytes, not characters", () => {
    const text = `FROM a\nRUN ${"é".repeat(32_766)}\n`;
    expect(failure(text).message).toBe("dockerfile line greater than max allowed size of 65535");
    expect(parseDockerfile(`FROM a\nRUN ${"é".repeat(32_765)}\n`).children).toHaveLength(2);
  });

  it("reports a too-long first line as a file with no instructions, as BuildKit does", () => {
    expect(failure(`# ${"x".repeat(70_000)}\nFROM a\n`).message).toBe("file with no instructions");
  });

  it("fails a file with no instructions on its last line", () => {
    for (const text of ["", "\n\n", "# only\n# comments\n", "# escape=`\n"]) {
      const error = failure(text);
      expect(error.message).toBe("file with no instructions");
      expect(error.code).toBe("DOCKERFILE_SYNTAX");
    }
    expect(failure("# a\n\n# b\n").line).toBe(3);
    expect(failure("").line).toBe(1);
  });
});

describe("parser directives", () => {
  it("reads syntax, escape and check with case-insensitive keys and trimmed values", () => {
    const ast = parseDockerfile(
      "# SYNTAX = docker/dockerfile:1 // opts  \n#escape=`\n#  Check=skip=all;error=true\nFROM a\n",
    );
    expect(ast.directives).toEqual([
      { name: "syntax", value: "docker/dockerfile:1 // opts", line: 1 },
      { name: "escape", value: "`", line: 2 },
      { name: "check", value: "skip=all;error=true", line: 3 },
    ]);
    expect(ast.escapeToken).toBe("`");
    expect(ast.children[0]?.prevComment).toEqual([]);
  });

  it("stops reading directives at the first other line", () => {
    for (const text of [
      "# comment\n# escape=`\nFROM a\n",
      "\n# escape=`\nFROM a\n",
      "# foo=bar\n# escape=`\nFROM a\n",
      "# vim: filetype=dockerfile\n# escape=`\nFROM a\n",
      "FROM a\n# escape=`\n",
    ]) {
      const ast = parseDockerfile(text);
      expect(ast.escapeToken).toBe("\\");
      expect(ast.directives).toEqual([]);
    }
  });

  it("allows blanks before the `#` and after it", () => {
    expect(parseDockerfile("  #   escape  =  `  \nFROM a\n").escapeToken).toBe("`");
  });

  it("refuses a repeated directive, naming it in lower case", () => {
    const error = failure("# syntax=a\n# Syntax=b\nFROM a\n");
    expect(error.message).toBe("only one syntax parser directive can be used");
    expect(error.line).toBe(2);
  });

  it("refuses an escape token other than \\ or `", () => {
    expect(failure("# escape=x\nFROM a\n").message).toBe(
      "invalid escape token 'x' does not match ` or \\",
    );
    expect(failure("# escape=\\\\\nFROM a\n").message).toBe(
      "invalid escape token '\\\\' does not match ` or \\",
    );
  });

  it("takes the last blank as the value when only blanks follow `=`", () => {
    expect(failure("# escape= \t\nFROM a\n").message).toBe(
      "invalid escape token '\t' does not match ` or \\",
    );
    expect(parseDockerfile("# escape=\nFROM a\n").directives).toEqual([]);
  });

  it("uses a backtick escape for continuations and flags but keeps backslashes literal", () => {
    const ast = parseDockerfile(
      "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\nCOPY --chown=a`:b x y\n",
    );
    expect(dumpDockerfile(ast)).toBe(
      '(from "a")\n(run "dir c:\\\\   && echo")\n(copy ["--chown=a:b"] "x" "y")\n',
    );
  });
});

describe("comments and continuations", () => {
  it("has no trailing comments", () => {
    expect(dump("FROM a\nRUN echo hi # not a comment\n")[1]).toBe(
      '(run "echo hi # not a comment")',
    );
  });

  it("continues on a trailing escape token followed by blanks, and keeps leading whitespace", () => {
    expect(dump("FROM a\nRUN echo '1234' && \\  \t\n    echo \"456\"\n")[1]).toBe(
      '(run "echo \'1234\' &&     echo \\"456\\"")',
    );
  });

  it("does not continue on an escaped escape token", () => {
    expect(dump("FROM a\nENV C trailing\\\\\nRUN x\n")).toEqual([
      '(from "a")',
      '(env "C" "trailing\\\\\\\\" "")',
      '(run "x")',
    ]);
    // BuildKit's documented limitation: an odd run of three does not continue either.
    expect(dump("FROM a\nRUN foo \\\\\\\nRUN x\n")).toHaveLength(3);
  });

  it("drops comment lines inside a continuation, even ones ending in the escape token", () => {
    const text = "FROM a\nRUN a \\\n# one \\\n  # two\n  b\n";
    expect(dump(text)[1]).toBe('(run "a   b")');
    expect(lines(text)).toEqual([
      [1, 1],
      [2, 5],
    ]);
  });

  it("drops blank lines inside a continuation with BuildKit's warning on the last line", () => {
    const ast = parseDockerfile(
      "FROM a\nRUN something \\\n\n    following \\\n \t\n    more\nRUN x\n",
    );
    expect(dumpDockerfile(ast).split("\n")[1]).toBe('(run "something     following     more")');
    expect(ast.warnings).toEqual([
      {
        message: "Empty continuation line found in: RUN something     following     more",
        line: 6,
      },
    ]);
  });

  it("ends an instruction continued at the end of the file", () => {
    const text = "FROM a\nRUN something \\";
    expect(dump(text)[1]).toBe('(run "something")');
    expect(only("RUN a \\\n").original).toBe("RUN a ");
  });

  it("treats a line holding only the escape token as an empty piece", () => {
    expect(dump("\\\nFROM a\n")).toEqual(['(from "a")']);
    expect(lines("\\\nFROM a\n")).toEqual([[1, 2]]);
    expect(dump("FROM a\nRUN a \\\n\\\n b\n")[1]).toBe('(run "a  b")');
  });

  it("gives an instruction of blanks an empty keyword, dumped as BuildKit does", () => {
    expect(dump("FROM a\n\\\n\t\\\n")).toEqual(['(from "a")', '("")']);
  });

  it("keeps the comment lines before an instruction, with BuildKit's first-byte quirk", () => {
    const ast = parseDockerfile(
      "# escape=\\\n# first\n\n#second  \n FROM a\n# reset\n#\n  # indented\nRUN x\nRUN y\n",
    );
    expect(ast.children.map((child) => child.prevComment)).toEqual([
      ["first", "second"],
      ["# indented"],
      [],
    ]);
  });
});

describe("keywords and flags", () => {
  it("matches keywords case-insensitively and keeps the written form", () => {
    const node = only("fRoM alpine");
    expect(node.keyword).toBe("from");
    expect(node.keywordAsWritten).toBe("fRoM");
    expect(only("\u0130NFO x").keyword).toBe("info");
  });

  it("accepts unknown keywords with one empty argument", () => {
    expect(dump("FROM a\nFOO bar baz\nBAR\n")).toEqual(['(from "a")', '(foo "")', '(bar "")']);
  });

  it("extracts leading -- words from every instruction, quotes and escapes removed", () => {
    expect(dump('COPY --from=build "--chown=a b" x\nCMD --doit ["a"]')).toEqual([
      '(copy ["--from=build"] "\\"--chown=a" "b\\"" "x")',
      '(cmd ["--doit"] "a")',
    ]);
    expect(only("RUN --mount='type=cache,target=/a b' --x=\"\" --y=a\\ b make").flags).toEqual([
      "--mount=type=cache,target=/a b",
      "--x=",
      "--y=a b",
    ]);
  });

  it("ends flags at a lone -- (dropped) or the first other word", () => {
    expect(only("RUN --a -- --b c").flags).toEqual(["--a"]);
    expect(only("RUN --a -- --b c").args).toEqual(["--b c"]);
    expect(only("RUN --a x --b").args).toEqual(["x --b"]);
    expect(only("RUN --a --").args).toEqual([]);
    expect(only("RUN --a --").flags).toEqual(["--a"]);
    expect(only("RUN -x").flags).toEqual([]);
    expect(only('RUN --""').args).toEqual([]);
  });

  it("splits plain flags as the byte scan does (an empty quote sends a line through it)", () => {
    // Flags without quotes, escapes or non-ASCII bytes are sliced from the line; `""` in a flag
    // word changes nothing but takes the byte scan.
    for (const line of [
      "RUN --mount=type=cache,target=/go/pkg/mod \t\v--network=none  go build",
      "RUN --a --b=c#d&e -- --x y",
      "RUN --a --",
      "RUN --a\f--b",
      "COPY --from=stage0 --chmod=0755 /a /b",
      "FROM --platform=$BUILDPLATFORM x AS y",
    ]) {
      const plain = only(line);
      const scanned = only(line.replace("--", '--""'));
      expect([plain.flags, plain.args], line).toEqual([scanned.flags, scanned.args]);
    }
    // U+0085 is C2 85 in UTF-8, and 0x85 is a Go space byte.
    expect(only("RUN --a\u0085--b c").flags).toEqual(["--a\u00c2", "--b"]);
  });

  it("reads flags byte by byte like Go: non-ASCII bytes become Latin-1 characters", () => {
    expect(only("COPY --chown=é x y").flags).toEqual(["--chown=Ã©"]);
    // U+00E0 is C3 A0 in UTF-8, and Go's unicode.IsSpace(0xA0) is true.
    expect(only("COPY --a=àb x").flags).toEqual(["--a=Ã"]);
    expect(only("COPY --a=àb x").args).toEqual(["b", "x"]);
  });
});

describe("arguments per instruction", () => {
  it("splits ENV, LABEL and ARG words on Go spaces, with or without quotes in the line", () => {
    // Lines without quotes or escape tokens are split natively; one quote takes the scan.
    const blanks = ["\t", "\v", "\f", "\r", " ", "\u0085", "\u00a0", "\u1680", "\u2000"];
    blanks.push("\u2028", "\u202f", "\u205f", "\u3000");
    const words = blanks.map((blank, index) => `k${index}=v${blank}`).join("");
    const expected = blanks.flatMap((_, index) => [`k${index}`, `v`, "="]);
    expect(only(`ENV ${words}`).args).toEqual(expected);
    expect(only(`LABEL ${words}q=""`).args).toEqual([...expected, "q", '""', "="]);
    expect(only(`ARG ${words}`).args).toEqual(blanks.map((_, index) => `k${index}=v`));
    expect(only(`ARG ${words}q=''`).args).toEqual([
      ...blanks.map((_, index) => `k${index}=v`),
      "q=''",
    ]);
  });

  it("splits FROM and EXPOSE on ASCII blanks, quotes kept", () => {
    expect(only('FROM "x" \t AS\vb').args).toEqual(['"x"', "AS", "b"]);
    expect(only("EXPOSE 80\u00A0443").args).toEqual(["80\u00A0443"]);
    expect(only("FROM").args).toEqual([]);
  });

  it("reads a JSON array of strings, decoding its escapes", () => {
    const node = only('CMD [ "a b", "\\u0000", "\\/", "\\ud800", "\u2665" ]  ');
    expect(node.json).toBe(true);
    expect(node.args).toEqual(["a b", "\u0000", "/", "\uFFFD", "\u2665"]);
    expect(dumpInstruction(node)).toBe('cmd "a b" "\\x00" "/" "\uFFFD" "\u2665"');
    expect(only("RUN []").args).toEqual([]);
    expect(only("RUN []").json).toBe(true);
  });

  it("falls back to shell form on anything but a valid JSON array", () => {
    for (const rest of [
      "['a']",
      '["a"',
      '["a]',
      '["a",]',
      '["x"] trailing',
      '{"a":1}',
      "[1e999]",
    ]) {
      const node = only(`CMD ${rest}`);
      expect(node.json).toBe(false);
      expect(node.args).toEqual([rest]);
    }
    expect(only('COPY ["a" b]').args).toEqual(['["a"', "b]"]);
  });

  it("refuses a valid JSON array holding anything but strings", () => {
    for (const rest of ['["a", 1]', "[null]", '[ "echo", [ "nested json" ] ]', '[{"a":"b"}]']) {
      const error = failure(`FROM a\n\nCMD ${rest}\n`);
      expect(error.message).toBe(
        "when using JSON array syntax, arrays must be comprised of strings only",
      );
      expect([error.line, error.column]).toEqual([3, 1]);
    }
  });

  it("falls back, like Go's decoder, on JSON nested deeper than 10,000 levels", () => {
    const deep = (depth: number) => `RUN ${"[".repeat(depth)}${"]".repeat(depth)}`;
    expect(failure(deep(10_000)).message).toBe(
      "when using JSON array syntax, arrays must be comprised of strings only",
    );
    expect(only(deep(10_001)).json).toBe(false);
  });

  it("reads ADD, COPY and VOLUME as JSON or words", () => {
    expect(dump('ADD ["a b", "c"]\nCOPY a  b\tc\nVOLUME /a /b')).toEqual([
      '(add "a b" "c")',
      '(copy "a" "b" "c")',
      '(volume "/a" "/b")',
    ]);
  });

  it("keeps MAINTAINER, USER, WORKDIR and STOPSIGNAL as one string", () => {
    expect(dump("USER a  b\nWORKDIR /a b\nSTOPSIGNAL  SIGTERM\nMAINTAINER x <y>")).toEqual([
      '(user "a  b")',
      '(workdir "/a b")',
      '(stopsignal "SIGTERM")',
      '(maintainer "x <y>")',
    ]);
    expect(only("USER").args).toEqual([]);
  });

  it("splits ARG into quote-aware words, quotes and escapes kept", () => {
    expect(only("ARG a=\"x y\" b='p q' c=d\\ e f").args).toEqual([
      'a="x y"',
      "b='p q'",
      "c=d\\ e",
      "f",
    ]);
    expect(only('ARG a="x\\" y" b=\'\\\'').args).toEqual(['a="x\\" y"', "b='\\'"]);
    expect(only("ARG").args).toEqual([]);
  });

  it("reads ENV and LABEL as key, value, separator triples", () => {
    expect(only('ENV A=1 B="two words" C=').args).toEqual([
      "A",
      "1",
      "=",
      "B",
      '"two words"',
      "=",
      "C",
      "",
      "=",
    ]);
    expect(only("LABEL legacy value  with spaces").args).toEqual([
      "legacy",
      "value  with spaces",
      "",
    ]);
    expect(only("ENV").args).toEqual([]);
  });

  it("refuses ENV and LABEL without a value, and k=v lists with a bare word", () => {
    expect(failure("ENV X").message).toBe("ENV must have two arguments");
    expect(failure("label X").message).toBe("LABEL must have two arguments");
    expect(failure('ENV a=1 "b c"').message).toBe(
      'Syntax error - can\'t find = in "\\"b c\\"". Must be of the form: name=value',
    );
  });

  it("reads HEALTHCHECK as a type word then JSON or one string", () => {
    expect(
      dump('HEALTHCHECK NONE\nHEALTHCHECK CMD ["a", "b"]\nHEALTHCHECK --interval=5s CMD  curl x'),
    ).toEqual([
      '(healthcheck "NONE")',
      '(healthcheck "CMD" "a" "b")',
      '(healthcheck ["--interval=5s"] "CMD" "curl x")',
    ]);
    expect(only('HEALTHCHECK CMD ["a"]').json).toBe(true);
  });

  it("parses an ONBUILD trigger as a full line, flags included", () => {
    const node = only("ONBUILD --x ONBUILD copy --from=b  a b");
    expect(dumpInstruction(node)).toBe('onbuild ["--x"] (onbuild (copy ["--from=b"] "a" "b"))');
    expect(node.trigger?.trigger?.original).toBe("copy --from=b  a b");
    expect(node.trigger?.range).toEqual(node.range);
    expect(dumpInstruction(only("ONBUILD"))).toBe("onbuild");
    expect(only("ONBUILD").trigger).toBeUndefined();
  });

  it("handles ONBUILD chains thousands deep without recursion", () => {
    const node = only(`${"ONBUILD ".repeat(8_000)}RUN x`);
    let depth = 0;
    for (let trigger = node.trigger; trigger !== undefined; trigger = trigger.trigger) depth++;
    expect(depth).toBe(8_000);
    expect(dumpInstruction(node).endsWith('(run "x")' + ")".repeat(7_999))).toBe(true);
  });
});

describe("heredocs", () => {
  function heredocs(text: string) {
    return parseDockerfile(text).children.map((child) => child.heredocs);
  }

  it("reads bodies verbatim, with no comments, continuations or instructions inside", () => {
    const text = "FROM a\nRUN <<EOF\n# kept \\\nFROM b\r\n\tx\nEOF\nRUN after\n";
    expect(heredocs(text)[1]).toEqual([
      { name: "EOF", expand: true, chomp: false, fd: 0, content: "# kept \\\nFROM b\r\n\tx\n" },
    ]);
    expect(lines(text)).toEqual([
      [1, 1],
      [2, 6],
      [7, 7],
    ]);
    expect(parseDockerfile(text).children[1]?.range.end).toEqual({ line: 6, column: 4 });
  });

  it("reads several heredocs on one line one after another", () => {
    expect(heredocs("COPY <<X <<Y /dest\nY\nX\nX\nY\n")[0]).toEqual([
      { name: "X", expand: true, chomp: false, fd: 0, content: "Y\n" },
      { name: "Y", expand: true, chomp: false, fd: 0, content: "X\n" },
    ]);
  });

  it("reads <<- (tabs stripped from the terminator only), file descriptors and blanks after <<", () => {
    expect(heredocs("RUN 3<<-A <<  B > x\n\tbody\n\t\tA\n\tB\nB\n")[0]).toEqual([
      { name: "A", expand: true, chomp: true, fd: 3, content: "\tbody\n" },
      { name: "B", expand: true, chomp: false, fd: 0, content: "\tB\n" },
    ]);
  });

  it("turns expansion off when any part of the name is quoted", () => {
    const found = heredocs(
      "RUN <<'A' <<\"B\" <<C\"C\" <<e\\'f <<'one two' <<$V\nA\nB\nCC\ne'f\none two\n$V\n",
    )[0];
    expect(found?.map(({ name, expand }) => [name, expand])).toEqual([
      ["A", false],
      ["B", false],
      ["CC", false],
      ["e'f", true],
      ["one two", false],
      ["$V", true],
    ]);
  });

  it("finds no heredoc in quotes, JSON form, other instructions or `<<<`", () => {
    const text =
      'FROM a\nRUN "<<EOF"\nRUN \'<<EOF\'\nRUN ["<<EOF"]\nUSER <<EOF\nRUN <<<EOF\nRUN << \nRUN a <<EOF" x\n';
    expect(heredocs(text).every((found) => found.length === 0)).toBe(true);
    expect(parseDockerfile(text).children).toHaveLength(8);
  });

  it("reads heredocs of an ONBUILD trigger onto the ONBUILD", () => {
    const node = only("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    expect(node.heredocs.map((heredoc) => heredoc.content)).toEqual(["echo hi\n"]);
    expect(node.trigger?.heredocs).toEqual([]);
    expect(only('ONBUILD RUN ["<<EOF"]').heredocs).toEqual([]);
  });

  it("keeps a last body line without a newline and fails without a terminator", () => {
    const error = failure("FROM a\nRUN <<EOF\nbody\nEOF \n");
    expect(error.message).toBe("unterminated heredoc");
    expect([error.line, error.column]).toEqual([2, 1]);
  });

  it("finds no heredoc on a line the shell lexer cannot split (an unbalanced quote)", () => {
    expect(dump("RUN <<'EOF\nEOF\n")).toEqual(['(run "<<\'EOF")', '(eof "")']);
  });

  it("refuses a heredoc name that lexes to an unbalanced quote", () => {
    // The lexer drops the `\` of `\'` inside `${X:-…}` and splits the text it returns at blanks,
    // so `<<'EOF}` becomes a word of its own, whose name no longer lexes.
    const error = failure("FROM a\nRUN ${X:-a <<\\'EOF}\nEOF\n");
    expect(error.message).toBe(
      'failed to process "\'EOF}": unexpected end of statement while looking for matching single-quote',
    );
    expect(error.line).toBe(2);
  });
});

describe("ranges", () => {
  it("gives 1-based lines and columns from the first non-blank character", () => {
    const ast = parseDockerfile("\n  FROM a\n\tRUN x \\\n  y\n");
    expect(ast.children.map((child) => child.range)).toEqual([
      { start: { line: 2, column: 3 }, end: { line: 2, column: 9 } },
      { start: { line: 3, column: 2 }, end: { line: 4, column: 4 } },
    ]);
    expect(ast.range).toEqual({ start: { line: 2, column: 3 }, end: { line: 4, column: 4 } });
  });

  it("puts instruction errors on the instruction's first line and keyword", () => {
    const error = failure("FROM a\n  ENV \\\n  X\n");
    expect([error.line, error.column, error.code]).toEqual([2, 3, "DOCKERFILE_SYNTAX"]);
  });
});

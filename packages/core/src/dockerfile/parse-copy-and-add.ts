import type { DockerfileInstruction, Heredoc } from "./ast.js";
import { checkFlags, InstructionFault } from "./instruction-fault.js";
import type { AddInstruction, CopyInstruction, InstructionBase } from "./instructions.js";
import { readHeredocWord } from "./read-heredoc-word.js";

function noDestination(keyword: string): InstructionFault {
  return new InstructionFault(
    "DOCKERFILE_SYNTAX",
    `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
  );
}

function splitSourcesAndDestination(
  node: DockerfileInstruction,
  keyword: string,
): { sources: string[]; heredocSources: Heredoc[]; destination: string } {
  const destination = node.args.at(-1) ?? "";
  if (readHeredocWord(destination) !== undefined) {
    throw new InstructionFault(
      "DOCKERFILE_SYNTAX",
      `${keyword} cannot accept a heredoc as a destination`,
    );
  }
  const sources: string[] = [];
  const heredocSources: Heredoc[] = [];
  for (const source of node.args.slice(0, -1)) {
    const heredoc = readHeredocWord(source);
    if (heredoc === undefined) {
      sources.push(source);
      continue;
    }
    const body = node.heredocs.findLast((candidate) => candidate.name === heredoc.name);
    heredocSources.push({
      name: heredoc.name,
      expand: heredoc.expand,
      chomp: heredoc.chomp,
      fd: heredoc.fd,
      content: body?.content ?? "",
    });
  }
  return { sources, heredocSources, destination };
}

/** `COPY [--from=…] [--chown=…] … <src>… <dest>`. */
export function parseCopy(node: DockerfileInstruction, base: InstructionBase): CopyInstruction {
  if (node.args.length < 2) throw noDestination("COPY");
  const flags = checkFlags(node, {
    chown: "string",
    from: "string",
    chmod: "string",
    link: "bool",
    exclude: "strings",
    parents: "bool",
  });
  const from = flags.string("from");
  return {
    node: base.node,
    position: base.position,
    kind: "copy",
    ...splitSourcesAndDestination(node, "COPY"),
    from: from === "" ? undefined : from,
    chown: flags.string("chown"),
    chmod: flags.string("chmod"),
    link: flags.bool("link"),
    parents: flags.bool("parents"),
    excludes: flags.strings("exclude"),
  };
}

/** `ADD [--checksum=…] [--keep-git-dir] … <src>… <dest>`. */
export function parseAdd(node: DockerfileInstruction, base: InstructionBase): AddInstruction {
  if (node.args.length < 2) throw noDestination("ADD");
  const flags = checkFlags(node, {
    chown: "string",
    chmod: "string",
    link: "bool",
    "keep-git-dir": "bool",
    checksum: "string",
    unpack: "bool",
    exclude: "strings",
  });
  return {
    node: base.node,
    position: base.position,
    kind: "add",
    ...splitSourcesAndDestination(node, "ADD"),
    chown: flags.string("chown"),
    chmod: flags.string("chmod"),
    link: flags.bool("link"),
    keepGitDir: flags.used.has("keep-git-dir") ? flags.bool("keep-git-dir") : undefined,
    checksum: flags.string("checksum"),
    unpack: flags.used.has("unpack") ? flags.bool("unpack") : undefined,
    excludes: flags.strings("exclude"),
  };
}

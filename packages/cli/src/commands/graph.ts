import { UsageError, type DockerfileAnalysis } from "@stagecraft/core";
import type { ExitCode, Io } from "../io.js";
import { choiceOption, parseCommandLine } from "../parse-command-line.js";
import { errorToJson, reportError } from "../report-error.js";
import { FRONT_END_OPTIONS, analyzeFromOptions } from "./analyze-from-options.js";

export const GRAPH_HELP = `Usage: stagecraft graph [CONTEXT] [options]

Draws the stage graph of a Dockerfile: requested targets marked, stages they do not need greyed out,
external images as their own nodes, and the kinds of edges told apart (FROM solid, COPY --from dashed,
RUN --mount from= dotted). Arrows point from what is needed to what needs it.

Options:
  -f, --file FILE       the Dockerfile (default: CONTEXT/Dockerfile, CONTEXT defaults to .)
      --target T        a target to mark; repeat or separate with commas (default: the last stage)
      --build-arg K=V   a build arg (K alone takes the value from the environment)
      --platform P      the target platform
      --format FORMAT   mermaid (default), dot or json
  -h, --help            show this help
`;

/** A node of the drawn graph: a stage, an external image, or scratch. */
export interface GraphNode {
  id: string;
  kind: "stage" | "image";
  label: string;
  /** The stage's `FROM` line. */
  line: number | null;
  target: boolean;
  /** Whether a build of the requested targets builds (or resolves) it. */
  reachable: boolean;
}

/** An edge: `from` is needed by `to`. */
export interface GraphEdge {
  from: string;
  to: string;
  kind: "from" | "copy" | "mount";
}

/** `stagecraft graph`: prints the stage graph as Mermaid, Graphviz dot, or JSON. */
export function graphCommand(argv: readonly string[], io: Io): Promise<ExitCode> {
  let format: "mermaid" | "dot" | "json" = "mermaid";
  try {
    const { values, positionals } = parseCommandLine("graph", argv, FRONT_END_OPTIONS);
    if (values.help === true) {
      io.stdout.write(GRAPH_HELP);
      return Promise.resolve(0);
    }
    format = choiceOption(values, "format", ["mermaid", "dot", "json"] as const, "mermaid");
    if (positionals.length > 1) {
      throw new UsageError(`graph takes at most one build context, got ${positionals.length}`);
    }
    const { analysis } = analyzeFromOptions(io, values, positionals[0] ?? ".");
    const graph = toDrawableGraph(analysis);
    switch (format) {
      case "json":
        io.stdout.write(`${JSON.stringify(graph, null, 2)}\n`);
        break;
      case "dot":
        io.stdout.write(formatDot(graph));
        break;
      case "mermaid":
        io.stdout.write(formatMermaid(graph));
        break;
      default:
        return format satisfies never;
    }
    return Promise.resolve(0);
  } catch (error) {
    if (format === "json")
      io.stdout.write(`${JSON.stringify({ error: errorToJson(error) }, null, 2)}\n`);
    return Promise.resolve(reportError(io, error));
  }
}

/** The nodes and edges to draw, from the front end's analysis. */
export function toDrawableGraph(analysis: DockerfileAnalysis): {
  nodes: GraphNode[];
  edges: GraphEdge[];
} {
  const { graph, plan } = analysis;
  const targets = new Set(plan.targets.map((target) => target.stage));
  const reachable = new Set(plan.stages);
  const stageKey = (index: number): string => `stage:${graph.stages[index]?.id ?? index}#${index}`;
  const nodes: GraphNode[] = graph.stages.map((stage) => ({
    id: stageKey(stage.index),
    kind: "stage",
    label: stage.id,
    line: stage.position.line,
    target: targets.has(stage.index),
    reachable: reachable.has(stage.index),
  }));
  const images = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const addEdge = (edge: GraphEdge): void => {
    const key = `${edge.from}→${edge.to}:${edge.kind}`;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push(edge);
  };
  for (const stage of graph.stages) {
    const to = stageKey(stage.index);
    for (const dependency of stage.dependencies) {
      addEdge({
        from: stageKey(dependency.stage),
        to,
        kind: dependency.kind === "base" ? "from" : dependency.kind,
      });
    }
    for (const use of stage.imageUses) {
      const key = `image:${use.reference}`;
      const node = images.get(key);
      if (node === undefined) {
        images.set(key, {
          id: key,
          kind: "image",
          label: use.reference,
          line: null,
          target: false,
          reachable: reachable.has(stage.index),
        });
      } else if (reachable.has(stage.index)) {
        node.reachable = true;
      }
      addEdge({ from: key, to, kind: use.kind === "base" ? "from" : use.kind });
    }
  }
  return { nodes: [...nodes, ...images.values()], edges };
}

function formatMermaid({ nodes, edges }: { nodes: GraphNode[]; edges: GraphEdge[] }): string {
  const ids = new Map(nodes.map((node, index) => [node.id, `n${index}`]));
  const lines = ["flowchart LR"];
  for (const node of nodes) {
    const label = mermaidText(
      node.kind === "stage" && node.line !== null ? `${node.label} :${node.line}` : node.label,
    );
    const shape =
      node.kind === "image" ? `[(${label})]` : node.target ? `[[${label}]]` : `[${label}]`;
    lines.push(`  ${ids.get(node.id) ?? ""}${shape}`);
  }
  for (const edge of edges) {
    const arrow =
      edge.kind === "from" ? "-->" : edge.kind === "copy" ? "-. COPY --from .->" : "-. mount .->";
    lines.push(`  ${ids.get(edge.from) ?? ""} ${arrow} ${ids.get(edge.to) ?? ""}`);
  }
  lines.push("  classDef target stroke-width:3px;");
  lines.push("  classDef unreachable fill:#eee,stroke:#bbb,color:#999;");
  lines.push("  classDef image fill:#eef6ff,stroke:#6aa0d8;");
  const group = (pick: (node: GraphNode) => boolean): string =>
    nodes
      .filter(pick)
      .map((node) => ids.get(node.id) ?? "")
      .join(",");
  const targets = group((node) => node.target);
  const unreachable = group((node) => !node.reachable);
  const images = group((node) => node.kind === "image" && node.reachable);
  if (targets !== "") lines.push(`  class ${targets} target;`);
  if (images !== "") lines.push(`  class ${images} image;`);
  if (unreachable !== "") lines.push(`  class ${unreachable} unreachable;`);
  return `${lines.join("\n")}\n`;
}

function formatDot({ nodes, edges }: { nodes: GraphNode[]; edges: GraphEdge[] }): string {
  const lines = ["digraph stages {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];'];
  for (const node of nodes) {
    const attrs = [
      `label=${dotText(node.kind === "stage" && node.line !== null ? `${node.label}\nline ${node.line}` : node.label)}`,
    ];
    if (node.kind === "image") attrs.push("shape=cylinder");
    if (node.target) attrs.push("penwidth=3");
    if (!node.reachable) attrs.push('color="#bbbbbb"', 'fontcolor="#999999"', "style=dashed");
    lines.push(`  ${dotText(node.id)} [${attrs.join(", ")}];`);
  }
  for (const edge of edges) {
    const style = edge.kind === "from" ? "solid" : edge.kind === "copy" ? "dashed" : "dotted";
    const label =
      edge.kind === "from"
        ? ""
        : `, label=${dotText(edge.kind === "copy" ? "COPY --from" : "mount")}`;
    lines.push(`  ${dotText(edge.from)} -> ${dotText(edge.to)} [style=${style}${label}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function mermaidText(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

function dotText(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

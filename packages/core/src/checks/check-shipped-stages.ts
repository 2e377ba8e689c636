import type { DockerfileAnalysis } from "../plan/analyze-dockerfile.js";
import type { GraphStage } from "../stages/stage-graph.js";
import type { CheckLocation, CheckOptions, ImageLayerFiles } from "./check-types.js";
import { TOOLCHAIN_DIRS, type StageFacts, type ToolFact } from "./dispatch-stages.js";
import type { Emit } from "./emit.js";
import { commentsAt as stageComments } from "./comments-at.js";
import { describeToolchainImage } from "./read-package-commands.js";

/** What stagecraft's target-aware rules see. */
export interface ShippedInput {
  readonly analysis: DockerfileAnalysis;
  readonly facts: ReadonlyMap<number, StageFacts>;
  /** The final stages of the requested targets. */
  readonly shipped: readonly number[];
  readonly options: CheckOptions;
  readonly emit: Emit;
}

/** `""`, `root`, `0`, or `root:…` / `0:…`: a user that is root. */
export function isRootUser(user: string): boolean {
  const name = user.split(":")[0] ?? "";
  return name === "" || name === "root" || name === "0";
}

function fromLocation(stage: GraphStage): CheckLocation {
  return { line: stage.position.line, column: stage.position.column, endLine: stage.position.line };
}

function stageLabel(id: string): string {
  return `stage "${id}"`;
}

/**
 * StageRootUser: a shipped stage whose last USER (its own, or a base stage's) is root, or that has
 * none and inherits root from its base image's config (as inspected on the engine), or from
 * scratch. When the base image's config is unknown the finding is `info` and says why.
 */
export function checkShippedUsers(input: ShippedInput): void {
  const { analysis, facts, emit, options } = input;
  for (const index of input.shipped) {
    const stage = analysis.graph.stages[index];
    const fact = facts.get(index);
    if (stage === undefined || fact === undefined) continue;
    const user = fact.user;
    const label = stageLabel(stage.id);
    switch (user.source) {
      case "instruction":
        if (!isRootUser(user.value) || user.location === undefined) break;
        emit({
          rule: "StageRootUser",
          message: `${label} ships running as root: USER ${user.value === "" ? '""' : user.value} at line ${user.location.line}${user.stage === stage.id ? "" : ` (in stage "${user.stage ?? ""}", which it is built on)`}`,
          fix: `Set a non-root user at the end of ${label}, e.g. USER 65532:65532.`,
          location: user.location,
          stage: stage.id,
          comments: stageComments(analysis, user.location.line),
        });
        break;
      case "image": {
        if (!isRootUser(user.value) || fact.root.kind !== "image") break;
        const reference = fact.root.reference;
        emit({
          rule: "StageRootUser",
          message: `${label} ships running as root, inherited from its base image ${reference}, whose config sets ${user.value === "" ? "no USER" : `USER ${user.value}`}`,
          fix: `Add USER with a non-root user (e.g. USER 65532:65532) at the end of ${label}.`,
          location: fromLocation(stage),
          stage: stage.id,
          comments: stageComments(analysis, stage.position.line),
        });
        break;
      }
      case "scratch":
        emit({
          rule: "StageRootUser",
          message: `${label} ships running as root: it is built from scratch and sets no USER`,
          fix: `Add USER with a numeric non-root id (e.g. USER 65532:65532) to ${label}.`,
          location: fromLocation(stage),
          stage: stage.id,
          comments: stageComments(analysis, stage.position.line),
        });
        break;
      case "unresolved":
        // USER names a variable the uninspected base image may set: it is not judged.
        break;
      case "unknown": {
        if (fact.root.kind !== "image") break;
        const reference = fact.root.reference;
        const why =
          options.baseImages?.has(reference) === true
            ? `${reference} is not on the engine`
            : (options.baseImagesUnavailable ?? "base images were not inspected");
        emit({
          rule: "StageRootUser",
          severity: "info",
          message: `${label} ships without a USER and runs as root unless its base image ${reference} sets one; its config could not be read (${why})`,
          fix: `Add USER with a non-root user at the end of ${label}, or pull ${reference} so check can read its config.`,
          location: fromLocation(stage),
          stage: stage.id,
          comments: stageComments(analysis, stage.position.line),
        });
        break;
      }
      default:
        user.source satisfies never;
    }
  }
}

/**
 * ShippedBuildTools: compilers, headers and package managers in a shipped stage, found from the
 * Dockerfile (RUN installs in it or in the stages it is built on, a toolchain base image, a
 * `COPY --from` of a whole filesystem or of a system directory) and, when given, from the built
 * image's layers.
 */
export function checkShippedTools(input: ShippedInput): void {
  const { analysis, facts, emit } = input;
  const stages = analysis.graph.stages;
  for (const index of input.shipped) {
    const stage = stages[index];
    const fact = facts.get(index);
    if (stage === undefined || fact === undefined) continue;
    const label = stageLabel(stage.id);
    const reported = new Set<number>();

    for (const [line, tools] of groupByLine(fact.tools.values())) {
      const first = tools[0];
      if (first === undefined) continue;
      reported.add(line);
      const inherited =
        first.stage === stage.id ? "" : ` in stage "${first.stage}", which ${label} is built on`;
      emit({
        rule: "ShippedBuildTools",
        message: `${label} ships ${describeTools(tools)}: installed by ${first.command} at line ${line}${inherited}`,
        fix:
          first.stage === stage.id
            ? `Install ${tools.map((tool) => tool.name).join(", ")} in a build stage and COPY --from it only what ${label} needs, or remove them in the same RUN.`
            : `Start ${label} FROM a base without build tools and COPY --from="${first.stage}" only the artefacts.`,
        location: first.location,
        stage: stage.id,
        comments: stageComments(analysis, line),
      });
    }

    if (fact.root.kind === "image") {
      const what = describeToolchainImage(fact.root.reference);
      const rootStage = stages[fact.root.stage];
      if (what !== undefined && rootStage !== undefined) {
        emit({
          rule: "ShippedBuildTools",
          message: `${label} ships ${what}: it is built on ${fact.root.reference} (FROM at line ${rootStage.position.line})`,
          fix: `Build in a ${fact.root.reference} stage and COPY --from it the artefacts into a runtime base image (distroless, alpine, debian-slim).`,
          location: fromLocation(rootStage),
          stage: stage.id,
          comments: stageComments(analysis, rootStage.position.line),
        });
      }
    }

    for (const copy of fact.systemCopies) {
      const source = copy.fromStage === undefined ? undefined : facts.get(copy.fromStage);
      const sourceStage = copy.fromStage === undefined ? undefined : stages[copy.fromStage];
      const tools = source === undefined ? [] : [...source.tools.values()];
      const toolchain =
        source?.root.kind === "image"
          ? describeToolchainImage(source.root.reference)
          : copy.fromImage === undefined
            ? undefined
            : describeToolchainImage(copy.fromImage);
      const sourceIsClean =
        source?.root.kind === "scratch" && tools.length === 0 && source.systemCopies.length === 0;
      const toolchainDir = TOOLCHAIN_DIRS.get(copy.source);
      if (sourceIsClean && toolchainDir === undefined) continue;
      if (
        copy.source !== "/" &&
        tools.length === 0 &&
        toolchain === undefined &&
        toolchainDir === undefined
      )
        continue;
      const rootImage = source?.root.kind === "image" ? source.root.reference : copy.fromImage;
      const origin =
        sourceStage === undefined
          ? `image ${copy.fromImage ?? copy.reference}`
          : `stage "${sourceStage.id}"${source?.root.kind === "image" ? ` (built on ${source.root.reference})` : ""}`;
      const contents: string[] = [];
      if (toolchainDir !== undefined) contents.push(toolchainDir);
      if (tools.length > 0)
        contents.push(
          `${describeTools(tools)} (installed at line ${tools[0]?.location.line ?? 0})`,
        );
      if (toolchain !== undefined && toolchainDir === undefined) contents.push(toolchain);
      if (copy.source === "/" && contents.length === 0) {
        contents.push(
          rootImage === undefined
            ? "everything its RUN lines installed"
            : `whatever package manager and tools ${rootImage} has`,
        );
      }
      emit({
        rule: "ShippedBuildTools",
        message: `${label} ships build tools copied in: COPY --from=${copy.reference} ${copy.source} at line ${copy.location.line} brings ${copy.source === "/" ? "the whole filesystem" : copy.source} of ${origin}, with ${contents.join(", ")}${copy.stage === stage.id ? "" : ` (in stage "${copy.stage}", which ${label} is built on)`}`,
        fix: `Copy only the files ${label} needs (e.g. COPY --from=${copy.reference} /out/app /usr/local/bin/app), not ${copy.source === "/" ? "a whole filesystem" : `all of ${copy.source}`}.`,
        location: copy.location,
        stage: stage.id,
        comments: stageComments(analysis, copy.location.line),
      });
    }

    const layers = input.options.imageLayers?.get(stage.id);
    if (layers !== undefined) checkLayers(input, stage, layers, reported);
  }
}

/** Executables that mean a compiler or a package manager is in the image. */
const TOOL_PATHS: ReadonlyMap<string, string> = new Map([
  ["gcc", "the C compiler"],
  ["cc", "the C compiler"],
  ["g++", "the C++ compiler"],
  ["c++", "the C++ compiler"],
  ["clang", "the C compiler"],
  ["make", "make"],
  ["cmake", "CMake"],
  ["ld", "the linker"],
  ["go", "the Go toolchain"],
  ["rustc", "the Rust compiler"],
  ["cargo", "the Rust toolchain"],
  ["javac", "the Java compiler"],
  ["apt-get", "a package manager"],
  ["apk", "a package manager"],
  ["dnf", "a package manager"],
  ["yum", "a package manager"],
  ["pip", "a package manager"],
  ["pip3", "a package manager"],
  ["apt", "a package manager"],
  ["dpkg", "a package manager"],
  ["npm", "a package manager"],
  ["yarn", "a package manager"],
  ["pnpm", "a package manager"],
  ["gem", "a package manager"],
]);

/** The image-aware half: tools found among a layer's files, naming the layer and its line. */
function checkLayers(
  input: ShippedInput,
  stage: GraphStage,
  layers: readonly ImageLayerFiles[],
  reported: ReadonlySet<number>,
): void {
  for (const layer of layers) {
    if (layer.line !== undefined && reported.has(layer.line)) continue;
    const fromBase = layer.line === undefined && layer.stage === undefined;
    const found: string[] = [];
    for (const path of layer.paths) {
      if (
        !/^\/(usr\/(local\/)?)?s?bin\/[^/]+$/.test(path) &&
        !/^\/usr\/local\/go\/bin\/[^/]+$/.test(path)
      )
        continue;
      const name = path.slice(path.lastIndexOf("/") + 1);
      const what = TOOL_PATHS.get(name);
      // A package manager that comes with the base image (apt in debian, busybox's dpkg applet) is
      // the base's choice, not something this Dockerfile installed or copied in; a compiler there
      // is still worth a finding (a runtime built on a toolchain image).
      if (what === undefined || (fromBase && what === "a package manager")) continue;
      found.push(path);
    }
    if (found.length === 0) continue;
    const what = [
      ...new Set(found.map((path) => TOOL_PATHS.get(path.slice(path.lastIndexOf("/") + 1)) ?? "")),
    ];
    input.emit({
      rule: "ShippedBuildTools",
      message: `stage "${stage.id}" ships ${what.join(", ")}: layer ${layer.index} (${layerOrigin(layer)}) adds ${found.join(", ")}`,
      location:
        layer.line === undefined
          ? fromLocation(stage)
          : { line: layer.line, column: 1, endLine: layer.line },
      stage: stage.id,
      comments: undefined,
    });
  }
}

/**
 * The notes for the layers of shipped stages' images whose files could not be read: the image-aware
 * half of ShippedBuildTools did not see them, so their silence is no all-clear.
 */
export function describeUnreadableLayers(
  imageLayers: CheckOptions["imageLayers"],
  shipped: readonly string[],
): string[] {
  const notes: string[] = [];
  for (const stage of shipped) {
    for (const layer of imageLayers?.get(stage) ?? []) {
      if (layer.unreadable === undefined) continue;
      notes.push(
        `layer ${layer.index} (${layerOrigin(layer)}) of stage "${stage}"'s image was not scanned for build tools: ${layer.unreadable}`,
      );
    }
  }
  return notes;
}

function layerOrigin(layer: ImageLayerFiles): string {
  if (layer.line !== undefined) {
    return `made by line ${layer.line}${layer.stage === undefined ? "" : ` of stage "${layer.stage}"`}`;
  }
  return layer.stage === undefined ? "from the base image" : `made by stage "${layer.stage}"`;
}

function groupByLine(tools: Iterable<ToolFact>): Map<number, ToolFact[]> {
  const byLine = new Map<number, ToolFact[]>();
  for (const tool of tools) {
    const list = byLine.get(tool.location.line);
    if (list === undefined) byLine.set(tool.location.line, [tool]);
    else list.push(tool);
  }
  return new Map([...byLine].sort(([a], [b]) => a - b));
}

function describeTools(tools: readonly ToolFact[]): string {
  const names = tools.map((tool) => tool.name);
  const what = [...new Set(tools.map((tool) => tool.what))];
  return `${names.join(", ")} (${what.join("; ")})`;
}

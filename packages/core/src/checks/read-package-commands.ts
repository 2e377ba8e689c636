/** A system package manager's install or removal, read from one command's words. */
export interface PackageCommand {
  readonly action: "install" | "remove";
  /** The command as a person knows it: `apt-get install`, `apk add`, … */
  readonly command: string;
  /** Package names, versions and architectures stripped. */
  readonly packages: readonly string[];
  /** `apk add --virtual NAME`: the name the packages can be removed by. */
  readonly virtual: string | undefined;
}

/** Options of the package managers that take a value as the next word. */
const VALUE_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  apt: new Set([
    "-o",
    "--option",
    "-t",
    "--target-release",
    "-c",
    "--config-file",
    "-a",
    "--host-architecture",
  ]),
  apk: new Set([
    "-X",
    "--repository",
    "--arch",
    "-p",
    "--root",
    "--cache-dir",
    "--keys-dir",
    "--repositories-file",
  ]),
  dnf: new Set([
    "--setopt",
    "--enablerepo",
    "--disablerepo",
    "--repo",
    "--releasever",
    "--installroot",
    "-c",
    "--config",
    "-x",
    "--exclude",
  ]),
  zypper: new Set(["-r", "--repo", "--from", "-t", "--type"]),
  pacman: new Set(["--root", "-r", "--dbpath", "-b", "--config", "--cachedir"]),
};

/**
 * Reads `apt-get|apt|aptitude install|remove|purge`, `apk add|del`, `dnf|yum|microdnf|tdnf
 * install|remove|erase`, `zypper install|in|remove|rm` and `pacman -S|-R…` commands.
 */
export function readPackageCommand(words: readonly string[]): PackageCommand | undefined {
  const program = basename(words[0] ?? "");
  switch (program) {
    case "apt-get":
    case "apt":
    case "aptitude":
      return readSubcommand(words, "apt", program, {
        install: "install",
        remove: "remove",
        purge: "remove",
      });
    case "apk":
      return readSubcommand(words, "apk", program, { add: "install", del: "remove" });
    case "dnf":
    case "yum":
    case "microdnf":
    case "tdnf":
      return readSubcommand(words, "dnf", program, {
        install: "install",
        remove: "remove",
        erase: "remove",
        groupinstall: "install",
      });
    case "zypper":
      return readSubcommand(words, "zypper", program, {
        install: "install",
        in: "install",
        remove: "remove",
        rm: "remove",
      });
    case "pacman":
      return readPacman(words);
    default:
      return undefined;
  }
}

function readSubcommand(
  words: readonly string[],
  family: keyof typeof VALUE_OPTIONS,
  program: string,
  actions: Readonly<Record<string, "install" | "remove">>,
): PackageCommand | undefined {
  const valueOptions = VALUE_OPTIONS[family] ?? new Set<string>();
  let subcommand: string | undefined;
  let virtual: string | undefined;
  const packages: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i] ?? "";
    if (word.startsWith("-")) {
      if (family === "apk" && (word === "--virtual" || word === "-t")) {
        virtual = words[++i];
        continue;
      }
      if (family === "apk" && word.startsWith("--virtual=")) {
        virtual = word.slice("--virtual=".length);
        continue;
      }
      if (valueOptions.has(word)) i++;
      continue;
    }
    if (subcommand === undefined) {
      subcommand = word;
      if (actions[subcommand] === undefined) return undefined;
      continue;
    }
    const name = packageName(word, family);
    if (name !== "") packages.push(name);
  }
  const action = subcommand === undefined ? undefined : actions[subcommand];
  if (action === undefined) return undefined;
  return { action, command: `${program} ${subcommand ?? ""}`, packages, virtual };
}

function readPacman(words: readonly string[]): PackageCommand | undefined {
  let action: "install" | "remove" | undefined;
  const packages: string[] = [];
  const valueOptions = VALUE_OPTIONS.pacman ?? new Set<string>();
  for (let i = 1; i < words.length; i++) {
    const word = words[i] ?? "";
    if (/^-S[a-z]*$/.test(word) && !/[si]/.test(word.slice(2))) action = "install";
    else if (/^-R[a-z]*$/.test(word)) action = "remove";
    else if (word.startsWith("-")) {
      if (valueOptions.has(word)) i++;
    } else packages.push(packageName(word, "pacman"));
  }
  if (action === undefined) return undefined;
  return {
    action,
    command: action === "install" ? "pacman -S" : "pacman -R",
    packages,
    virtual: undefined,
  };
}

/** The package's name without a version (`gcc=4:12`, `gcc>12`, `gcc~12`), architecture or tag. */
function packageName(word: string, family: string): string {
  let name = word;
  if (family === "apt") name = name.replace(/[=].*$/, "").replace(/:[a-z0-9]+$/, "");
  else if (family === "apk") name = name.replace(/[=<>~@].*$/, "");
  else name = name.replace(/[<>=].*$/, "");
  return name.toLowerCase();
}

function basename(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

const BUILD_TOOLS: ReadonlyMap<string, string> = new Map([
  ["gcc", "the C compiler"],
  ["g++", "the C++ compiler"],
  ["gcc-c++", "the C++ compiler"],
  ["clang", "the C compiler"],
  ["llvm", "the LLVM toolchain"],
  ["build-essential", "the C/C++ toolchain"],
  ["build-base", "the C/C++ toolchain"],
  ["alpine-sdk", "the C/C++ toolchain"],
  ["make", "make"],
  ["cmake", "CMake"],
  ["ninja", "Ninja"],
  ["ninja-build", "Ninja"],
  ["autoconf", "autoconf"],
  ["automake", "automake"],
  ["libtool", "libtool"],
  ["pkg-config", "pkg-config"],
  ["pkgconf", "pkg-config"],
  ["pkgconfig", "pkg-config"],
  ["binutils", "the linker and assembler"],
  ["gfortran", "the Fortran compiler"],
  ["golang", "the Go toolchain"],
  ["golang-go", "the Go toolchain"],
  ["go", "the Go toolchain"],
  ["rust", "the Rust toolchain"],
  ["rustc", "the Rust compiler"],
  ["cargo", "the Rust toolchain"],
  ["musl-dev", "C library headers"],
  ["libc6-dev", "C library headers"],
  ["libc-dev", "C library headers"],
  ["glibc-devel", "C library headers"],
  ["linux-headers", "kernel headers"],
  ["kernel-headers", "kernel headers"],
  ["kernel-devel", "kernel headers"],
  ["maven", "Maven"],
  ["gradle", "Gradle"],
  ["default-jdk", "the Java compiler"],
  ["python3-pip", "pip, a package manager"],
  ["python-pip", "pip, a package manager"],
  ["py3-pip", "pip, a package manager"],
  ["development tools", "the C/C++ toolchain"],
]);

/** What a package brings when it is a compiler, build tool, header set or package manager; else undefined. */
export function describeBuildTool(name: string): string | undefined {
  const known = BUILD_TOOLS.get(name);
  if (known !== undefined) return known;
  if (/^(gcc|g\+\+|cpp)-[0-9]+$/.test(name) || /^clang-[0-9]+$/.test(name))
    return "a C/C++ compiler";
  if (/^llvm-[0-9]+(-dev)?$/.test(name)) return "the LLVM toolchain";
  if (/^openjdk-?[0-9]+-jdk(-headless)?$/.test(name)) return "the Java compiler";
  if (/^golang-[0-9.]+(-go)?$/.test(name)) return "the Go toolchain";
  if (name.endsWith("-dev") || name.endsWith("-devel")) return "development headers";
  return undefined;
}

/**
 * A base image that is a toolchain (compilers, SDK): `golang`, `gcc`, `rust`, `buildpack-deps`,
 * `maven`, `gradle`, `dotnet/sdk`, `swift`, and JDK tags of Java images. Returns what it brings.
 */
export function describeToolchainImage(reference: string): string | undefined {
  const withoutDigest = reference.replace(/@.*$/, "");
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", slash + 1);
  const path = colon < 0 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon < 0 ? "" : withoutDigest.slice(colon + 1);
  const name = path.slice(path.lastIndexOf("/") + 1);
  switch (name) {
    case "golang":
      return "the Go toolchain";
    case "gcc":
      return "the GNU compilers";
    case "rust":
      return "the Rust toolchain";
    case "buildpack-deps":
      return "compilers and development headers";
    case "maven":
      return "Maven and a JDK";
    case "gradle":
      return "Gradle and a JDK";
    case "swift":
      return "the Swift toolchain";
    case "sdk":
      return path.endsWith("dotnet/sdk") ? "the .NET SDK" : undefined;
    case "openjdk":
    case "eclipse-temurin":
    case "amazoncorretto":
      return tag.includes("jdk") ? "a JDK (the Java compiler)" : undefined;
    default:
      return undefined;
  }
}

/** A dependency install that the whole source should not come before, and how to order it. */
export interface DependencyInstall {
  /** The command as written for the message, e.g. `npm ci`. */
  readonly command: string;
  /** The files to copy before it. */
  readonly manifests: string;
}

/**
 * Recognises the dependency installs of common ecosystems: `npm ci|install`, `yarn [install]`,
 * `pnpm install`, `pip install -r`, `go mod download`, `mvn dependency:go-offline|resolve`,
 * `bundle install`, `cargo fetch`, `composer install`, `poetry install`, `uv sync`,
 * `dotnet restore`.
 */
export function readDependencyInstall(words: readonly string[]): DependencyInstall | undefined {
  const program = basename(words[0] ?? "");
  const args = words.slice(1);
  const operands = args.filter((word) => !word.startsWith("-"));
  const sub = operands[0];
  switch (program) {
    case "npm":
      if (args.includes("-g") || args.includes("--global")) return undefined;
      if (sub === "ci")
        return { command: "npm ci", manifests: "package.json and package-lock.json" };
      if ((sub === "install" || sub === "i") && operands.length === 1) {
        return { command: `npm ${sub}`, manifests: "package.json and package-lock.json" };
      }
      return undefined;
    case "yarn":
      if (args.includes("global")) return undefined;
      if (sub === undefined || (sub === "install" && operands.length === 1)) {
        return {
          command: sub === undefined ? "yarn" : "yarn install",
          manifests: "package.json and yarn.lock",
        };
      }
      return undefined;
    case "pnpm":
      if ((sub === "install" || sub === "i") && operands.length === 1 && !args.includes("-g")) {
        return { command: `pnpm ${sub}`, manifests: "package.json and pnpm-lock.yaml" };
      }
      return undefined;
    case "pip":
    case "pip3":
      return readPipInstall(program, args);
    case "python":
    case "python3":
      if (args[0] === "-m" && (args[1] === "pip" || args[1] === "pip3"))
        return readPipInstall(`${program} -m pip`, args.slice(2));
      return undefined;
    case "go":
      if (operands[0] === "mod" && operands[1] === "download")
        return { command: "go mod download", manifests: "go.mod and go.sum" };
      return undefined;
    case "mvn":
    case "mvnw": {
      const goal = operands.find(
        (word) => word === "dependency:go-offline" || word === "dependency:resolve",
      );
      return goal === undefined
        ? undefined
        : { command: `${program} ${goal}`, manifests: "pom.xml" };
    }
    case "bundle":
      if (sub === "install")
        return { command: "bundle install", manifests: "Gemfile and Gemfile.lock" };
      return undefined;
    case "cargo":
      if (sub === "fetch")
        return { command: "cargo fetch", manifests: "Cargo.toml and Cargo.lock" };
      return undefined;
    case "composer":
      if (sub === "install")
        return { command: "composer install", manifests: "composer.json and composer.lock" };
      return undefined;
    case "uv":
      if (sub === "sync") return { command: "uv sync", manifests: "pyproject.toml and uv.lock" };
      return undefined;
    case "dotnet":
      if (sub === "restore")
        return { command: "dotnet restore", manifests: "the project files (*.csproj)" };
      return undefined;
    case "poetry":
      if (sub === "install")
        return { command: "poetry install", manifests: "pyproject.toml and poetry.lock" };
      return undefined;
    default:
      return undefined;
  }
}

function readPipInstall(program: string, args: readonly string[]): DependencyInstall | undefined {
  if (args[0] !== "install") return undefined;
  const file = args.findIndex(
    (word) =>
      word === "-r" ||
      word === "--requirement" ||
      word.startsWith("--requirement=") ||
      (word.startsWith("-r") && word.length > 2),
  );
  if (file < 0) return undefined;
  return { command: `${program} install -r`, manifests: "the requirements files" };
}

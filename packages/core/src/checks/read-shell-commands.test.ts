import { describe, expect, it } from "vitest";
import { readShellCommands } from "./read-shell-commands.js";
import { readDependencyInstall, readPackageCommand } from "./read-package-commands.js";

describe("readShellCommands", () => {
  it("splits commands, removes quotes and redirections, expands the script's own variables", () => {
    const script = `set -eux; deps="gcc make" \\\n && DEBIAN_FRONTEND=noninteractive apt-get install -y $deps > /dev/null 2>&1 || true`;
    expect(readShellCommands(script, () => undefined)).toEqual([
      ["set", "-eux"],
      ["apt-get", "install", "-y", "gcc", "make"],
      ["true"],
    ]);
  });

  it("uses the stage environment, drops command substitutions and strips sudo/env/then", () => {
    const lookup = (name: string): string | undefined =>
      name === "PKGS" ? "cmake ninja-build" : undefined;
    expect(
      readShellCommands("if true; then sudo apk add ${PKGS} $(cat list); fi # comment", lookup),
    ).toEqual([["if", "true"], ["apk", "add", "cmake", "ninja-build"], ["fi"]]);
  });
});

describe("readPackageCommand and readDependencyInstall", () => {
  it("reads installs, removals and apk virtual packages", () => {
    expect(
      readPackageCommand([
        "apk",
        "add",
        "--no-cache",
        "--virtual",
        ".deps",
        "gcc=13.2-r0",
        "-X",
        "http://repo",
        "musl-dev",
      ]),
    ).toEqual({
      action: "install",
      command: "apk add",
      packages: ["gcc", "musl-dev"],
      virtual: ".deps",
    });
    expect(readPackageCommand(["dnf", "-y", "remove", "gcc"])?.action).toBe("remove");
    expect(readPackageCommand(["apt-get", "update"])).toBeUndefined();
    expect(readPackageCommand(["pacman", "-Syu", "--noconfirm", "base-devel"])?.packages).toEqual([
      "base-devel",
    ]);
  });

  it("tells a project's dependency install from a global tool install", () => {
    expect(readDependencyInstall(["npm", "ci"])?.command).toBe("npm ci");
    expect(readDependencyInstall(["npm", "install", "-g", "npm@11"])).toBeUndefined();
    expect(
      readDependencyInstall(["python3", "-m", "pip", "install", "--no-cache-dir", "-r", "req.txt"])
        ?.command,
    ).toBe("python3 -m pip install -r");
    expect(readDependencyInstall(["pip", "install", "flask"])).toBeUndefined();
    expect(readDependencyInstall(["./mvnw", "dependency:go-offline"])?.command).toBe(
      "mvnw dependency:go-offline",
    );
  });
});

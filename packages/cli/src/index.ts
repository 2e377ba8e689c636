// The CLI as a library, for tools that want to run it in-process with their own Io.
export type { ExitCode, Io, Output } from "./io.js";
export { VERSION, runCli } from "./run-cli.js";

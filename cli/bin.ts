/** The `vmflake` command: its subcommands `init` and `build` (bin/vmflake.js loads this file). */
import { type Io, processIo, runBuild } from "./main.ts";
import { runInit } from "./init/run-init.ts";
import { runTypes } from "./types/run-types.ts";

export const BIN_USAGE = `Usage: npx vmflake <command> [arguments]

Commands:
  init [DIR]         start a repository for your hosts in DIR (default: the current directory)
  build [OPTIONS]    build the flake from hosts.ts, as \`npx tsx build.ts\` does
                     (\`npx vmflake build --help\` lists the options)
  types [OPTIONS]    generate TypeScript types for the NixOS options of your nixpkgs
                     (\`npx vmflake types --help\` lists the options)
  help               show this help

Exit codes: 0 done, 1 refused or invalid input, 2 wrong usage.
`;

/**
 * Run the command line `vmflake ARGV…`; resolves to the exit code. `cwd` is what init's DIR is
 * relative to and where build writes without `--out` (the process's working directory).
 */
export async function main(
  argv: readonly string[],
  io: Io = processIo,
  cwd: string = process.cwd(),
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "init":
      return runInit(rest, io, cwd);
    case "build":
      return runBuild(rest, cwd, io);
    case "types":
      return runTypes(rest, io, cwd);
    case "help":
    case "-h":
    case "--help":
      io.stdout(BIN_USAGE);
      return 0;
    case undefined:
      io.stderr(BIN_USAGE);
      return 2;
    default:
      io.stderr(`unknown command ${command}\n\n${BIN_USAGE}`);
      return 2;
  }
}

/**
 * `vmflake/build`: the build command for a repository's own `build.ts`, so that
 * `npx tsx build.ts` is the repository's command and takes every option of `--help`.
 *
 * @example
 * ```ts
 * // build.ts
 * import { build } from "vmflake/build";
 *
 * process.exitCode = await build(import.meta.dirname);
 * ```
 */
import { type Io, processIo, runBuild } from "./main.ts";

export type { Io } from "./main.ts";

/**
 * Type-check and validate the hosts file, then write `flake.nix` and `modules/` for it (or, with
 * `--check` or `--diff`, compare them). Messages go to `io`; nothing is thrown for bad input.
 *
 * @param dir - where the flake goes unless `--out` says otherwise: pass `import.meta.dirname`,
 *   the directory of build.ts.
 * @param argv - the options, as on the command line. @defaultValue `process.argv.slice(2)`
 * @param io - where messages go. @defaultValue the process's stdout and stderr
 * @returns the exit code: 0 written (or up to date), 1 invalid input or differences found,
 *   2 wrong usage or a hosts file that does not load.
 */
export function build(
  dir: string,
  argv: readonly string[] = process.argv.slice(2),
  io: Io = processIo,
): Promise<number> {
  return runBuild(argv, dir, io);
}
